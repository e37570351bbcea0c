/* test_attest_fetch.c — libcrabbox-attest's collateral fetching as a library (crabbox/collateral.h):
 * it reports through the caller's callback only (kinds, the error line equal to result.error,
 * quiet), takes the default cache directory from the environment values it is given (never
 * getenv), and maps bad arguments to its own result codes. No network: the PCCS is a loopback
 * port nothing listens on, tried once. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crabbox/attest.h"
#include "testutil.h"

TestSuite(attest_fetch, .timeout = 60);

#define MAX_NOTES 16

typedef struct notes {
    int num;
    cba_fetch_note kind[MAX_NOTES];
    char line[MAX_NOTES][600];
} notes;

static void record(void *ctx, cba_fetch_note kind, const char *line)
{
    notes *n = ctx;
    cr_assert_not_null(line);
    cr_assert_null(strchr(line, '\n'), "one line: '%s'", line);
    if (n->num < MAX_NOTES) {
        n->kind[n->num] = kind;
        snprintf(n->line[n->num], sizeof n->line[0], "%s", line);
    }
    n->num++;
}

static int count(const notes *n, cba_fetch_note kind)
{
    int c = 0;
    for (int i = 0; i < n->num && i < MAX_NOTES; i++) { c += n->kind[i] == kind; }
    return c;
}

static void opts_for(cba_fetch_opts *o, notes *n)
{
    cba_fetch_opts_init(o);
    o->progress = record;
    o->progress_ctx = n;
    o->base_url = "http://127.0.0.1:1"; /* loopback: plain http allowed; nothing listens */
    o->max_tries = 1;
    o->connect_timeout_ms = 2000;
    o->timeout_ms = 2000;
}

Test(attest_fetch, bad_url_is_bad_argument_with_one_error_note)
{
    static const uint8_t quote[4] = { 4, 0, 2, 0 };
    cba_fetch_opts o;
    cba_fetch_result r;
    cba_evidence ev;
    notes n = { 0 };
    opts_for(&o, &n);
    o.base_url = "http://pccs.example.com"; /* plain http to a non-loopback host */
    cba_evidence_init(&ev);
    ev.quote = quote;
    ev.quote_len = sizeof quote;
    cr_assert_eq(cba_fetch_collateral(&o, &ev, 1752919234, &r), CBA_FETCH_BAD_ARGUMENT);
    cr_assert_eq(n.num, 1, "one note: %d", n.num);
    cr_assert_eq(n.kind[0], CBA_FETCH_NOTE_ERROR);
    cr_assert_str_eq(n.line[0], r.error, "the error note is result.error");
    cr_assert_not_null(strstr(r.error, "only loopback hosts"), "%s", r.error);
    cr_assert_null(r.json.data);
    cba_fetch_result_free(&r);
    cba_fetch_result_free(NULL);
}

Test(attest_fetch, malformed_quote_without_a_callback)
{
    static const uint8_t quote[4] = { 4, 0, 2, 0 };
    cba_fetch_opts o;
    cba_fetch_result r;
    cba_evidence ev;
    notes n = { 0 };
    opts_for(&o, &n);
    o.progress = NULL; /* nothing is reported; the result still says why */
    o.no_cache = true;
    cba_evidence_init(&ev);
    ev.quote = quote;
    ev.quote_len = sizeof quote;
    cr_assert_eq(cba_fetch_collateral(&o, &ev, 1752919234, &r), CBA_FETCH_BAD_QUOTE);
    cr_assert_eq(n.num, 0);
    cr_assert_eq(strncmp(r.error, "quote: ", 7), 0, "%s", r.error);
    cba_fetch_result_free(&r);
}

/* network_down runs a fetch for the real quote against a port nothing listens on. */
static cba_fetch_status network_down(cba_fetch_opts *o, cba_fetch_result *r)
{
    tu_buf q;
    cba_evidence ev;
    cba_fetch_status st;
    TU_REAL_FIXTURE("dcap-qvl-tdx/tdx_quote", &q);
    cba_evidence_init(&ev);
    ev.quote = q.data;
    ev.quote_len = q.len;
    st = cba_fetch_collateral(o, &ev, 1752919234, r);
    tu_buf_free(&q);
    return st;
}

Test(attest_fetch, progress_and_default_cache_from_the_given_environment)
{
    char dir[] = "/tmp/test_attest_fetch.XXXXXX", cache[128];
    cba_fetch_opts o;
    cba_fetch_result r;
    notes n = { 0 };
    struct stat st;
    cr_assert_not_null(mkdtemp(dir));
    opts_for(&o, &n);
    o.env_xdg_cache_home = dir; /* the library's default cache: $XDG_CACHE_HOME/crabbox-attest */
    o.env_home = "/nonexistent-home";
    cr_assert_eq(network_down(&o, &r), CBA_FETCH_UNAVAILABLE, "%s", r.error);
    snprintf(cache, sizeof cache, "%s/crabbox-attest", dir);
    cr_assert_eq(stat(cache, &st), 0, "the cache directory was made from env_xdg_cache_home");
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_eq(st.st_mode & 0777, 0700);
    cr_assert_eq(r.have_target, true);
    cr_assert_str_eq(n.line[0], "quote: FMSPC b0c06f000000, PCK Platform CA");
    cr_assert_eq(n.kind[0], CBA_FETCH_NOTE_PROGRESS);
    cr_assert_eq(count(&n, CBA_FETCH_NOTE_ERROR), 1);
    cr_assert_eq(n.kind[n.num - 1], CBA_FETCH_NOTE_ERROR, "the error comes last");
    cr_assert_str_eq(n.line[n.num - 1], r.error);
    cr_assert_not_null(strstr(r.error, "PCK CRL (platform CA)"), "%s", r.error);
    cba_fetch_result_free(&r);
    rmdir(cache);
    rmdir(dir);
}

Test(attest_fetch, quiet_keeps_warnings_and_the_error)
{
    cba_fetch_opts o;
    cba_fetch_result r;
    notes n = { 0 };
    opts_for(&o, &n);
    o.quiet = true;
    o.env_xdg_cache_home = "relative/is/ignored"; /* XDG: a relative value is invalid */
    o.env_home = NULL;                            /* then the password database's home */
    o.cache_dir = NULL;
    o.no_cache = true; /* (do not touch the real home's cache) */
    cr_assert_eq(network_down(&o, &r), CBA_FETCH_UNAVAILABLE);
    cr_assert_eq(count(&n, CBA_FETCH_NOTE_PROGRESS), 0, "quiet: no progress");
    cr_assert_eq(count(&n, CBA_FETCH_NOTE_ERROR), 1);
    cr_assert_str_eq(n.line[n.num - 1], r.error);
    cba_fetch_result_free(&r);
}

Test(attest_fetch, unusable_default_cache_is_a_warning)
{
    cba_fetch_opts o;
    cba_fetch_result r;
    notes n = { 0 };
    opts_for(&o, &n);
    o.quiet = true;
    o.env_xdg_cache_home = "/proc/no-such-dir-can-be-made"; /* cannot be created */
    cr_assert_eq(network_down(&o, &r), CBA_FETCH_UNAVAILABLE);
    cr_assert_eq(count(&n, CBA_FETCH_NOTE_WARNING), 1, "notes: %d", n.num);
    cr_assert_eq(strncmp(n.line[0], "warning: cache disabled: ", 25), 0, "%s", n.line[0]);
    cba_fetch_result_free(&r);
}

Test(attest_fetch, status_names_and_messages)
{
    for (int i = 0; i < CBA_FETCH_STATUS_COUNT; i++) {
        cr_assert_eq(strncmp(cba_fetch_status_name((cba_fetch_status)i), "CBA_FETCH_", 10), 0);
        cr_assert_neq(cba_fetch_status_message((cba_fetch_status)i)[0], '\0');
    }
    cr_assert_str_eq(cba_fetch_status_name(CBA_FETCH_STATUS_COUNT), "CBA_FETCH_UNKNOWN");
}
