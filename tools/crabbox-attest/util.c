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
#include "rfc3339.h"
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

bool cli_parse_time(const char *text, int64_t *out)
{
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
    return cba_parse_rfc3339(cbs_make((const uint8_t *)text, strlen(text)), CBA_RFC3339_UNIX, out);
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
