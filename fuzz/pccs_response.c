/* fuzz/pccs_response.c. Target: everything `collateral fetch` does with what
 * a PCS / PCCS answers (fetch_collateral_with): HTTP status, the issuer-chain and error headers,
 * the PCK CRL (DER or hex), the TCB info and QE identity bodies and their signatures, the root CA
 * CRL, the assembly of QuoteCollateralV3 and its verification. libcurl's URL functions are the
 * real ones; its transfers are replaced by the fuzzer's responses. The quote is the real
 * dcap-qvl TDX sample (FUZZ_QUOTE_PATH), verified at 1752919234, inside its collateral's window.
 * Seeds: fuzz/corpus/pccs_response/ (the real collateral as a PCS serves it).
 *
 * Input: up to four responses, in request order (PCK CRL, TCB info, QE identity, root CA CRL),
 * separated by "\n@@\n". A response is "STATUS\n", header lines, an empty line, then the body.
 * Properties: a failure always says why, with a documented exit status (1 rejected, 2 usage,
 * 3 unavailable); success means the assembled collateral verifies with cba_collateral_verify. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_api.h"
#include "fetch_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AT 1752919234

typedef struct fake {
    curl_write_callback on_body, on_header;
    void *body_data, *header_data;
    const uint8_t *resp[4];
    size_t resp_len[4];
    size_t num_resp, next;
    long status;
} fake;

/* One input at a time (libFuzzer is single-threaded per process): the fake transfer's state. */
static fake g_fake;
static uint8_t *g_quote;
static size_t g_quote_len;

static CURLcode fake_global_init(long flags)
{
    (void)flags;
    return CURLE_OK;
}
static void fake_global_cleanup(void) {}
static CURL *fake_easy_init(void) { return (CURL *)&g_fake; }
static void fake_easy_cleanup(CURL *c) { (void)c; }
static void fake_easy_reset(CURL *c) { (void)c; }

static CURLcode fake_easy_setopt(CURL *c, CURLoption opt, ...)
{
    va_list ap;
    (void)c;
    va_start(ap, opt);
    switch (opt) {
    case CURLOPT_WRITEFUNCTION: g_fake.on_body = va_arg(ap, curl_write_callback); break;
    case CURLOPT_HEADERFUNCTION: g_fake.on_header = va_arg(ap, curl_write_callback); break;
    case CURLOPT_WRITEDATA: g_fake.body_data = va_arg(ap, void *); break;
    case CURLOPT_HEADERDATA: g_fake.header_data = va_arg(ap, void *); break;
    default: break;
    }
    va_end(ap);
    return CURLE_OK;
}

static CURLcode fake_easy_getinfo(CURL *c, CURLINFO info, ...)
{
    va_list ap;
    (void)c;
    va_start(ap, info);
    if (info == CURLINFO_RESPONSE_CODE) { *va_arg(ap, long *) = g_fake.status; }
    va_end(ap);
    return CURLE_OK;
}

static const char *fake_strerror(CURLcode cc)
{
    (void)cc;
    return "fake transfer error";
}

/* deliver hands `len` bytes to a libcurl-style callback; false when it refused them. */
static bool deliver(curl_write_callback cb, void *ud, const uint8_t *p, size_t len)
{
    char *copy;
    size_t got;
    if (len == 0) { return true; }
    copy = malloc(len); /* libcurl's buffer is writable and not NUL-terminated: so is this one */
    if (copy == NULL) { return false; }
    memcpy(copy, p, len);
    got = cb(copy, 1, len, ud);
    free(copy);
    return got == len;
}

static CURLcode fake_easy_perform(CURL *c)
{
    const uint8_t *r, *end, *line, *nl;
    size_t len, i = g_fake.next++;
    long status = 0;
    (void)c;
    if (i >= g_fake.num_resp) { return CURLE_COULDNT_CONNECT; }
    r = g_fake.resp[i];
    len = g_fake.resp_len[i];
    end = r + len;
    /* "STATUS\n" */
    nl = memchr(r, '\n', len);
    if (nl == NULL) { return CURLE_RECV_ERROR; }
    for (const uint8_t *p = r; p < nl && status < 1000; p++) {
        if (*p < '0' || *p > '9') { return CURLE_RECV_ERROR; }
        status = status * 10 + (*p - '0');
    }
    g_fake.status = status;
    if (!deliver(g_fake.on_header, g_fake.header_data, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17)) {
        return CURLE_WRITE_ERROR;
    }
    /* header lines up to an empty line */
    line = nl + 1;
    while (line < end) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (nl == NULL) { nl = end; }
        if (nl == line) {
            line++;
            break;
        }
        if (!deliver(g_fake.on_header, g_fake.header_data, line, (size_t)(nl - line) + (nl < end))) {
            return CURLE_WRITE_ERROR;
        }
        line = nl + (nl < end);
    }
    if (!deliver(g_fake.on_header, g_fake.header_data, (const uint8_t *)"\r\n", 2)) { return CURLE_WRITE_ERROR; }
    /* the body, in two pieces so that appending is exercised */
    if (line < end) {
        size_t blen = (size_t)(end - line), half = blen / 2;
        if (!deliver(g_fake.on_body, g_fake.body_data, line, half) ||
            !deliver(g_fake.on_body, g_fake.body_data, line + half, blen - half)) {
            return CURLE_WRITE_ERROR;
        }
    }
    return CURLE_OK;
}

static bool load_quote(void)
{
    FILE *f;
    long n;
    if (g_quote != NULL) { return true; }
    f = fopen(FUZZ_QUOTE_PATH, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "pccs_response: cannot read %s\n", FUZZ_QUOTE_PATH);
        abort();
    }
    g_quote = malloc((size_t)n);
    if (g_quote == NULL || fread(g_quote, 1, (size_t)n, f) != (size_t)n) { abort(); }
    g_quote_len = (size_t)n;
    fclose(f);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static curl_api cu;
    static bool opened;
    static const uint8_t sep[] = "\n@@\n";
    cba_fetch_opts o;
    cba_fetch_result res;
    cba_evidence ev;
    const uint8_t *p = data, *end = data + size;
    cba_fetch_status rc;

    if (!opened) {
        char why[300];
        if (!curl_api_open(&cu, why, sizeof why)) {
            fprintf(stderr, "pccs_response: %s\n", why);
            abort();
        }
        cu.global_init = fake_global_init;
        cu.global_cleanup = fake_global_cleanup;
        cu.easy_init = fake_easy_init;
        cu.easy_cleanup = fake_easy_cleanup;
        cu.easy_reset = fake_easy_reset;
        cu.easy_setopt = fake_easy_setopt;
        cu.easy_getinfo = fake_easy_getinfo;
        cu.easy_perform = fake_easy_perform;
        cu.easy_strerror = fake_strerror;
        opened = true;
    }
    load_quote();

    memset(&g_fake, 0, sizeof g_fake);
    while (g_fake.num_resp < 4) {
        const uint8_t *s = NULL;
        for (const uint8_t *q = p; q + sizeof sep - 1 <= end; q++) {
            if (memcmp(q, sep, sizeof sep - 1) == 0) {
                s = q;
                break;
            }
        }
        g_fake.resp[g_fake.num_resp] = p;
        g_fake.resp_len[g_fake.num_resp] = (size_t)((s != NULL ? s : end) - p);
        g_fake.num_resp++;
        if (s == NULL) { break; }
        p = s + sizeof sep - 1;
    }

    cba_fetch_opts_init(&o);
    cba_evidence_init(&ev);
    o.base_url = "https://pccs.fuzz.invalid:8081";
    o.no_cache = true;
    o.quiet = true;
    o.max_tries = 1; /* a retry would sleep */
    ev.quote = g_quote;
    ev.quote_len = g_quote_len;
    rc = fetch_collateral_with(&cu, &o, &ev, AT, &res);
    if (rc == CBA_FETCH_OK) {
        cba_policy pol;
        cba_report rep;
        cba_collateral *c = NULL;
        if (!res.verified || res.json.data == NULL) { abort(); }
        cba_policy_init(&pol);
        cba_report_init(&rep);
        if (cba_collateral_verify(&c, &rep, &pol, res.json.data, res.json.len, AT) != CBA_OK) {
            fprintf(stderr, "pccs_response: fetched collateral does not verify: %s\n", rep.error.detail);
            abort();
        }
        cba_collateral_free(c);
    } else if ((unsigned)rc >= CBA_FETCH_STATUS_COUNT || res.error[0] == '\0') {
        fprintf(stderr, "pccs_response: status %d without a documented value or a message\n", (int)rc);
        abort();
    }
    cba_fetch_result_free(&res);
    return 0;
}
