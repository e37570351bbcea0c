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

/* What the cache holds for this quote's platform. */
typedef struct cache_probe {
    cache_dir cd;                /* fd -1: no cache */
    char name[CACHE_NAME_MAX];   /* the entry's file name */
    cba_buf entry;               /* the entry, when it verified at `now` (owned) */
    int64_t expires;             /* its collateral_expires */
    bool valid;                  /* entry verified at `now` */
} cache_probe;

/* open_cache opens opts' cache directory (an explicit one must work; the default one may not, and
 * is then skipped with a warning) and names the entry. Returns 0 or a status (reported). */
static int open_cache(const cba_fetch_opts *o, const fetch_target *t, cache_probe *c, cba_fetch_result *out)
{
    char path[CACHE_PATH_MAX], err[CACHE_PATH_MAX + 200];
    if (o->no_cache) { return 0; }
    if (o->cache_dir != NULL) {
        if (!cache_open(&c->cd, o->cache_dir, false, err, sizeof err)) {
            return attest_fail(o, out, CBA_FETCH_BAD_ARGUMENT, "--cache-dir: %s", err);
        }
    } else if (!cache_default_path(path, sizeof path, o->env_xdg_cache_home, o->env_home, err, sizeof err) ||
               !cache_open(&c->cd, path, true, err, sizeof err)) {
        attest_warn(o, "warning: cache disabled: %s", err);
    }
    if (c->cd.fd >= 0 && !cache_entry_name(c->name, sizeof c->name, t->fmspc, t->processor_ca, o->trust_root_der,
                                           o->trust_root_der_len)) {
        cache_close(&c->cd);
    }
    return 0;
}

/* take_entry hands the verified cached entry to out. */
static void take_entry(cache_probe *c, cba_fetch_result *out)
{
    free(out->json.data);
    out->json = c->entry;
    c->entry.data = NULL;
    c->entry.len = 0;
    out->verified = true;
    out->from_cache = true;
    out->expires = c->expires;
}

/* probe_cache reads and verifies (again, at `now`: the cache is not trusted) the entry for this
 * platform. True when it is valid and young enough to use without asking the network (then it is
 * in out); else c->valid says whether it can stand in when the network fails. */
static bool probe_cache(const cba_fetch_opts *o, const fetch_target *t, int64_t now, cache_probe *c,
                        cba_fetch_result *out)
{
    char err[CACHE_PATH_MAX + 200], why[400], until[32];
    int64_t mtime = 0, age;
    if (c->cd.fd < 0) { return false; }
    switch (cache_read(&c->cd, c->name, CBA_FETCH_MAX_COLLATERAL, &c->entry, &mtime, err, sizeof err)) {
    case CACHE_HIT: break;
    case CACHE_UNSAFE: attest_warn(o, "warning: ignoring %s", err); return false;
    case CACHE_MISS: return false;
    }
    if (!check_collateral(o, t, c->entry.data, c->entry.len, now, &c->expires, why, sizeof why)) {
        attest_progress(o, "not using cached collateral %s/%s: %s", c->cd.path, c->name, why);
        buf_free(&c->entry);
        return false;
    }
    /* The file's age against the wall clock (not `now`, which may be a past verification time). */
    age = (int64_t)time(NULL) - mtime;
    c->valid = true;
    attest_format_time(until, sizeof until, c->expires);
    if (age >= 0 && age < o->refresh_after) {
        attest_progress(o, "using cached collateral %s/%s (fetched %lld s ago), valid until %s", c->cd.path, c->name,
                        (long long)age, until);
        take_entry(c, out);
        return true;
    }
    attest_progress(o, "cached collateral is %lld s old; refreshing it", (long long)age);
    return false;
}

/* fetch_fresh fetches, verifies and caches collateral for t. Returns 0 or a status (reported). */
static int fetch_fresh(const curl_api *cu, const cba_fetch_opts *o, const fetch_target *t, int64_t now,
                       const cache_probe *c, cba_fetch_result *out)
{
    char why[400], until[32];
    int rc = fetch_network(cu, o, t, out);
    if (rc != 0) { return rc; }
    if (!check_collateral(o, t, out->json.data, out->json.len, now, &out->expires, why, sizeof why)) {
        out->expires = 0;
        return attest_fail(o, out, CBA_FETCH_NOT_VERIFIED, "fetched collateral does not verify: %s", why);
    }
    out->verified = true;
    attest_format_time(until, sizeof until, out->expires);
    attest_progress(o, "collateral verified, valid until %s", until);
    if (c->cd.fd >= 0) {
        int werr = cache_write(&c->cd, c->name, out->json.data, out->json.len);
        if (werr != 0) {
            attest_warn(o, "warning: cannot write cache entry %s/%s: %s", c->cd.path, c->name, strerror(werr));
        } else {
            attest_progress(o, "cached as %s/%s", c->cd.path, c->name);
        }
    }
    return 0;
}

/* fetch_with returns a cba_fetch_status value as an int (attest_fail and the steps speak int). */
static int fetch_with(const curl_api *cu, const cba_fetch_opts *o, const cba_evidence *ev, int64_t now,
                      cba_fetch_result *out)
{
    fetch_target t;
    cache_probe c = { .cd = { .fd = -1, .path = "" } };
    char why[400], until[32];
    bool http_ok, loopback, intel;
    int rc;

    memset(out, 0, sizeof *out);
    /* A bad URL is a usage error even when the cache would have answered. */
    if (!attest_check_url(cu, o->base_url != NULL ? o->base_url : CBA_FETCH_DEFAULT_URL, true, &http_ok, &loopback,
                          &intel, why, sizeof why)) {
        return attest_fail(o, out, CBA_FETCH_BAD_ARGUMENT, "--pccs: %s", why);
    }
    rc = target_from_evidence(o, ev, &t, out);
    if (rc != 0) { return rc; }
    memcpy(out->fmspc, t.fmspc, 6);
    out->processor_ca = t.processor_ca;
    out->have_target = true;
    attest_progress(o, "quote: FMSPC %s, PCK %s CA", t.fmspc_hex, t.processor_ca ? "Processor" : "Platform");

    rc = open_cache(o, &t, &c, out);
    if (rc == 0 && !probe_cache(o, &t, now, &c, out)) {
        rc = fetch_fresh(cu, o, &t, now, &c, out);
        if (rc == CBA_FETCH_UNAVAILABLE && c.valid) {
            attest_format_time(until, sizeof until, c.expires);
            attest_warn(o, "using cached collateral, valid until %s (%s/%s)", until, c.cd.path, c.name);
            take_entry(&c, out);
            out->error[0] = '\0';
            rc = 0;
        }
    }
    cache_close(&c.cd);
    buf_free(&c.entry);
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

