/* test_mutation_info.c — single-bit mutation sweeps over guest-agent Info responses (issue 7,
 * part 2). Counts and times: the "Mutation sweeps" section of docs/verifier.md.
 *
 * Each mutant flips one bit of the response and is verified in full (no cached verdicts):
 *   - a mkevidence (test PKI) Info with a V1 event log (14869 bytes, 118952 mutants) and one
 *     with a V2 event log with JCS preimages (17129 bytes, 137032 mutants), EVERY bit, against
 *     DCAP collateral from the test PKI verified once with cba_collateral_verify (then
 *     cba_verify_with per mutant: every quote-dependent check and time bound still runs) and
 *     the test root as trust anchor: the baseline is VERIFIED / UpToDate, so flips in the event
 *     log, the tcb_info claims, app_compose and the quote inside the app certificate meet every
 *     check;
 *   - the real crabbox Info (48240 bytes, Phala Cloud capture, --no-dcap at its capture time):
 *     EVERY bit (385920 mutants) with CBA_MUTATION_FULL=1; otherwise every 7th byte, one bit
 *     rotating with the byte index (6892 mutants), because the exhaustive sweep needs ~26
 *     CPU-minutes in the ASan+UBSan Debug build (-O0; 4.1 ms per mutant), ~13 minutes on CI's
 *     2 cores: more than ctest's 600 s per test binary (docs/verifier.md, "Mutation sweeps").
 *     Measured in full (ASan+UBSan at -O1, 878 CPU-seconds): 358527 rejected, 27393 accepted
 *     with unchanged facts (1977 hex case flips), no violation, crash or leak.
 * A mutant must be either
 *   - rejected: verdict REJECTED, a named failed check, the same code returned and reported,
 *     and nothing from the evidence published (has_quote and has_dstack false; the PCK facts
 *     and TCB result may stay: they come from the certificate chain and explain the rejection);
 *     or
 *   - accepted with a report identical to the baseline in every fact (same_facts), AND the flip
 *     lies in a place listed in k_unbound (a member nothing binds, each justified there) or
 *     renames a member listed in k_optional, or is a case flip of a hex letter inside an
 *     all-hex value (the decoded bytes are equal).
 * Anything else that verifies is a VIOLATION (the test lists up to 16 per worker, counts all of
 * them by place, and fails), and so is a crash, a sanitizer report or a leak in a worker.
 * Places are exact: a flip in the app certificate's base64 is attributed to the DER bytes it
 * changes (public key, quote extension, event-log extension and, inside that, the JSON member of
 * the certificate's copy of the event log). This sweep found that the certificate's copy of the
 * event log was never read when tcb_info has its own (any change verified); the verifier now
 * checks it (cba_eventlog_check_cert_copy, regression test in test_verify.c).
 *
 * Speed: one worker process per online CPU (sysconf(_SC_NPROCESSORS_ONLN), or
 * $CBA_MUTATION_WORKERS); worker w takes the bytes i with i % workers == w (neighbouring bytes
 * cost alike, so the load is even), flips bits in its own copy-on-write copy of the response,
 * tallies outcomes in memory and sends one fixed-size record through a pipe; the parent adds
 * them up and asserts. Before each verification a worker writes the mutant it is on into a
 * shared page, so a crash names its byte and bit. Each sweep prints its mutant count,
 * rejections by failed check and code (top 8), accepted-unchanged mutants by place, wall time
 * and the workers' CPU time. Per mutant the time goes to the verifier itself: its strict JSON
 * scanner and json-c over the whole response and the tcb_info string, PEM/DER decoding of the
 * app certificate, then the signatures (perf, ASan -O1 build: JSON ~45%, PEM ~8%, ASan's
 * allocator ~10%, wolfCrypt ~12%); the test adds nothing per mutant but a flip and a compare. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crabbox/verifier.h"
#include "mkevidence.h"
#include "testutil.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWEEP_LSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(SWEEP_LSAN)
#define SWEEP_LSAN 1
#endif
#ifdef SWEEP_LSAN
#include <sanitizer/lsan_interface.h>
#endif

#define CRABBOX_AT 1774003274
/* Without CBA_MUTATION_FULL=1 the crabbox Info sweep takes every 7th byte, one bit each (the
 * bit rotating with the byte index), as before: the exhaustive sweep does not fit the CI budget
 * (see the header). The generated responses are always swept exhaustively. */
#define CRABBOX_SAMPLE_STRIDE 7

TestSuite(mutation_info, .timeout = 600);

/* ---- where a byte is: labels ---------------------------------------------------------------
 * label_at names the place of byte i of the ORIGINAL response:
 *   "NAME"                    inside the string value of top-level member NAME
 *   "key:NAME"                inside the member name itself (a flip renames the member)
 *   "tcb_info.NAME"           inside the tcb_info string (escaped JSON), member NAME there
 *   "tcb_info.boot_event.X" / "tcb_info.runtime_event.X"   a member of an event_log entry of
 *                             imr 0-2 / imr 3
 *   "app_cert.leaf.spki" / ".quote" / ".event_log" / ".other"   the base64 of the app
 *                             certificate's DER (SubjectPublicKeyInfo, the 62397.1.1 quote or
 *                             .1.2 event-log extension, anything else of the leaf)
 *   "app_cert.chain"          base64 of the certificates after the leaf (app CA, KMS CA)
 *   "app_cert.pem"            PEM armour lines and their \n escapes
 *   "json"                    structure outside any string (braces, commas, colons, quotes)
 */

/* Places whose bytes nothing authenticates and nothing reports. A flip there may verify, but
 * only with every reported fact unchanged (same_facts). Each entry says why it is unbound. */
static const char *const k_unbound[] = {
    /* Descriptive claims of the guest agent: the verifier compares app_id, instance_id,
     * compose_hash, mr_aggregated, os_image_hash and the tcb_info MR claims with the quote and
     * the measured events, but nothing measures these (docs/user-guide.md, "What is not
     * covered"). The key provider that counts is the measured key-provider event payload. */
    "app_name", "cloud_vendor", "cloud_product", "vm_config", "device_id", "key_provider_info",
    "tcb_info.device_id",
    /* Boot events: the digest is what firmware measured and is replayed into RTMR0-2; the
     * payload, the name and the TCG event type are descriptions nobody hashes (and the event
     * type only has to stay a non-runtime type, which a rejected mutant shows). */
    "tcb_info.boot_event.event_payload", "tcb_info.boot_event.event",
    "tcb_info.boot_event.event_type",
    /* The app certificate is signed by the dstack KMS app CA, which a verifier without the KMS
     * root cannot check: only its SubjectPublicKeyInfo (RA-TLS report data) and the quote /
     * event-log extensions are bound; the rest of the leaf (serial, names, validity, other
     * extensions, the KMS signature) and the CA certificates after it are not. */
    "app_cert.leaf.other", "app_cert.chain", "app_cert.pem",
    /* The certificate's copy of the event log (extension 1.3.6.1.4.1.62397.1.2, which the real
     * crabbox certificate carries next to tcb_info's log) must describe the replayed events
     * (cba_eventlog_check_cert_copy: imr, type, runtime names and payloads, digests). Unbound in
     * it, as in tcb_info: boot events' payloads and names. A changed OID or header of that
     * extension makes it an unknown non-critical extension, i.e. a certificate without the
     * copy (which is valid: the log then comes from tcb_info alone). */
    "app_cert.event_log.boot_event.event_payload", "app_cert.event_log.boot_event.event",
    "app_cert.event_log.hex_case", "app_cert.leaf.event_log_header",
    NULL,
};

/* Members that may be absent (so a flip in the member NAME, which makes them unknown and
 * ignored, may verify with the same facts): each is a redundant claim about something the
 * quote or the measured events already fix, or unbound (k_unbound). */
static const char *const k_optional[] = {
    /* top-level claims: cross-checked when present, derived from quote/events otherwise */
    "key:app_id", "key:instance_id", "key:compose_hash", "key:os_image_hash",
    "key:mr_aggregated", "key:device_id", "key:app_name", "key:key_provider_info",
    "key:vm_config", "key:cloud_vendor", "key:cloud_product",
    /* tcb_info claims: the quote's MRTD/RTMRs and the replayed log are what is reported */
    "tcb_info.key:mrtd", "tcb_info.key:rtmr0", "tcb_info.key:rtmr1", "tcb_info.key:rtmr2",
    "tcb_info.key:rtmr3", "tcb_info.key:mr_aggregated", "tcb_info.key:os_image_hash",
    "tcb_info.key:compose_hash", "tcb_info.key:device_id", "tcb_info.key:app_compose",
    /* a runtime event's supplied digest is recomputed, never trusted (stripped logs omit it) */
    "tcb_info.runtime_event.key:digest",
    /* without tcb_info.event_log the certificate's copy of the log is parsed, checked and
     * replayed instead (the crabbox certificate carries the same 30 events) */
    "tcb_info.key:event_log",
    NULL,
};

static bool listed(const char *const *list, const char *label)
{
    for (size_t k = 0; list[k] != NULL; k++) {
        if (strcmp(list[k], label) == 0) {
            return true;
        }
    }
    return false;
}

/* A top-level member: [name_start, name_end) and [val_start, val_end) (string bodies). */
typedef struct span {
    size_t name_start, name_end, val_start, val_end;
} span;

#define MAX_SPANS 32
#define LEAF_MAX (64 * 1024)

typedef struct layout {
    const uint8_t *s;
    size_t len;
    span m[MAX_SPANS];
    size_t num;
    /* app_cert, indexed from m[app_cert].val_start: the place of each character, and for the
     * base64 characters of the leaf their index in its base64 stream (UINT32_MAX otherwise). */
    uint8_t *cert_place;
    uint32_t *cert_pos;
    uint8_t *der_place;  /* place of each byte of the leaf's DER */
    uint8_t *der;        /* the leaf's DER */
    size_t der_len;
    size_t elog_start, elog_end; /* the event-log extension's JSON inside der (0, 0: none) */
    size_t cert_member;  /* index in m, or num when absent */
} layout;

enum { CP_PEM = 1, CP_CHAIN, CP_SPKI, CP_QUOTE, CP_ELOG, CP_OTHER, CP_ELOG_HDR };

/* layout_scan finds the top-level members of an object whose every value is a string (both
 * real and generated Info responses are of that shape). */
static void layout_scan(layout *l, const uint8_t *s, size_t len)
{
    size_t k = 0;
    memset(l, 0, sizeof *l);
    l->s = s;
    l->len = len;
    while (k < len && s[k] != '"') {
        k++;
    }
    while (k < len && s[k] == '"' && l->num < MAX_SPANS) {
        span *m = &l->m[l->num];
        m->name_start = ++k;
        while (k < len && s[k] != '"') {
            k++;
        }
        m->name_end = k;
        k += 2; /* '"' ':' */
        cr_assert(k < len && s[k] == '"', "every top-level value must be a string");
        m->val_start = ++k;
        while (k < len && s[k] != '"') {
            k += s[k] == '\\' ? 2 : 1;
        }
        m->val_end = k;
        l->num++;
        k++;
        while (k < len && s[k] != '"' && s[k] != '}') {
            k++;
        }
    }
    l->cert_member = l->num;
}

static bool name_is(const layout *l, const span *m, const char *name)
{
    size_t n = strlen(name);
    return m->name_end - m->name_start == n && memcmp(l->s + m->name_start, name, n) == 0;
}

static int b64_val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') { return c - 'A'; }
    if (c >= 'a' && c <= 'z') { return c - 'a' + 26; }
    if (c >= '0' && c <= '9') { return c - '0' + 52; }
    if (c == '+') { return 62; }
    if (c == '/') { return 63; }
    return -1;
}

/* der_len reads a DER length at d[*k]; returns false if it does not fit in n. */
static bool der_len(const uint8_t *d, size_t n, size_t *k, size_t *out)
{
    size_t len, nb;
    if (*k >= n) { return false; }
    len = d[(*k)++];
    if (len & 0x80) {
        nb = len & 0x7f;
        len = 0;
        if (nb == 0 || nb > 3) { return false; }
        while (nb-- > 0) {
            if (*k >= n) { return false; }
            len = len << 8 | d[(*k)++];
        }
    }
    *out = len;
    return *k + len <= n;
}

/* mark_ext marks the extension whose OID (1.3.6.1.4.1.62397.1.<last>) starts at an OID TLV in
 * the leaf: from the OID through the end of its extnValue OCTET STRING (`code`), the OID and
 * OCTET STRING headers as `hdr_code` when that is non-zero. Returns the contents of the inner
 * OCTET STRING in *out_start / *out_end. */
static void mark_ext(uint8_t *place, const uint8_t *d, size_t n, uint8_t last, uint8_t code,
                     uint8_t hdr_code, size_t *out_start, size_t *out_end)
{
    static const uint8_t oid[] = { 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe7, 0x3d,
                                   0x01 };
    for (size_t i = 0; i + sizeof oid + 1 <= n; i++) {
        size_t k = i + sizeof oid + 1, len;
        if (memcmp(d + i, oid, sizeof oid) != 0 || d[i + sizeof oid] != last) {
            continue;
        }
        if (k + 3 <= n && d[k] == 0x01 && d[k + 1] == 0x01) {
            k += 3; /* critical BOOLEAN */
        }
        if (k < n && d[k] == 0x04 && (k++, der_len(d, n, &k, &len))) {
            size_t end = k + len, inner;
            memset(place + i, code, end - i);
            if (hdr_code != 0 && k < end && d[k] == 0x04 && (k++, der_len(d, end, &k, &inner))) {
                memset(place + i, hdr_code, k - i);
                *out_start = k;
                *out_end = k + inner;
            }
        }
        return;
    }
}

/* layout_cert maps every byte of the app_cert value to a place: it decodes the leaf's base64,
 * marks the regions of its DER, then labels each base64 character by the DER bytes it
 * contributes to (a bound region wins when a character straddles two). */
static void layout_cert(layout *l)
{
    static const uint8_t spki_prefix[] = { 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                           0xce, 0x3d, 0x02, 0x01 };
    const span *m = NULL;
    uint8_t *der, *der_place;
    size_t n = 0, certs = 0, k;
    bool body = false;
    for (size_t i = 0; i < l->num; i++) {
        if (name_is(l, &l->m[i], "app_cert")) {
            l->cert_member = i;
            m = &l->m[i];
        }
    }
    if (m == NULL) {
        return;
    }
    der = calloc(LEAF_MAX, 1);
    der_place = calloc(LEAF_MAX, 1);
    l->cert_place = calloc(m->val_end - m->val_start + 1, 1);
    l->cert_pos = calloc(m->val_end - m->val_start + 1, sizeof *l->cert_pos);
    cr_assert(der != NULL && der_place != NULL && l->cert_place != NULL && l->cert_pos != NULL);
    l->der_place = der_place;
    /* pass 1: the leaf's DER */
    for (k = m->val_start; k < m->val_end && certs <= 1;) {
        const uint8_t *p = l->s + k;
        if (m->val_end - k >= 10 && memcmp(p, "-----", 5) == 0) {
            body = memcmp(p, "-----BEGIN", 10) == 0;
            certs += body;
            k += 5;
            while (k < m->val_end && l->s[k] != '\\') { k++; }
            continue;
        }
        if (*p == '\\') {
            k += 2;
            continue;
        }
        if (body && certs == 1 && b64_val(*p) >= 0) {
            size_t bit = n * 6;
            cr_assert_lt(bit / 8 + 1, LEAF_MAX);
            der[bit / 8] |= (uint8_t)((unsigned)b64_val(*p) << 2 >> (bit % 8));
            if (bit % 8 > 2) {
                der[bit / 8 + 1] |= (uint8_t)((unsigned)b64_val(*p) << (10 - bit % 8));
            }
            n++;
        }
        k++;
    }
    n = n * 6 / 8;
    l->der_len = n;
    memset(der_place, CP_OTHER, n);
    for (size_t i = 0; i + sizeof spki_prefix <= n; i++) {
        if (memcmp(der + i, spki_prefix, sizeof spki_prefix) == 0 && i + 91 <= n) {
            memset(der_place + i, CP_SPKI, 91);
            break;
        }
    }
    mark_ext(der_place, der, n, 0x01, CP_QUOTE, 0, &l->elog_start, &l->elog_end);
    mark_ext(der_place, der, n, 0x02, CP_ELOG, CP_ELOG_HDR, &l->elog_start, &l->elog_end);
    /* pass 2: each character */
    certs = 0;
    body = false;
    n = 0;
    for (k = m->val_start; k < m->val_end;) {
        const uint8_t *p = l->s + k;
        uint8_t *out = l->cert_place + (k - m->val_start);
        l->cert_pos[k - m->val_start] = UINT32_MAX;
        if (m->val_end - k >= 10 && memcmp(p, "-----", 5) == 0) {
            body = memcmp(p, "-----BEGIN", 10) == 0;
            certs += body;
            while (k < m->val_end && l->s[k] != '\\') {
                l->cert_pos[k - m->val_start] = UINT32_MAX;
                l->cert_place[k++ - m->val_start] = CP_PEM;
            }
            continue;
        }
        if (*p == '\\') {
            out[0] = out[1] = CP_PEM;
            l->cert_pos[k + 1 - m->val_start] = UINT32_MAX;
            k += 2;
            continue;
        }
        if (body && certs == 1) {
            size_t bit = n * 6, a = bit / 8, b = (bit + 5) / 8;
            uint8_t pa = a < LEAF_MAX ? der_place[a] : CP_OTHER;
            uint8_t pb = b < LEAF_MAX ? der_place[b] : CP_OTHER;
            *out = pa != CP_OTHER ? pa : pb != 0 ? pb : pa; /* bound wins */
            if (*out == 0) { *out = CP_OTHER; }
            l->cert_pos[k - m->val_start] = b64_val(*p) >= 0 ? (uint32_t)n : UINT32_MAX;
            n++;
        } else {
            *out = body ? CP_CHAIN : CP_PEM;
        }
        k++;
    }
    l->der = der;
}

static void layout_free(layout *l)
{
    free(l->der);
    free(l->cert_place);
    free(l->cert_pos);
    free(l->der_place);
}

/* cert_flip_place: the place of the leaf DER bits that flipping `bit` of base64 character c
 * (the pos-th of the leaf) changes; a bound place wins over CP_OTHER. A flip to a character
 * outside the base64 alphabet changes no DER bit (the PEM is malformed): the character's own
 * place then. */
static uint8_t cert_flip_place(const layout *l, uint8_t own, uint32_t pos, uint8_t c,
                               unsigned bit, size_t *out_byte, uint8_t *out_mask,
                               unsigned *out_bytes)
{
    int v = b64_val(c), v2 = b64_val((uint8_t)(c ^ (1u << bit)));
    uint8_t place = CP_OTHER;
    *out_bytes = 0;
    if (v < 0 || v2 < 0) {
        return own;
    }
    for (unsigned j = 0; j < 6; j++) {
        size_t sbit = (size_t)pos * 6 + (5 - j), byte = sbit / 8;
        if (!((v ^ v2) >> j & 1) || byte >= l->der_len) {
            continue;
        }
        if (*out_bytes == 0 || byte != *out_byte) {
            *out_mask = 0;
            (*out_bytes)++;
        }
        *out_byte = byte;
        *out_mask |= (uint8_t)(0x80u >> (sbit % 8));
        if (l->der_place[byte] != CP_OTHER) {
            place = l->der_place[byte];
        }
    }
    return place;
}

/* member_at names the member of the escaped JSON inside a tcb_info string that holds offset i:
 * "key:NAME" inside the name itself, else NAME of the nearest `\"NAME\":` before i. */
static void member_at(const uint8_t *s, size_t lo, size_t hi, size_t i, char *out, size_t cap)
{
    size_t k = i;
    out[0] = '\0';
    while (k < hi && s[k] != '"' && s[k] != ':' && s[k] != ',' && s[k] != '{') {
        k++;
    }
    if (k + 1 < hi && s[k] == '"' && s[k + 1] == ':') {
        size_t start = i;
        while (start > lo && s[start - 1] != '"') {
            start--;
        }
        size_t end = k > start && s[k - 1] == '\\' ? k - 1 : k;
        if (end >= start && end - start + 5 < cap) {
            snprintf(out, cap, "key:%.*s", (int)(end - start), (const char *)s + start);
        }
        return;
    }
    for (k = i; k-- > lo + 1;) {
        size_t end, start;
        if (s[k] != ':' || s[k - 1] != '"') {
            continue;
        }
        end = k - 1;
        if (end > lo && s[end - 1] == '\\') {
            end--;
        }
        start = end;
        while (start > lo && s[start - 1] != '"') {
            start--;
        }
        if (end - start < cap) {
            snprintf(out, cap, "%.*s", (int)(end - start), (const char *)s + start);
        }
        return;
    }
}

static bool is_event_member(const char *name)
{
    static const char *const k[] = { "imr", "event_type", "digest", "event", "event_payload",
                                     "preimage", "version", NULL };
    return listed(k, strncmp(name, "key:", 4) == 0 ? name + 4 : name);
}

/* event_imr: the imr of the event_log entry around offset i (the last '{' before it). */
static int event_imr(const uint8_t *s, size_t lo, size_t hi, size_t i)
{
    size_t k = i;
    while (k > lo && s[k] != '{') {
        k--;
    }
    for (; k + 6 < hi && s[k] != '}'; k++) {
        if (memcmp(s + k, "imr\\\":", 6) == 0 || memcmp(s + k, "imr\":", 5) == 0) {
            k += s[k + 3] == '\\' ? 6 : 5;
            while (k < hi && (s[k] == ' ' || s[k] == '\\' || s[k] == 'n')) { k++; }
            return k < hi && s[k] >= '0' && s[k] <= '9' ? s[k] - '0' : -1;
        }
    }
    return -1;
}

static bool is_hex(uint8_t c);

/* elog_label names a change of the certificate's copy of the event log (plain JSON inside the
 * DER): "app_cert.event_log.hex_case" for a case flip of a hex letter inside an all-hex value
 * (bit 5 of one byte), else "app_cert.event_log.<boot_event|runtime_event>.MEMBER". */
static void elog_label(const layout *l, size_t byte, uint8_t mask, unsigned bytes, char *out,
                       size_t cap)
{
    const uint8_t *j = l->der;
    size_t lo = l->elog_start, hi = l->elog_end, a = byte, b = byte;
    char inner[40];
    if (bytes == 1 && mask == 0x20 && is_hex(j[byte]) && j[byte] > '9') {
        while (a > lo && is_hex(j[a - 1])) { a--; }
        while (b + 1 < hi && is_hex(j[b + 1])) { b++; }
        if (a > lo && j[a - 1] == '"' && b + 1 < hi && j[b + 1] == '"') {
            snprintf(out, cap, "app_cert.event_log.hex_case");
            return;
        }
    }
    member_at(j, lo, hi, byte, inner, sizeof inner);
    if (is_event_member(inner)) {
        int imr = event_imr(j, lo, hi, byte);
        snprintf(out, cap, "app_cert.event_log.%s.%s", imr == 3 ? "runtime_event" : "boot_event",
                 inner);
    } else {
        snprintf(out, cap, "app_cert.event_log.%s", inner);
    }
}

static void label_at(const layout *l, size_t i, unsigned bit, char *out, size_t cap)
{
    static const char *const cert_names[] = { "", "app_cert.pem", "app_cert.chain",
                                              "app_cert.leaf.spki", "app_cert.leaf.quote",
                                              "app_cert.leaf.event_log", "app_cert.leaf.other",
                                              "app_cert.leaf.event_log_header" };
    snprintf(out, cap, "json");
    for (size_t j = 0; j < l->num; j++) {
        const span *m = &l->m[j];
        if (i >= m->name_start && i < m->name_end) {
            snprintf(out, cap, "key:%.*s", (int)(m->name_end - m->name_start),
                     (const char *)l->s + m->name_start);
            return;
        }
        if (i < m->val_start || i >= m->val_end) {
            continue;
        }
        if (j == l->cert_member) {
            size_t o = i - m->val_start, byte = 0;
            uint8_t place = l->cert_place[o], mask = 0;
            unsigned bytes = 0;
            if (l->cert_pos[o] != UINT32_MAX) {
                place = cert_flip_place(l, place, l->cert_pos[o], l->s[i], bit, &byte, &mask,
                                        &bytes);
            }
            if (place == CP_ELOG && byte >= l->elog_start && byte < l->elog_end) {
                elog_label(l, byte, mask, bytes, out, cap);
            } else {
                snprintf(out, cap, "%s", cert_names[place]);
            }
        } else if (name_is(l, m, "tcb_info")) {
            char inner[40];
            member_at(l->s, m->val_start, m->val_end, i, inner, sizeof inner);
            if (is_event_member(inner)) {
                int imr = event_imr(l->s, m->val_start, m->val_end, i);
                snprintf(out, cap, "tcb_info.%s.%s", imr == 3 ? "runtime_event" : "boot_event",
                         inner);
            } else {
                snprintf(out, cap, "tcb_info.%s", inner);
            }
        } else {
            snprintf(out, cap, "%.*s", (int)(m->name_end - m->name_start),
                     (const char *)l->s + m->name_start);
        }
        return;
    }
}

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* hex_case_flip: bit 5 of a hex letter inside a value that is entirely hex (bounded by quotes,
 * or escaped quotes inside tcb_info): the decoded bytes are the same. */
static bool hex_case_flip(const layout *l, size_t i, unsigned bit)
{
    size_t a = i, b = i;
    if (bit != 5 || !is_hex(l->s[i]) || l->s[i] <= '9') {
        return false;
    }
    while (a > 0 && is_hex(l->s[a - 1])) { a--; }
    while (b + 1 < l->len && is_hex(l->s[b + 1])) { b++; }
    return a > 0 && l->s[a - 1] == '"' && b + 1 < l->len &&
           (l->s[b + 1] == '"' || l->s[b + 1] == '\\');
}

/* ---- the oracle ------------------------------------------------------------------------- */

/* same_facts: every fact the report publishes is identical. */
static bool same_facts(const cba_report *a, const cba_report *b)
{
    for (int c = 0; c < CBA_CHECK_COUNT; c++) {
        if (a->checks[c].status != b->checks[c].status ||
            strcmp(a->checks[c].detail, b->checks[c].detail) != 0) {
            return false;
        }
    }
    for (size_t k = 0; k < a->num_advisory_ids && k < CBA_MAX_ADVISORIES; k++) {
        if (strcmp(a->advisory_ids[k], b->advisory_ids[k]) != 0) {
            return false;
        }
    }
    return a->verdict == b->verdict && a->failed_check == b->failed_check &&
           a->error.code == b->error.code && a->test_root == b->test_root &&
           a->collateral_missing == b->collateral_missing && a->has_quote == b->has_quote &&
           a->quote_version == b->quote_version && a->body_type == b->body_type &&
           memcmp(a->tee_tcb_svn, b->tee_tcb_svn, sizeof a->tee_tcb_svn) == 0 &&
           memcmp(a->mrseam, b->mrseam, sizeof a->mrseam) == 0 &&
           memcmp(a->mrsignerseam, b->mrsignerseam, sizeof a->mrsignerseam) == 0 &&
           a->td_attributes == b->td_attributes && a->xfam == b->xfam &&
           memcmp(a->mrtd, b->mrtd, sizeof a->mrtd) == 0 &&
           memcmp(a->mrconfigid, b->mrconfigid, sizeof a->mrconfigid) == 0 &&
           memcmp(a->mrowner, b->mrowner, sizeof a->mrowner) == 0 &&
           memcmp(a->mrownerconfig, b->mrownerconfig, sizeof a->mrownerconfig) == 0 &&
           memcmp(a->rtmr, b->rtmr, sizeof a->rtmr) == 0 &&
           memcmp(a->report_data, b->report_data, sizeof a->report_data) == 0 &&
           a->trailing_zero_bytes == b->trailing_zero_bytes && a->has_pck == b->has_pck &&
           memcmp(a->fmspc, b->fmspc, sizeof a->fmspc) == 0 &&
           memcmp(a->pce_id, b->pce_id, sizeof a->pce_id) == 0 &&
           memcmp(a->ppid, b->ppid, sizeof a->ppid) == 0 && a->has_tcb == b->has_tcb &&
           a->tcb_status == b->tcb_status && a->platform_tcb_status == b->platform_tcb_status &&
           a->module_tcb_status == b->module_tcb_status &&
           a->qe_tcb_status == b->qe_tcb_status &&
           a->tcb_evaluation_data_number == b->tcb_evaluation_data_number &&
           a->collateral_expires == b->collateral_expires &&
           a->num_advisory_ids == b->num_advisory_ids && a->has_dstack == b->has_dstack &&
           a->has_app_id == b->has_app_id && memcmp(a->app_id, b->app_id, sizeof a->app_id) == 0 &&
           a->has_compose_hash == b->has_compose_hash &&
           memcmp(a->compose_hash, b->compose_hash, sizeof a->compose_hash) == 0 &&
           a->has_instance_id == b->has_instance_id &&
           memcmp(a->instance_id, b->instance_id, sizeof a->instance_id) == 0 &&
           a->num_events == b->num_events && a->ratls_bound == b->ratls_bound &&
           a->mrconfigid_version == b->mrconfigid_version;
}

/* ---- worker records ------------------------------------------------------------------------ */
#define MAX_ROWS 64
#define MAX_VIOLATIONS 16
#define LABEL_CAP 96

typedef struct row {
    char label[LABEL_CAP];
    cba_err err;
    uint64_t count;
} row;

typedef struct violation {
    uint64_t byte;
    uint32_t bit;
    char what[LABEL_CAP];  /* the place */
    char why[96];
} violation;

typedef struct record {
    uint64_t mutants, rejected, accepted, hex_case;
    uint32_t num_rejected_rows, num_accepted_rows;
    row rejected_rows[MAX_ROWS]; /* by failed check and code */
    row accepted_rows[MAX_ROWS]; /* by place */
    uint64_t num_violations;
    violation violations[MAX_VIOLATIONS];
    uint32_t num_violation_rows;
    row violation_rows[MAX_ROWS]; /* by place (all of them, not only the first few) */
    uint32_t leaks;  /* LeakSanitizer found leaks in this worker */
    uint32_t done;   /* the worker reached the end */
} record;

static void row_add(row *rows, uint32_t *num, const char *label, cba_err err, uint64_t n,
                    record *rec)
{
    for (uint32_t k = 0; k < *num; k++) {
        if (rows[k].err == err && strcmp(rows[k].label, label) == 0) {
            rows[k].count += n;
            return;
        }
    }
    if (*num == MAX_ROWS) {
        /* more distinct outcomes than rows: count it as a violation so the test fails loudly */
        rec->num_violations++;
        return;
    }
    snprintf(rows[*num].label, LABEL_CAP, "%s", label);
    rows[*num].err = err;
    rows[*num].count = n;
    (*num)++;
}

static void violate(record *rec, size_t i, unsigned bit, const char *what, const char *why)
{
    if (rec->num_violation_rows < MAX_ROWS) {
        uint32_t k = 0;
        while (k < rec->num_violation_rows && strcmp(rec->violation_rows[k].label, what) != 0) {
            k++;
        }
        if (k == rec->num_violation_rows) {
            snprintf(rec->violation_rows[k].label, LABEL_CAP, "%s", what);
            rec->num_violation_rows++;
        }
        rec->violation_rows[k].count++;
    }
    if (rec->num_violations < MAX_VIOLATIONS) {
        violation *v = &rec->violations[rec->num_violations];
        v->byte = i;
        v->bit = bit;
        snprintf(v->what, sizeof v->what, "%s", what);
        snprintf(v->why, sizeof v->why, "%s", why);
    }
    rec->num_violations++;
}

/* ---- the sweep -------------------------------------------------------------------------- */
typedef struct sweep {
    const char *what;
    const cba_policy *policy;
    const cba_collateral *collateral; /* NULL: cba_verify (policy skip_dcap) */
    int64_t at;
    uint8_t *info; /* the response; flipped in place by each worker (its own copy) */
    size_t len;
    size_t stride; /* 1: every bit of every byte; n > 1: every n-th byte, one rotating bit */
    layout lay;
    cba_report base;
} sweep;

typedef struct progress {
    volatile uint64_t byte;
    volatile uint32_t bit;
} progress;

static cba_err verify(const sweep *s, cba_report *r)
{
    cba_evidence ev;
    cba_evidence_init(&ev);
    ev.info_json = s->info;
    ev.info_json_len = s->len;
    cba_report_init(r);
    if (s->collateral != NULL) {
        return cba_verify_with(r, s->policy, s->collateral, &ev, s->at);
    }
    return cba_verify(r, s->policy, &ev, s->at);
}

static void one_mutant(sweep *s, record *rec, size_t i, unsigned bit)
{
    cba_report r;
    cba_err e;
    char place[LABEL_CAP];
    s->info[i] ^= (uint8_t)(1u << bit);
    e = verify(s, &r);
    s->info[i] ^= (uint8_t)(1u << bit);
    rec->mutants++;
    if (e != CBA_OK) {
        rec->rejected++;
        if (r.verdict != CBA_VERDICT_REJECTED || r.error.code != e ||
            r.failed_check >= CBA_CHECK_COUNT || r.has_quote || r.has_dstack) {
            label_at(&s->lay, i, bit, place, sizeof place);
            violate(rec, i, bit, place,
                    "rejected, but the report is inconsistent or publishes facts");
        }
        row_add(rec->rejected_rows, &rec->num_rejected_rows,
                r.failed_check < CBA_CHECK_COUNT ? cba_check_name(r.failed_check) : "?", e, 1,
                rec);
        return;
    }
    label_at(&s->lay, i, bit, place, sizeof place);
    if (!same_facts(&s->base, &r)) {
        violate(rec, i, bit, place, "verified with different facts");
        return;
    }
    if (hex_case_flip(&s->lay, i, bit)) {
        rec->accepted++;
        rec->hex_case++;
        return;
    }
    if (!listed(k_unbound, place) && !listed(k_optional, place)) {
        violate(rec, i, bit, place, "verified (same facts) in a place that should be bound");
        return;
    }
    rec->accepted++;
    row_add(rec->accepted_rows, &rec->num_accepted_rows, place, CBA_OK, 1, rec);
}

static bool write_all_fd(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) { continue; }
        if (w <= 0) { return false; }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool read_all_fd(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) { continue; }
        if (r <= 0) { return false; }
        p += r;
        n -= (size_t)r;
    }
    return true;
}

static void worker(sweep *s, size_t w, size_t workers, progress *prog, int fd)
{
    static record rec; /* static: 10 KB, and this process does nothing else */
    memset(&rec, 0, sizeof rec);
    for (size_t i = w * s->stride; i < s->len; i += workers * s->stride) {
        for (unsigned bit = 0; bit < 8; bit++) {
            if (s->stride > 1 && bit != (i / s->stride) % 8) {
                continue; /* sampled: one bit, rotating with the byte index */
            }
            prog->byte = i;
            prog->bit = bit;
            one_mutant(s, &rec, i, bit);
        }
    }
#ifdef SWEEP_LSAN
    rec.leaks = __lsan_do_recoverable_leak_check() != 0;
#endif
    rec.done = 1;
    _exit(write_all_fd(fd, &rec, sizeof rec) ? 0 : 3);
}

static size_t num_workers(void)
{
    const char *env = getenv("CBA_MUTATION_WORKERS");
    long n = env != NULL ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (size_t)n;
}

static int cmp_rows(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : strcmp(x->label, y->label);
}

static void print_rows(const char *what, row *rows, uint32_t num, uint32_t top)
{
    qsort(rows, num, sizeof *rows, cmp_rows);
    for (uint32_t k = 0; k < num && k < top; k++) {
        printf("mutation-info:   %-8s %-30s %-34s %9llu\n", what, rows[k].label,
               rows[k].err == CBA_OK ? "-" : cba_err_name(rows[k].err),
               (unsigned long long)rows[k].count);
    }
    if (num > top) {
        printf("mutation-info:   %-8s (%u more rows)\n", what, num - top);
    }
}

static double cpu_seconds(const struct rusage *ru)
{
    return (double)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) +
           (double)(ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1e6;
}

/* run_sweep flips every bit of s->info in `workers` processes and asserts the oracle. */
static void run_sweep(sweep *s)
{
    size_t workers = num_workers();
    pid_t pids[64];
    int fds[64];
    static record total;
    struct timespec t0, t1;
    struct rusage ru0, ru1;
    progress *prog;
    cba_report r;
    uint64_t crashed = 0;

    memset(&total, 0, sizeof total);
    cr_assert_eq(verify(s, &s->base), CBA_OK, "%s: baseline: %s (%s)", s->what,
                 s->base.error.detail, s->base.error.where);
    cr_assert_eq(s->base.verdict, CBA_VERDICT_VERIFIED);
    layout_scan(&s->lay, s->info, s->len);
    layout_cert(&s->lay);
    prog = mmap(NULL, sizeof *prog * workers, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                -1, 0);
    cr_assert_neq(prog, MAP_FAILED);
    fflush(stdout);
    fflush(stderr);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    getrusage(RUSAGE_CHILDREN, &ru0);
    for (size_t w = 0; w < workers; w++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        pids[w] = fork();
        cr_assert_neq(pids[w], -1, "fork: %s", strerror(errno));
        if (pids[w] == 0) {
            /* a worker must not outlive the test (a Criterion timeout kills only the test) */
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(p[0]);
            worker(s, w, workers, &prog[w], p[1]);
        }
        close(p[1]);
        fds[w] = p[0];
    }
    for (size_t w = 0; w < workers; w++) {
        static record rec;
        int status = 0;
        bool got = read_all_fd(fds[w], &rec, sizeof rec);
        close(fds[w]);
        pid_t waited;
        while ((waited = waitpid(pids[w], &status, 0)) == -1 && errno == EINTR) {
        }
        if (waited != pids[w]) {
            printf("mutation-info: %s: cannot wait for worker %zu: %s\n", s->what, w,
                   strerror(errno));
            crashed++;
            continue;
        }
        if (!got || !rec.done || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("mutation-info: %s: worker %zu died (%s %d) at byte %llu bit %u\n", s->what, w,
                   WIFSIGNALED(status) ? "signal" : "exit status",
                   WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                   (unsigned long long)prog[w].byte, prog[w].bit);
            crashed++;
            continue;
        }
        total.mutants += rec.mutants;
        total.rejected += rec.rejected;
        total.accepted += rec.accepted;
        total.hex_case += rec.hex_case;
        total.leaks += rec.leaks;
        for (uint32_t k = 0; k < rec.num_rejected_rows; k++) {
            row_add(total.rejected_rows, &total.num_rejected_rows, rec.rejected_rows[k].label,
                    rec.rejected_rows[k].err, rec.rejected_rows[k].count, &total);
        }
        for (uint32_t k = 0; k < rec.num_accepted_rows; k++) {
            row_add(total.accepted_rows, &total.num_accepted_rows, rec.accepted_rows[k].label,
                    CBA_OK, rec.accepted_rows[k].count, &total);
        }
        for (uint64_t k = 0; k < rec.num_violations && k < MAX_VIOLATIONS; k++) {
            const violation *v = &rec.violations[k];
            printf("mutation-info: VIOLATION %s: byte %llu bit %u ('%c' in %s): %s\n", s->what,
                   (unsigned long long)v->byte, v->bit, s->info[v->byte], v->what, v->why);
        }
        total.num_violations += rec.num_violations;
        for (uint32_t k = 0; k < rec.num_violation_rows; k++) {
            row_add(total.violation_rows, &total.num_violation_rows, rec.violation_rows[k].label,
                    CBA_OK, rec.violation_rows[k].count, &total);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_CHILDREN, &ru1);
    munmap(prog, sizeof *prog * workers);

    printf("mutation-info: %s: %zu bytes, %llu mutants (%s), %zu workers, %.1f s wall, "
           "%.1f s CPU\n",
           s->what, s->len, (unsigned long long)total.mutants,
           s->stride == 1 ? "every bit" : "SAMPLED: every 7th byte, one rotating bit", workers,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           cpu_seconds(&ru1) - cpu_seconds(&ru0));
    printf("mutation-info:   rejected %llu, accepted-unchanged %llu (hex case %llu), "
           "violations %llu, crashed workers %llu, leaking workers %u\n",
           (unsigned long long)total.rejected, (unsigned long long)total.accepted,
           (unsigned long long)total.hex_case, (unsigned long long)total.num_violations,
           (unsigned long long)crashed, total.leaks);
    print_rows("rejected", total.rejected_rows, total.num_rejected_rows, 8);
    print_rows("accepted", total.accepted_rows, total.num_accepted_rows, MAX_ROWS);
    print_rows("VIOLATED", total.violation_rows, total.num_violation_rows, MAX_ROWS);
    fflush(stdout);

    /* Restored byte for byte: the original still verifies, with the same facts. */
    cr_assert_eq(verify(s, &r), CBA_OK, "%s: after the sweep: %s", s->what, r.error.detail);
    cr_assert(same_facts(&s->base, &r));
    layout_free(&s->lay);
    cr_assert_eq(crashed, 0, "%s: %llu workers crashed (see above)", s->what,
                 (unsigned long long)crashed);
    cr_assert_eq(total.leaks, 0, "%s: leaks (LeakSanitizer report above)", s->what);
    cr_assert_eq(total.mutants, s->stride == 1 ? (uint64_t)s->len * 8
                                               : (uint64_t)(s->len + s->stride - 1) / s->stride,
                 "%s: every mutant once", s->what);
    cr_assert_eq(total.rejected + total.accepted + total.num_violations, total.mutants);
    cr_assert_eq(total.num_violations, 0, "%s: %llu violations (listed above)", s->what,
                 (unsigned long long)total.num_violations);
    cr_assert_gt(total.rejected, total.mutants / 2, "%s: the sweep must mostly reject", s->what);
}

/* ---- the responses ---------------------------------------------------------------------- */

/* The objects a sweep shares with its workers are static: LeakSanitizer, run in each worker at
 * its end, does not see the parent's stack frames in a forked child, but it scans globals. */
Test(mutation_info, crabbox_info_every_bit_flip, .timeout = 3600)
{
    static tu_buf info;
    static cba_policy p;
    static sweep s;
    TU_REAL_OR_SKIP("crabbox/real_attestation_info.json", &info);
    cba_policy_init(&p);
    p.skip_dcap = true;
    s.what = "crabbox Info (--no-dcap)";
    s.stride = 1;
    if (getenv("CBA_MUTATION_FULL") == NULL || strcmp(getenv("CBA_MUTATION_FULL"), "1") != 0) {
        s.stride = CRABBOX_SAMPLE_STRIDE;
        printf("mutation-info: crabbox Info: SAMPLED sweep; CBA_MUTATION_FULL=1 flips every bit "
               "(385920 mutants, ~26 CPU-minutes under ASan at -O0)\n");
    }
    s.policy = &p;
    s.at = CRABBOX_AT;
    s.info = info.data;
    s.len = info.len;
    run_sweep(&s);
    tu_buf_free(&info);
}

/* A small generated Info with a full DCAP baseline: the default mkevidence dstack Info (KMS
 * mode, MRCONFIGID V1), event log in tcb_info, V1 or V2 events. */
static void sweep_generated(const char *what, int event_version)
{
    static mke_options o;
    static mke_evidence ev;
    static cba_policy p;
    static cba_collateral *c;
    static sweep s;
    cba_report r;
    memset(&s, 0, sizeof s);
    mke_options_init(&o);
    o.info.event_version = event_version;
    cr_assert(mke_generate(&ev, &o), "mkevidence: %s", ev.error);
    cba_policy_init(&p);
    cba_report_init(&r);
    p.trust_root_der = ev.root_der.data;
    p.trust_root_der_len = ev.root_der.len;
    cr_assert_eq(cba_collateral_verify(&c, &r, &p, ev.collateral_json.data,
                                       ev.collateral_json.len, MKE_DEFAULT_NOW),
                 CBA_OK, "collateral: %s", r.error.detail);
    s.what = what;
    s.stride = 1;
    s.policy = &p;
    s.collateral = c;
    s.at = MKE_DEFAULT_NOW;
    s.info = ev.info_json.data;
    s.len = ev.info_json.len;
    run_sweep(&s);
    cr_assert(s.base.has_tcb && s.base.tcb_status == CBA_TCB_UP_TO_DATE && s.base.test_root &&
              s.base.has_dstack && s.base.ratls_bound,
              "%s: the baseline must be fully verified", what);
    cba_collateral_free(c);
    mke_evidence_free(&ev);
}

Test(mutation_info, generated_info_v1_events_every_bit_flip)
{
    sweep_generated("generated Info, V1 events (DCAP)", 1);
}

Test(mutation_info, generated_info_v2_events_every_bit_flip)
{
    sweep_generated("generated Info, V2 events (DCAP)", 2);
}
