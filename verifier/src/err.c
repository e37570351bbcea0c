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

void cba_error_clear(cba_error *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->code = CBA_OK;
    }
}

cba_err cba_fail(cba_error *err, cba_err code, const char *where, const char *fmt, ...)
{
    if (err != NULL && err->code == CBA_OK) {
        va_list ap;
        err->code = code;
        snprintf(err->where, sizeof err->where, "%s", where ? where : "");
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof err->detail, fmt, ap);
        va_end(ap);
    }
    return code;
}

bool cba_ct_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) { d |= (uint8_t)(a[i] ^ b[i]); }
    return d == 0;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

bool cba_hex_decode(uint8_t *out, size_t out_len, const char *hex, size_t hex_len)
{
    if (out_len > SIZE_MAX / 2 || hex_len != out_len * 2) { return false; }
    for (size_t i = 0; i < hex_len; i++) {
        if (hex_val(hex[i]) < 0) { return false; }
    }
    for (size_t i = 0; i < out_len; i++) {
        out[i] = (uint8_t)(hex_val(hex[2 * i]) << 4 | hex_val(hex[2 * i + 1]));
    }
    return true;
}

void cba_hex_encode(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}

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
