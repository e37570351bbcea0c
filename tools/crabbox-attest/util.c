/* util.c — file reading, hex and time parsing for crabbox-attest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "base.h"
#include "fileio.h"
#include "quote_input.h"

bool cli_read_file(const char *path, size_t cap, cli_buf *out)
{
    int e = tc_read_file(path, cap, TC_READ_STDIN_DASH, &out->data, &out->len);
    if (e == 0) { return true; }
    if (e == EFBIG) {
        fprintf(stderr, "crabbox-attest: %s is larger than %zu bytes\n", path, cap);
    } else if (e == EINVAL) {
        fprintf(stderr, "crabbox-attest: %s is not a regular file\n", path);
    } else {
        fprintf(stderr, "crabbox-attest: cannot open %s: %s\n", path, strerror(e));
    }
    return false;
}

void cli_buf_free(cli_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

bool cli_parse_hex(uint8_t *out, size_t n, const char *text)
{
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) { text += 2; }
    return cba_hex_decode(out, n, text, strlen(text)); /* base/base.c */
}

void cli_hex(char *out, const uint8_t *in, size_t n)
{
    cba_hex_encode(out, in, n);
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* digits reads exactly n decimal digits at text[*i]. */
static bool digits(const char *text, size_t *i, int n, int *out)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        char c = text[*i];
        if (c < '0' || c > '9') { return false; }
        v = v * 10 + (c - '0');
        (*i)++;
    }
    *out = v;
    return true;
}

bool cli_parse_time(const char *text, int64_t *out)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0;
    size_t i = 0;
    int64_t t;
    if (text[0] >= '0' && text[0] <= '9' && strspn(text, "0123456789") == strlen(text)) {
        char *end;
        unsigned long long v;
        errno = 0;
        v = strtoull(text, &end, 10);
        if (errno != 0 || *end != '\0' || v > (unsigned long long)INT64_MAX / 2) { return false; }
        *out = (int64_t)v;
        return true;
    }
    /* RFC 3339 date-time: full-date ("T" / "t" / " ") full-time, with time-secfrac and
     * time-offset ("Z" / "z" / +hh:mm / -hh:mm). Fractions are dropped (whole seconds). */
    if (!digits(text, &i, 4, &y) || text[i++] != '-' || !digits(text, &i, 2, &mo) || text[i++] != '-' ||
        !digits(text, &i, 2, &d)) {
        return false;
    }
    if (text[i] != 'T' && text[i] != 't' && text[i] != ' ') { return false; }
    i++;
    if (!digits(text, &i, 2, &h) || text[i++] != ':' || !digits(text, &i, 2, &mi) || text[i++] != ':' ||
        !digits(text, &i, 2, &s)) {
        return false;
    }
    if (text[i] == '.') {
        size_t f = ++i;
        while (text[i] >= '0' && text[i] <= '9') { i++; }
        if (i == f || i - f > 9) { return false; }
    }
    if (text[i] == 'Z' || text[i] == 'z') {
        i++;
    } else if (text[i] == '+' || text[i] == '-') {
        sign = text[i++] == '+' ? 1 : -1;
        if (!digits(text, &i, 2, &oh) || text[i++] != ':' || !digits(text, &i, 2, &om) || oh > 23 || om > 59) {
            return false;
        }
    } else {
        return false; /* RFC 3339 requires an offset: a local time is ambiguous */
    }
    if (text[i] != '\0') { return false; }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 59) {
        return false;
    }
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) { return false; }
    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - sign * (oh * 3600 + om * 60);
    if (t < 0) { return false; }
    *out = t;
    return true;
}

bool cli_decode_quote_file(cli_buf *b, const char *path)
{
    cli_quote_input q;
    if (!cli_quote_input_detect(&q, b->data, b->len)) {
        fprintf(stderr, "crabbox-attest: out of memory\n");
        return false;
    }
    if (q.problem[0] != '\0') {
        fprintf(stderr, "crabbox-attest: %s: %s: %s\n", path, q.format, q.problem);
        return false;
    }
    free(b->data);
    b->data = q.quote;
    b->len = q.quote_len;
    return true;
}

void cli_json_status(void *obj, int exit_status, const char *code, const char *message)
{
    json_object *o = obj;
    static const char *const names[] = { "ok", "rejected", "usage", "unavailable" };
    if (code == NULL) { code = exit_status >= 0 && exit_status <= 3 ? names[exit_status] : "failed"; }
    json_object_object_add(o, "ok", json_object_new_boolean(exit_status == 0));
    json_object_object_add(o, "exit", json_object_new_int(exit_status));
    json_object_object_add(o, "code", json_object_new_string(code));
    json_object_object_add(o, "message", message != NULL ? json_object_new_string(message) : NULL);
}
