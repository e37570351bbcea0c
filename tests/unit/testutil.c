/* testutil.c — see testutil.h. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool tu_read_file(const char *path, tu_buf *out)
{
    FILE *f = fopen(path, "rb");
    long n;
    out->data = NULL;
    out->len = 0;
    if (f == NULL) { return false; }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return false;
    }
    out->data = malloc((size_t)n + 1);
    if (out->data == NULL || fread(out->data, 1, (size_t)n, f) != (size_t)n) {
        free(out->data);
        out->data = NULL;
        fclose(f);
        return false;
    }
    out->data[n] = 0; /* convenient for text; not counted in len */
    out->len = (size_t)n;
    fclose(f);
    return true;
}

void tu_buf_free(tu_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

bool tu_real_fixture(const char *rel, tu_buf *out)
{
    char path[4096];
    const char *shared = getenv("CBA_SHARED_FIXTURES");
    const char *bundled = getenv("CBA_FIXTURES");
    if (shared && snprintf(path, sizeof path, "%s/%s", shared, rel) < (int)sizeof path &&
        tu_read_file(path, out)) {
        return true;
    }
    if (bundled && snprintf(path, sizeof path, "%s/real/%s", bundled, rel) < (int)sizeof path &&
        tu_read_file(path, out)) {
        return true;
    }
    return false;
}

bool tu_skip_allowed(const char *key)
{
    const char *list = getenv("CRABBOX_CI_ALLOWED_SKIPS");
    size_t n = strlen(key);
    if (list == NULL) { return true; } /* not CI: a skip is a skip */
    for (const char *p = list; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, key, n) == 0) { return true; }
        p += len;
        if (*p == ',') { p++; }
    }
    return false;
}

static int hv(char c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

long tu_hex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > cap) { return -1; }
    for (size_t i = 0; i < n / 2; i++) {
        int a = hv(hex[2 * i]), b = hv(hex[2 * i + 1]);
        if (a < 0 || b < 0) { return -1; }
        out[i] = (uint8_t)(a << 4 | b);
    }
    return (long)(n / 2);
}
