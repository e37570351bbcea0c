/* err.c — the error table, check names and cba_fail. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const struct {
    const char *name, *msg;
} k_errors[] = {
#define CBA_X_ROW(name, msg) [name] = { #name, msg },
    CBA_ERRORS(CBA_X_ROW)
#undef CBA_X_ROW
};
_Static_assert(sizeof k_errors / sizeof k_errors[0] == CBA_ERR_COUNT, "one row per code");

static const char *const k_checks[] = {
#define CBA_X_ROW(name, str) [name] = str,
    CBA_CHECKS(CBA_X_ROW)
#undef CBA_X_ROW
};
_Static_assert(sizeof k_checks / sizeof k_checks[0] == CBA_CHECK_COUNT, "one name per check");

static const char *const k_statuses[] = {
#define CBA_X_ROW(name, str) [name] = str,
    CBA_TCB_STATUSES(CBA_X_ROW)
#undef CBA_X_ROW
};
_Static_assert(sizeof k_statuses / sizeof k_statuses[0] == CBA_TCB_STATUS_COUNT, "one per status");

const char *cba_err_name(cba_err code)
{
    return (unsigned)code < CBA_ERR_COUNT ? k_errors[code].name : "CBA_E_UNKNOWN";
}

const char *cba_err_message(cba_err code)
{
    return (unsigned)code < CBA_ERR_COUNT ? k_errors[code].msg : "unknown error";
}

const char *cba_check_name(cba_check check)
{
    return (unsigned)check < CBA_CHECK_COUNT ? k_checks[check] : "none";
}

const char *cba_check_status_name(cba_check_status status)
{
    switch (status) {
    case CBA_CHECK_PASS: return "pass";
    case CBA_CHECK_FAIL: return "fail";
    case CBA_CHECK_SKIP: return "skip";
    case CBA_CHECK_NOT_RUN: break;
    }
    return "not_run";
}

const char *cba_tcb_status_name(cba_tcb_status status)
{
    return (unsigned)status < CBA_TCB_STATUS_COUNT ? k_statuses[status] : "";
}

bool cba_tcb_status_parse(const char *name, size_t name_len, cba_tcb_status *out)
{
    for (unsigned i = 1; i < CBA_TCB_STATUS_COUNT; i++) {
        if (strlen(k_statuses[i]) == name_len && memcmp(k_statuses[i], name, name_len) == 0) {
            *out = (cba_tcb_status)i;
            return true;
        }
    }
    return false;
}

/* cba_error_clear, cba_fail, cba_ct_eq, cba_hex_decode, cba_hex_encode: base/base.c. */

static const struct {
    const char *name;
    size_t size;
} k_pin_fields[] = {
#define CBA_X_ROW(name, str, size) [name] = { str, size },
    CBA_PIN_FIELDS(CBA_X_ROW)
#undef CBA_X_ROW
};
_Static_assert(sizeof k_pin_fields / sizeof k_pin_fields[0] == CBA_PIN_COUNT, "one row per pin field");

const char *cba_pin_field_name(cba_pin_field field)
{
    return (unsigned)field < CBA_PIN_COUNT ? k_pin_fields[field].name : "";
}

size_t cba_pin_field_size(cba_pin_field field)
{
    return (unsigned)field < CBA_PIN_COUNT ? k_pin_fields[field].size : 0;
}
