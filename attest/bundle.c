/* bundle.c — see bundle.h. Shared by crabbox-attest (verify --bundle) and the crabbox host
 * (which writes bundles), so that both sides compute the bindings with the same code. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "fileio.h"
#include "base.h"
#include "sha2.h"


void bundle_init(bundle *b)
{
    memset(b, 0, sizeof *b);
}

static void free_buf(uint8_t **p, size_t *len)
{
    if (*p != NULL) {
        explicit_bzero(*p, *len);
        free(*p);
    }
    *p = NULL;
    *len = 0;
}

void bundle_free(bundle *b)
{
    if (b == NULL) { return; }
    free_buf(&b->info, &b->info_len);
    free_buf(&b->quote, &b->quote_len);
    free_buf(&b->quote_event_log, &b->quote_event_log_len);
    free_buf(&b->collateral, &b->collateral_len);
    free_buf(&b->compose, &b->compose_len);
    free_buf(&b->host_key, &b->host_key_len);
    free_buf(&b->pre_launch_script, &b->pre_launch_script_len);
}

bool bundle_report_data(uint8_t out[64], const uint8_t nonce[32], const uint8_t *host_key, size_t host_key_len)
{
    return cba_report_data(out, nonce, host_key, host_key_len); /* base/sha2.c */
}

/* app_compose_of returns the tcb_info.app_compose string of an Info response (borrowed from
 * *owner, which the caller puts), or NULL. */
static const char *app_compose_of(const uint8_t *info, size_t info_len, json_object **owner, size_t *out_len)
{
    json_tokener *tok = json_tokener_new();
    json_object *root, *tcb, *tcb_obj = NULL, *app;
    *owner = NULL;
    if (tok == NULL || info_len > INT32_MAX) {
        json_tokener_free(tok);
        return NULL;
    }
    root = json_tokener_parse_ex(tok, (const char *)info, (int)info_len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_object_get_ex(root, "tcb_info", &tcb)) {
        json_tokener_free(tok);
        json_object_put(root);
        return NULL;
    }
    json_tokener_free(tok);
    /* tcb_info is a JSON document inside a string (Tappd/dstack Info), or an object. */
    if (json_object_is_type(tcb, json_type_string)) {
        tcb_obj = json_tokener_parse(json_object_get_string(tcb));
        if (tcb_obj == NULL) {
            json_object_put(root);
            return NULL;
        }
        json_object_object_add(root, "crabbox-parsed-tcb-info", tcb_obj); /* root owns it now */
        tcb = tcb_obj;
    }
    if (!json_object_object_get_ex(tcb, "app_compose", &app) || !json_object_is_type(app, json_type_string)) {
        json_object_put(root);
        return NULL;
    }
    *owner = root;
    *out_len = (size_t)json_object_get_string_len(app);
    return json_object_get_string(app);
}

bool bundle_expected_compose_hash(uint8_t out[32], const uint8_t *info, size_t info_len, const uint8_t *compose,
                                  size_t compose_len)
{
    json_object *owner = NULL, *app = NULL, *file;
    size_t app_len = 0;
    const char *text = info != NULL ? app_compose_of(info, info_len, &owner, &app_len) : NULL;
    bool ok;
    if (text != NULL) {
        app = json_tokener_parse(text);
        if (app != NULL && json_object_object_get_ex(app, "docker_compose_file", &file) &&
            json_object_is_type(file, json_type_string) && (size_t)json_object_get_string_len(file) == compose_len &&
            memcmp(json_object_get_string(file), compose, compose_len) == 0) {
            /* The platform wrapped exactly our compose: the app-compose it measured is the expected
             * one, and the verifier checks that RTMR3 and the claims carry its hash. */
            const cbs part = cbs_make((const uint8_t *)text, app_len);
            ok = cba_sha256(out, &part, 1);
            json_object_put(app);
            json_object_put(owner);
            return ok;
        }
        json_object_put(app);
    }
    json_object_put(owner);
    /* Not wrapped (or not ours): only an app-compose identical to what we deployed can match. */
    return cba_compose_hash(out, compose, compose_len);
}

void bundle_app_compose_policy(cba_app_compose_policy *p, const uint8_t *compose, size_t compose_len,
                               const uint8_t *script, size_t script_len)
{
    /* The env name the phala driver declares (`phala deploy --ssh-pubkey` becomes an encrypted
     * DSTACK_AUTHORIZED_KEYS). Only a pre-launch script reads it, and the script is policy too: the
     * host's own takes no key from the environment; no script reads nothing; Phala's default (it
     * does read it) needs the trusted opt-in. The compose does not reference it. */
    static const char *const k_driver_envs[] = { "DSTACK_AUTHORIZED_KEYS", NULL };
    cba_app_compose_policy_init(p);
    p->docker_compose = compose;
    p->docker_compose_len = compose_len;
    p->pre_launch_script = script;
    p->pre_launch_script_len = script_len;
    p->require_pre_launch_script = script != NULL;
    p->allowed_envs = k_driver_envs;
}

void bundle_accept_phala_default(cba_app_compose_policy *p, uint8_t hash[1][32])
{
    static const char *const k_envs[] = { "DSTACK_AUTHORIZED_KEYS", NULL };
    static const char k_hex[] = CBA_PHALA_DEFAULT_PRE_LAUNCH_SHA256_HEX;
    if (!cba_hex_decode(hash[0], 32, k_hex, sizeof k_hex - 1)) { return; } /* constant: cannot fail */
    p->pre_launch_script_sha256 = (const uint8_t(*)[32])hash;
    p->num_pre_launch_script_sha256 = 1;
    p->allowed_envs = k_envs;
}

const char *bundle_ssh_keys_label(const cba_report *r, bool app_compose_evaluated)
{
    static const char k_hex[] = CBA_PHALA_DEFAULT_PRE_LAUNCH_SHA256_HEX;
    uint8_t phala[32];
    if (!app_compose_evaluated || r->verdict != CBA_VERDICT_VERIFIED) { return "unchecked"; }
    if (!r->has_pre_launch_script) { return "platform-default"; }
    if (cba_hex_decode(phala, 32, k_hex, sizeof k_hex - 1) && memcmp(phala, r->pre_launch_script_sha256, 32) == 0) {
        return "host-controllable";
    }
    switch (r->pre_launch_script_match) {
    case CBA_SCRIPT_SUPPLIED: return "lease-key-only";
    case CBA_SCRIPT_ALLOW_LISTED: return "allow-listed";
    default: return "unknown-script";
    }
}

/* ---- authenticity ------------------------------------------------------------------------------ */

bool bundle_key_path(char *out, size_t out_len, const char *xdg, const char *home)
{
    int n;
    if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(out, out_len, "%s/crabbox/bundle.key", xdg);
    } else if (home != NULL && home[0] == '/') {
        n = snprintf(out, out_len, "%s/.local/state/crabbox/bundle.key", home);
    } else {
        return false;
    }
    return n > 0 && (size_t)n < out_len;
}

int bundle_key_load_at(const char *path, uint8_t key[32], bool create)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct stat st;
    int fd, e;
    if (path == NULL) { return ENOENT; }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        uint8_t fresh[32];
        if (!cba_random_bytes(fresh, sizeof fresh)) { return EIO; }
        e = tc_write_file_atomic(path, fresh, sizeof fresh, 0600);
        explicit_bzero(fresh, sizeof fresh);
        if (e != 0) { return e; }
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) { return errno; }
    /* A key others can read or replace authenticates nothing. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        close(fd);
        return EPERM;
    }
    close(fd);
    e = tc_read_file(path, 64, TC_READ_NOFOLLOW, &data, &len);
    if (e != 0) { return e; }
    if (len != 32) {
        explicit_bzero(data, len);
        free(data);
        return EINVAL;
    }
    memcpy(key, data, 32);
    explicit_bzero(data, len);
    free(data);
    return 0;
}

/* mac_field appends u64be(len) || bytes to the HMAC's inner message list. */
typedef struct mac_msg {
    cbs parts[64];
    uint8_t lens[32][8];
    size_t num, num_lens;
} mac_msg;

static void mac_field(mac_msg *m, const void *p, size_t len)
{
    uint8_t *l = m->lens[m->num_lens++];
    for (int i = 0; i < 8; i++) { l[i] = (uint8_t)((uint64_t)len >> (56 - 8 * i)); }
    m->parts[m->num++] = cbs_make(l, 8);
    m->parts[m->num++] = cbs_make(p != NULL ? p : (const void *)"", len);
}

static void mac_str(mac_msg *m, const char *s)
{
    mac_field(m, s, strlen(s));
}

bool bundle_mac(const bundle *b, const uint8_t key[32], uint8_t out[32])
{
    static const char k_mac_domain[] = "crabbox-bundle-mac-v1";
    mac_msg *m = calloc(1, sizeof *m);
    uint8_t pad[64], inner[32], t[8], flags[4];
    bool ok;
    if (m == NULL) { return false; }
    for (int i = 0; i < 8; i++) { t[i] = (uint8_t)((uint64_t)b->time >> (56 - 8 * i)); }
    flags[0] = b->has_nonce;
    flags[1] = b->fresh;
    flags[2] = b->has_app_id;
    flags[3] = (uint8_t)(b->dcap_skipped | b->test_root << 1);
    /* HMAC-SHA256 (RFC 2104), the key shorter than the block. */
    memset(pad, 0x36, sizeof pad);
    for (int i = 0; i < 32; i++) { pad[i] ^= key[i]; }
    m->parts[m->num++] = cbs_make(pad, 64);
    m->parts[m->num++] = cbs_make((const uint8_t *)k_mac_domain, sizeof k_mac_domain - 1);
    mac_str(m, b->lease);
    mac_str(m, b->provider);
    mac_str(m, b->cloud_id);
    mac_field(m, t, 8);
    mac_field(m, b->info, b->info_len);
    mac_field(m, b->quote, b->quote_len);
    /* Only when recorded, so that bundles written before it existed keep their MAC; dropping or
     * adding it still changes the MAC. */
    if (b->quote_event_log != NULL) { mac_field(m, b->quote_event_log, b->quote_event_log_len); }
    mac_field(m, b->collateral, b->collateral_len);
    mac_str(m, b->collateral_source);
    mac_field(m, b->compose, b->compose_len);
    mac_field(m, b->host_key, b->host_key_len);
    mac_field(m, b->pre_launch_script, b->pre_launch_script_len);
    mac_field(m, b->nonce, b->has_nonce ? 32 : 0);
    mac_field(m, b->app_id, b->has_app_id ? 20 : 0);
    mac_field(m, flags, 4);
    mac_str(m, b->verdict);
    mac_str(m, b->failed_check);
    mac_str(m, b->error);
    mac_str(m, b->detail);
    ok = cba_sha256(inner, m->parts, m->num);
    memset(pad, 0x5c, sizeof pad);
    for (int i = 0; i < 32; i++) { pad[i] ^= key[i]; }
    m->parts[0] = cbs_make(pad, 64);
    m->parts[1] = cbs_make(inner, 32);
    ok = ok && cba_sha256(out, m->parts, 2);
    explicit_bzero(pad, sizeof pad);
    explicit_bzero(inner, sizeof inner);
    free(m);
    return ok;
}

bundle_auth bundle_check_auth_at(const bundle *b, const char *key_path)
{
    uint8_t key[32], mac[32];
    bundle_auth r;
    if (bundle_key_load_at(key_path, key, false) != 0) { return BUNDLE_NO_HOST_KEY; }
    r = b->has_mac && bundle_mac(b, key, mac) && cba_ct_eq(mac, b->mac, 32) ? BUNDLE_AUTHENTIC : BUNDLE_EDITED;
    explicit_bzero(key, sizeof key);
    return r;
}

const char *bundle_auth_name(bundle_auth a)
{
    switch (a) {
    case BUNDLE_AUTHENTIC: return "authentic";
    case BUNDLE_EDITED: return "EDITED";
    default: return "not authenticated (no host key)";
    }
}

/* ---- base64 ------------------------------------------------------------------------------------ */

static json_object *b64_json(const uint8_t *in, size_t n)
{
    char *out;
    json_object *o;
    if (in == NULL) { return NULL; }
    out = cba_base64_encode_alloc(in, n); /* base/base.c */
    if (out == NULL) { return NULL; }
    o = json_object_new_string_len(out, (int)strlen(out));
    free(out);
    return o;
}

/* b64_decode: strict standard base64 with padding; canonical (unused bits zero). */
static bool b64_decode(const char *in, size_t in_len, uint8_t **out, size_t *out_len)
{
    uint8_t *buf = malloc(in_len / 4 * 3 + 1);
    size_t len = 0;
    if (buf == NULL) { return false; }
    if (!cba_base64_decode(buf, in_len / 4 * 3, &len, in, in_len)) { /* base/base.c */
        free(buf);
        return false;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return true;
}

static json_object *hex_json(const uint8_t *in, size_t n)
{
    char buf[129];
    if (n > 64) { return NULL; }
    cba_hex_encode(buf, in, n);
    return json_object_new_string(buf);
}

static json_object *str_or_null(const char *s)
{
    return s[0] != '\0' ? json_object_new_string(s) : NULL;
}

json_object *bundle_to_json(const bundle *b)
{
    json_object *o = json_object_new_object();
    if (o == NULL) { return NULL; }
    json_object_object_add(o, "format", json_object_new_string(BUNDLE_FORMAT));
    json_object_object_add(o, "lease", json_object_new_string(b->lease));
    json_object_object_add(o, "provider", json_object_new_string(b->provider));
    json_object_object_add(o, "cloud_id", json_object_new_string(b->cloud_id));
    json_object_object_add(o, "time", json_object_new_int64(b->time));
    json_object_object_add(o, "verdict", json_object_new_string(b->verdict));
    json_object_object_add(o, "failed_check", str_or_null(b->failed_check));
    json_object_object_add(o, "error", str_or_null(b->error));
    json_object_object_add(o, "detail", json_object_new_string(b->detail));
    json_object_object_add(o, "nonce", b->has_nonce ? hex_json(b->nonce, 32) : NULL);
    json_object_object_add(o, "fresh", json_object_new_boolean(b->fresh));
    json_object_object_add(o, "host_key", b64_json(b->host_key, b->host_key_len));
    json_object_object_add(o, "expected_app_id", b->has_app_id ? hex_json(b->app_id, 20) : NULL);
    json_object_object_add(o, "compose", b64_json(b->compose, b->compose_len));
    json_object_object_add(o, "pre_launch_script", b64_json(b->pre_launch_script, b->pre_launch_script_len));
    json_object_object_add(o, "info", b64_json(b->info, b->info_len));
    json_object_object_add(o, "quote", b64_json(b->quote, b->quote_len));
    if (b->quote_event_log != NULL) {
        json_object_object_add(o, "quote_event_log", b64_json(b->quote_event_log, b->quote_event_log_len));
    }
    json_object_object_add(o, "collateral", b64_json(b->collateral, b->collateral_len));
    json_object_object_add(o, "collateral_source", str_or_null(b->collateral_source));
    json_object_object_add(o, "dcap", json_object_new_string(b->dcap_skipped ? "skipped" : "checked"));
    json_object_object_add(o, "test_root", json_object_new_boolean(b->test_root));
    json_object_object_add(o, "verifier_version", json_object_new_string(cba_version()));
    json_object_object_add(o, "mac", b->has_mac ? hex_json(b->mac, 32) : NULL);
    return o;
}

/* ---- reading ------------------------------------------------------------------------------------ */

typedef struct rd {
    json_object *o;
    const char *path;
    char *errbuf;
    size_t errlen;
} rd;

__attribute__((format(printf, 2, 3))) static int rd_fail(rd *r, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->errbuf, r->errlen, "bundle %s: %s", r->path, msg);
    return -1;
}

/* rd_get returns the member (NULL for JSON null or absent with optional) and checks its type. */
static bool rd_get(rd *r, const char *key, json_type type, bool optional, json_object **out)
{
    json_object *v = NULL;
    bool present = json_object_object_get_ex(r->o, key, &v);
    *out = NULL;
    if (!present || v == NULL) {
        if (!optional) { rd_fail(r, "missing \"%s\"", key); }
        return optional;
    }
    if (!json_object_is_type(v, type)) {
        rd_fail(r, "\"%s\" has the wrong type", key);
        return false;
    }
    *out = v;
    return true;
}

static bool rd_str(rd *r, const char *key, bool optional, char *out, size_t out_len)
{
    json_object *v;
    out[0] = '\0';
    if (!rd_get(r, key, json_type_string, optional, &v)) { return false; }
    if (v == NULL) { return true; }
    if ((size_t)json_object_get_string_len(v) >= out_len) {
        rd_fail(r, "\"%s\" is too long", key);
        return false;
    }
    memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
    return true;
}

static bool rd_b64(rd *r, const char *key, uint8_t **out, size_t *out_len)
{
    json_object *v;
    if (!rd_get(r, key, json_type_string, true, &v)) { return false; }
    if (v == NULL) { return true; }
    if (!b64_decode(json_object_get_string(v), (size_t)json_object_get_string_len(v), out, out_len)) {
        rd_fail(r, "\"%s\" is not valid base64", key);
        return false;
    }
    return true;
}

static bool rd_hex(rd *r, const char *key, uint8_t *out, size_t n, bool *present)
{
    json_object *v;
    *present = false;
    if (!rd_get(r, key, json_type_string, true, &v)) { return false; }
    if (v == NULL) { return true; }
    if (!cba_hex_decode(out, n, json_object_get_string(v), (size_t)json_object_get_string_len(v))) {
        rd_fail(r, "\"%s\" must be %zu hex digits", key, 2 * n);
        return false;
    }
    *present = true;
    return true;
}

int bundle_load(const char *path, bundle *out, char *errbuf, size_t errlen)
{
    uint8_t *text = NULL;
    size_t text_len = 0;
    int e, rc;

    bundle_init(out);
    e = tc_read_file(path, BUNDLE_MAX_FILE, 0u, &text, &text_len);
    if (e != 0) {
        snprintf(errbuf, errlen, "bundle %s: %s", path,
                 e == EFBIG ? "too large" : e == EINVAL ? "not a regular file" : strerror(e));
        return -1;
    }
    rc = bundle_parse(text, text_len, path, out, errbuf, errlen);
    free(text);
    return rc;
}

int bundle_parse(const uint8_t *text, size_t text_len, const char *path, bundle *out, char *errbuf,
                 size_t errlen)
{
    json_tokener *tok;
    json_object *v;
    char format[64], dcap[16];
    rd r = { .path = path, .errbuf = errbuf, .errlen = errlen };
    bool ok;

    bundle_init(out);
    if (text_len > BUNDLE_MAX_FILE) {
        snprintf(errbuf, errlen, "bundle %s: too large", path);
        return -1;
    }
    tok = json_tokener_new();
    if (tok == NULL) {
        snprintf(errbuf, errlen, "bundle %s: out of memory", path);
        return -1;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    r.o = json_tokener_parse_ex(tok, (const char *)text, (int)text_len);
    ok = r.o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
         json_object_is_type(r.o, json_type_object);
    json_tokener_free(tok);
    if (!ok) {
        json_object_put(r.o);
        snprintf(errbuf, errlen, "bundle %s: not a JSON object", path);
        return -1;
    }
    ok = rd_str(&r, "format", false, format, sizeof format);
    if (ok && strcmp(format, BUNDLE_FORMAT) != 0) { ok = rd_fail(&r, "unknown format \"%s\"", format) == 0; }
    ok = ok && rd_str(&r, "lease", false, out->lease, sizeof out->lease) &&
         rd_str(&r, "provider", true, out->provider, sizeof out->provider) &&
         rd_str(&r, "cloud_id", true, out->cloud_id, sizeof out->cloud_id) &&
         rd_get(&r, "time", json_type_int, false, &v) && rd_hex(&r, "mac", out->mac, 32, &out->has_mac);
    if (ok) { out->time = json_object_get_int64(v); }
    ok = ok && rd_str(&r, "verdict", false, out->verdict, sizeof out->verdict) &&
         rd_str(&r, "failed_check", true, out->failed_check, sizeof out->failed_check) &&
         rd_str(&r, "error", true, out->error, sizeof out->error) &&
         rd_str(&r, "detail", true, out->detail, sizeof out->detail) &&
         rd_hex(&r, "nonce", out->nonce, 32, &out->has_nonce) && rd_get(&r, "fresh", json_type_boolean, false, &v);
    if (ok) { out->fresh = json_object_get_boolean(v); }
    ok = ok && rd_b64(&r, "host_key", &out->host_key, &out->host_key_len) &&
         rd_hex(&r, "expected_app_id", out->app_id, 20, &out->has_app_id) &&
         rd_b64(&r, "compose", &out->compose, &out->compose_len) &&
         rd_b64(&r, "pre_launch_script", &out->pre_launch_script, &out->pre_launch_script_len) && rd_b64(&r, "info", &out->info, &out->info_len) &&
         rd_b64(&r, "quote", &out->quote, &out->quote_len) &&
         rd_b64(&r, "quote_event_log", &out->quote_event_log, &out->quote_event_log_len) &&
         rd_b64(&r, "collateral", &out->collateral, &out->collateral_len) &&
         rd_str(&r, "collateral_source", true, out->collateral_source, sizeof out->collateral_source) &&
         rd_str(&r, "dcap", false, dcap, sizeof dcap) && rd_get(&r, "test_root", json_type_boolean, false, &v);
    if (ok) { out->test_root = json_object_get_boolean(v); }
    if (ok && strcmp(dcap, "checked") != 0 && strcmp(dcap, "skipped") != 0) {
        ok = rd_fail(&r, "\"dcap\" must be checked or skipped") == 0;
    }
    out->dcap_skipped = ok && strcmp(dcap, "skipped") == 0;
    if (ok && out->fresh && (!out->has_nonce || out->host_key == NULL)) {
        ok = rd_fail(&r, "a fresh quote needs \"nonce\" and \"host_key\"") == 0;
    }
    json_object_put(r.o);
    if (!ok) {
        bundle_free(out);
        return -1;
    }
    return 0;
}
