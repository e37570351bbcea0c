/* hints.h — what a command line adds to a verification report: the verifier core describes
 * outcomes without naming any tool's flags (issue 15); crabbox-attest and the crabbox host put the
 * way out back, each in its own vocabulary, from the check and the core's detail. */
#ifndef CRABBOX_TOOLS_HINTS_H
#define CRABBOX_TOOLS_HINTS_H

#include "crabbox/verifier.h"

typedef enum tc_hint_audience {
    TC_HINTS_ATTEST, /* crabbox-attest verify / collateral fetch: its flags */
    TC_HINTS_HOST,   /* crabbox: its flags and configuration keys */
} tc_hint_audience;

/* tc_report_add_hints completes, in place, the check details and the error detail of a report
 * from cba_verify / cba_verify_with with the flag (or key) that changes the outcome. Only the
 * core's own texts listed in hints.c are touched; applying it twice changes nothing more. */
void tc_report_add_hints(cba_report *r, tc_hint_audience who);

#endif
