/* attestlib.c — the host's calls into crabbox-attest's fetch and bundle code (attestlib.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "attestlib.h"
#include "crabbox/collateral.h"

/* collateral_note prints libcrabbox-attest's fetch progress, warnings and errors on stderr, as
 * crabbox-attest does (the same lines from the same code). */
static void collateral_note(void *ctx, cba_fetch_note kind, const char *line)
{
    (void)ctx;
    (void)kind;
    fprintf(stderr, "crabbox-attest: %s\n", line);
}

int attestlib_fetch_collateral(void *ctx, const cba_evidence *ev, int64_t now, cbx_buf *out, char *source,
                               size_t source_len, char *why, size_t why_len)
{
    const collateral_fetch_cfg *cfg = ctx;
    const char *url = cfg->pccs_url != NULL ? cfg->pccs_url : CBA_FETCH_DEFAULT_URL;
    cba_fetch_opts o;
    cba_fetch_result r;
    cba_fetch_status st;
    cba_fetch_opts_init(&o);
    o.progress = collateral_note;
    o.env_xdg_cache_home = getenv("XDG_CACHE_HOME");
    o.env_home = getenv("HOME");
    o.base_url = cfg->pccs_url;
    o.trust_root_der = cfg->trust_root_der;
    o.trust_root_der_len = cfg->trust_root_der_len;
    o.quiet = cfg->quiet;
    fprintf(stderr, "crabbox: DCAP collateral for this quote: the local cache, else %s\n",
            o.base_url != NULL ? o.base_url : "Intel PCS");
    st = cba_fetch_collateral(&o, ev, now, &r);
    if (r.json.data != NULL && (st == CBA_FETCH_OK || st == CBA_FETCH_NOT_VERIFIED)) {
        out->data = r.json.data;
        out->len = r.json.len;
        r.json.data = NULL;
        r.json.len = 0;
        snprintf(source, source_len, "%s%.200s", r.from_cache ? "cache, from " : "fetched from ", url);
        cba_fetch_result_free(&r);
        return 0;
    }
    snprintf(why, why_len, "tried the local collateral cache, then %s: %.200s", url,
             r.error[0] != '\0' ? r.error : "collateral could not be fetched");
    cba_fetch_result_free(&r);
    return -1;
}

/* authenticated_json is the bundle document with its MAC (bundle.h) when the key is there. */
static json_object *authenticated_json(const bundle *b)
{
    bundle tmp = *b; /* a shallow copy carries the MAC */
    uint8_t key[32];
    json_object *o;
    int ke = bundle_key_load(key, true);
    if (ke == 0 && bundle_mac(b, key, tmp.mac)) {
        tmp.has_mac = true;
    } else {
        fprintf(stderr, "crabbox: warning: the evidence bundle is not authenticated: no bundle key (%s)\n",
                ke != 0 ? strerror(ke) : "MAC failed");
    }
    explicit_bzero(key, sizeof key);
    o = bundle_to_json(&tmp);
    return o;
}

bool attestlib_save_bundle(const char *evidence_dir, const bundle *b, char *out_path, size_t out_len)
{
    uint8_t r[2];
    json_object *o;
    const char *text;
    int e;
    if (!cbx_random(r, 2) ||
        snprintf(out_path, out_len, "%s/%s-%lld-%02x%02x.json", evidence_dir, b->lease, (long long)b->time, r[0],
                 r[1]) >= (int)out_len) {
        return false;
    }
    o = authenticated_json(b);
    if (o == NULL) { return false; }
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    e = text != NULL ? cbx_write_file_atomic(out_path, text, strlen(text), 0600) : ENOMEM;
    json_object_put(o);
    if (e != 0) {
        fprintf(stderr, "crabbox: cannot save the evidence bundle %s: %s\n", out_path, strerror(e));
        return false;
    }
    return true;
}

bool attestlib_save_skipped_bundle(const char *evidence_dir, const char *lease, const char *provider,
                                   const char *cloud_id, const char *why, char *out_path, size_t out_len)
{
    bundle b;
    bundle_init(&b);
    snprintf(b.lease, sizeof b.lease, "%s", lease);
    snprintf(b.provider, sizeof b.provider, "%s", provider);
    snprintf(b.cloud_id, sizeof b.cloud_id, "%s", cloud_id);
    b.time = cbx_now_unix();
    b.dcap_skipped = true;
    snprintf(b.verdict, sizeof b.verdict, "skipped");
    snprintf(b.detail, sizeof b.detail, "attestation turned off by %.200s", why);
    return attestlib_save_bundle(evidence_dir, &b, out_path, out_len);
}

const char *attestlib_bundle_auth(const char *path)
{
    bundle b;
    char msg[400];
    const char *auth;
    if (bundle_load(path, &b, msg, sizeof msg) != 0) { return "unreadable"; }
    auth = bundle_auth_name(bundle_check_auth(&b));
    bundle_free(&b);
    return auth;
}
