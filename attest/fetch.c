/* fetch.c — DCAP collateral for a quote (crabbox/collateral.h): the verified cache first, then the
 * network (network.c), then verification; a still-valid cached entry stands in when the network
 * fails. Only collateral that cba_collateral_verify accepts and that is for the quote's platform
 * is cached or returned as verified. Reports through the caller's callback (notes.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "fetch_internal.h"
#include "network.h"

void cba_fetch_opts_init(cba_fetch_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->timeout_ms = CBA_FETCH_DEFAULT_TIMEOUT_MS;
    opts->connect_timeout_ms = CBA_FETCH_DEFAULT_CONNECT_MS;
    opts->max_tries = CBA_FETCH_DEFAULT_TRIES;
    opts->refresh_after = CBA_FETCH_DEFAULT_REFRESH_AFTER;
}

static void buf_free(cba_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

void cba_fetch_result_free(cba_fetch_result *r)
{
    if (r == NULL) { return; }
    buf_free(&r->json);
}

/* fetch_with returns a cba_fetch_status value as an int (attest_fail and the steps speak int). */
static int fetch_with(const curl_api *cu, const cba_fetch_opts *o, const cba_evidence *ev, int64_t now,
                      cba_fetch_result *out)
{
    fetch_target t;
    cache_dir cd = { .fd = -1, .path = "" };
    cba_buf cached = { 0 };
    char name[CACHE_NAME_MAX], err[CACHE_PATH_MAX + 200], why[400], until[32];
    int64_t cached_expires = 0, mtime = 0;
    bool cached_valid = false;
    int rc;

    memset(out, 0, sizeof *out);
    {
        /* A bad URL is a usage error even when the cache would have answered. */
        bool http_ok, loopback, intel;
        if (!attest_check_url(cu, o->base_url != NULL ? o->base_url : CBA_FETCH_DEFAULT_URL, true, &http_ok, &loopback, &intel,
                       why, sizeof why)) {
            return attest_fail(o, out, CBA_FETCH_BAD_ARGUMENT, "--pccs: %s", why);
        }
    }
    rc = target_from_evidence(o, ev, &t, out);
    if (rc != 0) { return rc; }
    memcpy(out->fmspc, t.fmspc, 6);
    out->processor_ca = t.processor_ca;
    out->have_target = true;
    attest_progress(o, "quote: FMSPC %s, PCK %s CA", t.fmspc_hex, t.processor_ca ? "Processor" : "Platform");

    if (!o->no_cache) {
        char path[CACHE_PATH_MAX];
        if (o->cache_dir != NULL) {
            if (!cache_open(&cd, o->cache_dir, false, err, sizeof err)) {
                return attest_fail(o, out, CBA_FETCH_BAD_ARGUMENT, "--cache-dir: %s", err);
            }
        } else if (!cache_default_path(path, sizeof path, o->env_xdg_cache_home, o->env_home, err, sizeof err) ||
                   !cache_open(&cd, path, true, err, sizeof err)) {
            attest_warn(o, "warning: cache disabled: %s", err);
        }
    }
    if (cd.fd >= 0 &&
        !cache_entry_name(name, sizeof name, t.fmspc, t.processor_ca, o->trust_root_der, o->trust_root_der_len)) {
        cache_close(&cd);
    }
    if (cd.fd >= 0) {
        switch (cache_read(&cd, name, CBA_FETCH_MAX_COLLATERAL, &cached, &mtime, err, sizeof err)) {
        case CACHE_HIT:
            /* The cache is not trusted: the entry is verified again, at this `now`. */
            if (check_collateral(o, &t, cached.data, cached.len, now, &cached_expires, why, sizeof why)) {
                int64_t age = (int64_t)time(NULL) - mtime;
                cached_valid = true;
                attest_format_time(until, sizeof until, cached_expires);
                if (age >= 0 && age < o->refresh_after) {
                    attest_progress(o, "using cached collateral %s/%s (fetched %lld s ago), valid until %s", cd.path,
                             name, (long long)age, until);
                    out->json = cached;
                    cached.data = NULL;
                    cached.len = 0;
                    out->verified = true;
                    out->from_cache = true;
                    out->expires = cached_expires;
                    goto out;
                }
                attest_progress(o, "cached collateral is %lld s old; refreshing it", (long long)age);
            } else {
                attest_progress(o, "not using cached collateral %s/%s: %s", cd.path, name, why);
                buf_free(&cached);
            }
            break;
        case CACHE_UNSAFE:
            attest_warn(o, "warning: ignoring %s", err);
            break;
        case CACHE_MISS:
            break;
        }
    }

    rc = fetch_network(cu, o, &t, out);
    if (rc == CBA_FETCH_UNAVAILABLE && cached_valid) {
        attest_format_time(until, sizeof until, cached_expires);
        attest_warn(o, "using cached collateral, valid until %s (%s/%s)", until, cd.path, name);
        buf_free(&out->json);
        out->json = cached;
        cached.data = NULL;
        cached.len = 0;
        out->verified = true;
        out->from_cache = true;
        out->expires = cached_expires;
        out->error[0] = '\0';
        rc = 0;
        goto out;
    }
    if (rc != 0) { goto out; }
    if (!check_collateral(o, &t, out->json.data, out->json.len, now, &out->expires, why, sizeof why)) {
        out->expires = 0;
        rc = attest_fail(o, out, CBA_FETCH_NOT_VERIFIED, "fetched collateral does not verify: %s", why);
        goto out;
    }
    out->verified = true;
    attest_format_time(until, sizeof until, out->expires);
    attest_progress(o, "collateral verified, valid until %s", until);
    if (cd.fd >= 0) {
        int werr = cache_write(&cd, name, out->json.data, out->json.len);
        if (werr != 0) {
            attest_warn(o, "warning: cannot write cache entry %s/%s: %s", cd.path, name, strerror(werr));
        } else {
            attest_progress(o, "cached as %s/%s", cd.path, name);
        }
    }
out:
    cache_close(&cd);
    buf_free(&cached);
    return rc;
}


static cba_fetch_status to_status(int rc)
{
    return rc >= 0 && rc < (int)CBA_FETCH_STATUS_COUNT ? (cba_fetch_status)rc : CBA_FETCH_INTERNAL;
}

cba_fetch_status fetch_collateral_with(const curl_api *cu, const cba_fetch_opts *o, const cba_evidence *ev,
                                       int64_t now, cba_fetch_result *out)
{
    return to_status(fetch_with(cu, o, ev, now, out));
}

cba_fetch_status cba_fetch_collateral(const cba_fetch_opts *o, const cba_evidence *ev, int64_t now,
                                      cba_fetch_result *out)
{
    curl_api cu;
    char why[300];
    cba_fetch_status st;
    cba_fetch_opts local = *o;
    char base[ATTEST_MAX_URL / 2];
    memset(out, 0, sizeof *out);
    /* The URL forms people copy: the bare host, or the base with /sgx|tdx/certification/v4. */
    if (o->base_url != NULL) {
        if (!fetch_normalize_base_url(o->base_url, base, sizeof base)) {
            return to_status(attest_fail(o, out, CBA_FETCH_BAD_ARGUMENT,
                                  "--pccs: \"%.100s\" is not a PCS/PCCS URL (e.g. https://pccs.example:8081)",
                                  o->base_url));
        }
        local.base_url = base;
    }
    if (!curl_api_open(&cu, why, sizeof why)) { return to_status(attest_fail(o, out, CBA_FETCH_UNAVAILABLE, "%s", why)); }
    st = fetch_collateral_with(&cu, &local, ev, now, out);
    curl_api_close(&cu);
    return st;
}

static const struct { const char *name, *msg; } k_fetch_statuses[] = {
#define CBA_X_ROW(name, msg) [name] = { #name, msg },
    CBA_FETCH_STATUSES(CBA_X_ROW)
#undef CBA_X_ROW
};
_Static_assert(sizeof k_fetch_statuses / sizeof k_fetch_statuses[0] == CBA_FETCH_STATUS_COUNT, "one row per status");

const char *cba_fetch_status_name(cba_fetch_status status)
{
    return (unsigned)status < CBA_FETCH_STATUS_COUNT ? k_fetch_statuses[status].name : "CBA_FETCH_UNKNOWN";
}

const char *cba_fetch_status_message(cba_fetch_status status)
{
    return (unsigned)status < CBA_FETCH_STATUS_COUNT ? k_fetch_statuses[status].msg : "unknown fetch status";
}

