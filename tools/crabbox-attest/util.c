/* util.c — file reading, hex and time parsing for crabbox-attest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "fileio.h"

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

static int hexval(int c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

bool cli_parse_hex(uint8_t *out, size_t n, const char *text)
{
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) { text += 2; }
    if (strlen(text) != 2 * n) { return false; }
    for (size_t i = 0; i < 2 * n; i++) {
        if (hexval((unsigned char)text[i]) < 0) { return false; }
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(hexval((unsigned char)text[2 * i]) << 4 | hexval((unsigned char)text[2 * i + 1]));
    }
    return true;
}

void cli_hex(char *out, const uint8_t *in, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
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

bool cli_parse_time(const char *text, int64_t *out)
{
    char *end;
    int y, mo, d, h, mi, s, consumed = 0;
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (text[0] != '\0' && *end == '\0' && errno == 0) {
        if (v < 0) { return false; }
        *out = v;
        return true;
    }
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6 ||
        consumed != 19 || (strcmp(text + 19, "Z") != 0 && strcmp(text + 19, "+00:00") != 0)) {
        return false;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 59) {
        return false;
    }
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) { return false; }
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

bool cli_decode_quote_file(cli_buf *b, const char *path)
{
    /* A quote is binary and starts with version 4/5 LE; anything else is treated as hex text. */
    size_t i = 0, j = 0, end = b->len;
    if (b->len >= 2 && (b->data[0] == 4 || b->data[0] == 5 || b->data[0] == 3) && b->data[1] == 0) {
        return true;
    }
    while (i < end && (b->data[i] == ' ' || b->data[i] == '\n' || b->data[i] == '\r' || b->data[i] == '\t')) { i++; }
    while (end > i && (b->data[end - 1] == ' ' || b->data[end - 1] == '\n' || b->data[end - 1] == '\r' ||
                       b->data[end - 1] == '\t')) {
        end--;
    }
    if (end - i >= 2 && b->data[i] == '0' && (b->data[i + 1] == 'x' || b->data[i + 1] == 'X')) { i += 2; }
    if ((end - i) % 2 != 0 || end == i) {
        fprintf(stderr, "crabbox-attest: %s is neither a binary quote nor hex text\n", path);
        return false;
    }
    for (; i < end; i += 2, j++) {
        int hi = hexval(b->data[i]), lo = hexval(b->data[i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "crabbox-attest: %s is neither a binary quote nor hex text\n", path);
            return false;
        }
        b->data[j] = (uint8_t)(hi << 4 | lo);
    }
    b->len = j;
    return true;
}
