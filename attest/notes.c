/* notes.c — what collateral fetching tells its caller: through opts->progress only (no stdio). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fetch_internal.h"

static void note(const cba_fetch_opts *o, cba_fetch_note kind, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void note(const cba_fetch_opts *o, cba_fetch_note kind, const char *fmt, va_list ap)
{
    char line[1024];
    if (o == NULL || o->progress == NULL) { return; }
    vsnprintf(line, sizeof line, fmt, ap);
    o->progress(o->progress_ctx, kind, line);
}

int attest_fail(const cba_fetch_opts *o, cba_fetch_result *res, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
    if (o != NULL && o->progress != NULL) { o->progress(o->progress_ctx, CBA_FETCH_NOTE_ERROR, res->error); }
    return code;
}

void attest_progress(const cba_fetch_opts *o, const char *fmt, ...)
{
    va_list ap;
    if (o->quiet) { return; }
    va_start(ap, fmt);
    note(o, CBA_FETCH_NOTE_PROGRESS, fmt, ap);
    va_end(ap);
}

void attest_warn(const cba_fetch_opts *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    note(o, CBA_FETCH_NOTE_WARNING, fmt, ap);
    va_end(ap);
}

void attest_printable(char *out, size_t out_len, const char *in, size_t in_len)
{
    size_t j = 0;
    for (size_t i = 0; i < in_len && j + 1 < out_len; i++) {
        unsigned char ch = (unsigned char)in[i];
        out[j++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[j] = '\0';
}

void attest_format_time(char *out, size_t out_len, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, out_len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(out, out_len, "%lld", (long long)t);
    }
}
