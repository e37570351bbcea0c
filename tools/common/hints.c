/* hints.c — see hints.h. The core texts matched here are verifier/src's (verify.c,
 * verify_pipeline.c); tests/cli keeps the CLI's output byte-identical to what the core printed
 * when it named the flags itself. */
#include "hints.h"

#include <stdio.h>
#include <string.h>

typedef enum hint_how {
    HINT_REPLACE, /* the whole detail is the core text; the hint replaces it */
    HINT_APPEND,  /* the detail starts with `core` and ends with `core_end`; the hint is appended */
} hint_how;

typedef struct hint {
    cba_check check;       /* CBA_CHECK_COUNT: any check */
    hint_how how;
    const char *core;      /* the core's text (REPLACE), or its beginning (APPEND) */
    const char *core_end;  /* APPEND: how the core's text ends */
    const char *attest;    /* crabbox-attest's text; NULL: unchanged */
    const char *host;      /* the crabbox host's text; NULL: unchanged */
} hint;

static const hint k_hints[] = {
    /* a DCAP check without collateral (verify.c dcap_missing) */
    { CBA_CHECK_COUNT, HINT_REPLACE, "no collateral given (the DCAP checks need it)", NULL,
      "give --collateral FILE or --pccs URL, or --no-dcap to verify without it", NULL },
    /* a DCAP check skipped by policy->skip_dcap (verify_pipeline.c) */
    { CBA_CHECK_COUNT, HINT_REPLACE, "skipped by the policy (skip_dcap: no collateral checks)", NULL,
      "skipped by --no-dcap (no collateral checks)", NULL },
    { CBA_CHECK_REPORT_DATA, HINT_REPLACE, "no binding requested", NULL,
      "no binding requested (give --report-data)", NULL },
    { CBA_CHECK_TCB_STATUS, HINT_APPEND, "TCB status ", " is not accepted by the policy", " (see --accept)",
      " (see --accept-tcb-status or acceptTcbStatus)" },
    { CBA_CHECK_TCB_STATUS, HINT_APPEND, "advisory ", " is not allowed by the policy", " (see --allow-advisory)",
      " (see --allowed-advisories or allowedAdvisories)" },
};

static bool ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n >= m && memcmp(s + n - m, end, m) == 0;
}

/* complete rewrites one detail (capacity cap) of check `check` when a hint matches it. */
static void complete(char *detail, size_t cap, cba_check check, tc_hint_audience who)
{
    for (size_t i = 0; i < sizeof k_hints / sizeof k_hints[0]; i++) {
        const hint *h = &k_hints[i];
        const char *text = who == TC_HINTS_HOST ? h->host : h->attest;
        if (text == NULL || (h->check != CBA_CHECK_COUNT && h->check != check)) { continue; }
        if (h->how == HINT_REPLACE && strcmp(detail, h->core) == 0) {
            snprintf(detail, cap, "%s", text);
            return;
        }
        if (h->how == HINT_APPEND && strncmp(detail, h->core, strlen(h->core)) == 0 &&
            ends_with(detail, h->core_end)) {
            size_t len = strlen(detail);
            snprintf(detail + len, cap - len, "%s", text);
            return;
        }
    }
}

void tc_report_add_hints(cba_report *r, tc_hint_audience who)
{
    if (r == NULL) { return; }
    for (int i = 0; i < CBA_CHECK_COUNT; i++) {
        complete(r->checks[i].detail, sizeof r->checks[i].detail, (cba_check)i, who);
    }
    if (r->failed_check < CBA_CHECK_COUNT) {
        complete(r->error.detail, sizeof r->error.detail, r->failed_check, who);
    }
}
