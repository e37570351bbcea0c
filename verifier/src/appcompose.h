/* appcompose.h — the app-compose policy (check app_compose; rules in crabbox/verifier.h). */
#ifndef CBA_APPCOMPOSE_H
#define CBA_APPCOMPOSE_H

#include "internal.h"

typedef struct cba_app_compose_result {
    bool has_runner, has_compose, has_script;
    uint8_t script_sha256[32]; /* when has_script */
    cba_script_match match;
} cba_app_compose_result;

/* cba_app_compose_check applies `policy` to the app-compose JSON text. Returns CBA_OK, or
 * CBA_E_APP_COMPOSE_POLICY naming the member and both values (CBA_E_INTERNAL on a hash failure).
 * *res says how the pre_launch_script passed. */
CBA_MUST_USE cba_err cba_app_compose_check(cba_error *err, cba_app_compose_result *res,
                                           const cba_app_compose_policy *policy, cbs app_compose);

#endif
