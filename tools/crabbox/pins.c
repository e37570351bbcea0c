/* pins.c — see pins.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "pins.h"

static bool part_ok(const char *s)
{
    for (; *s != '\0'; s++) {
        char c = *s;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '-')) {
            return false;
        }
    }
    return true;
}

bool pins_key(char *out, size_t out_len, const char *provider, const char *instance_type, const char *os_image_hash_hex)
{
    const char *p = provider != NULL && provider[0] != '\0' ? provider : "-";
    const char *t = instance_type != NULL && instance_type[0] != '\0' ? instance_type : "-";
    const char *h = os_image_hash_hex != NULL && os_image_hash_hex[0] != '\0' ? os_image_hash_hex : "-";
    int n;
    if (!part_ok(p) || !part_ok(t) || !part_ok(h)) { return false; }
    n = snprintf(out, out_len, "%s/%s/%s", p, t, h);
    return n > 0 && (size_t)n < out_len && (size_t)n < PINS_MAX_KEY;
}

static bool key_ok(const char *k)
{
    size_t slashes = 0;
    if (k[0] == '\0' || strlen(k) >= PINS_MAX_KEY) { return false; }
    for (const char *s = k; *s != '\0'; s++) {
        if (*s == '/') {
            slashes++;
        } else if (!part_ok((char[]){ *s, '\0' })) {
            return false;
        }
    }
    return slashes == 2;
}

/* parse_line reads one entry from a NUL-terminated line. */
static bool parse_line(char *line, pin_entry *e)
{
    char *f[7], *save = NULL;
    size_t n = 0;
    char *end;
    long long t;
    for (char *tok = strtok_r(line, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        if (n == 7) { return false; }
        f[n++] = tok;
    }
    if (n != 7 || !key_ok(f[0]) || strlen(f[6]) >= sizeof e->lease) { return false; }
    memset(e, 0, sizeof *e);
    snprintf(e->key, sizeof e->key, "%s", f[0]);
    if (!cba_hex_decode(e->mrtd, 48, f[1], strlen(f[1]))) { return false; }
    for (int i = 0; i < 3; i++) {
        if (!cba_hex_decode(e->rtmr[i], 48, f[2 + i], strlen(f[2 + i]))) { return false; }
    }
    errno = 0;
    t = strtoll(f[5], &end, 10);
    if (errno != 0 || *end != '\0' || end == f[5] || t < 0) { return false; }
    e->first_seen = t;
    snprintf(e->lease, sizeof e->lease, "%s", f[6]);
    return part_ok(e->lease);
}

int pins_load(const char *path, pin_entry **out, size_t *num, char *why, size_t why_len)
{
    cbx_buf b = { 0 };
    size_t cap = 16, lineno = 0;
    char *text, *save = NULL;
    int e;
    *out = NULL;
    *num = 0;
    why[0] = '\0';
    e = cbx_read_file(path, (size_t)PINS_MAX_ENTRIES * 512, true, &b);
    if (e == ENOENT) { return 0; }
    if (e != 0) {
        snprintf(why, why_len, "cannot read %s: %s", path, strerror(e));
        return e;
    }
    *out = calloc(cap, sizeof **out);
    if (*out == NULL) {
        cbx_buf_free(&b);
        return ENOMEM;
    }
    text = (char *)b.data; /* NUL-terminated by cbx_read_file */
    if (strlen(text) != b.len) {
        snprintf(why, why_len, "%s: a NUL byte", path);
        e = EINVAL;
    }
    for (char *line = e == 0 ? strtok_r(text, "\n", &save) : NULL; line != NULL; line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        if (*num == PINS_MAX_ENTRIES) {
            snprintf(why, why_len, "%s: more than %d entries", path, PINS_MAX_ENTRIES);
            e = EINVAL;
            break;
        }
        if (*num == cap) {
            pin_entry *grown = realloc(*out, 2 * cap * sizeof **out);
            if (grown == NULL) {
                e = ENOMEM;
                break;
            }
            *out = grown;
            cap *= 2;
        }
        if (!parse_line(line, &(*out)[*num])) {
            snprintf(why, why_len, "%s:%zu: not a pin entry (KEY MRTD RTMR0 RTMR1 RTMR2 FIRST_SEEN LEASE)", path, lineno);
            e = EINVAL;
            break;
        }
        (*num)++;
    }
    cbx_buf_free(&b);
    if (e != 0) {
        free(*out);
        *out = NULL;
        *num = 0;
    }
    return e;
}

static int save(const char *path, const pin_entry *v, size_t num, char *why, size_t why_len)
{
    size_t cap = num * (PINS_MAX_KEY + 4 * 97 + 64) + 1, pos = 0;
    char *text = malloc(cap), hex[4][97];
    int e;
    if (text == NULL) { return ENOMEM; }
    for (size_t i = 0; i < num; i++) {
        int n;
        cba_hex_encode(hex[0], v[i].mrtd, 48);
        for (int r = 0; r < 3; r++) { cba_hex_encode(hex[1 + r], v[i].rtmr[r], 48); }
        n = snprintf(text + pos, cap - pos, "%s %s %s %s %s %lld %s\n", v[i].key, hex[0], hex[1], hex[2], hex[3],
                     (long long)v[i].first_seen, v[i].lease[0] != '\0' ? v[i].lease : "-");
        if (n < 0 || (size_t)n >= cap - pos) {
            free(text);
            return EOVERFLOW;
        }
        pos += (size_t)n;
    }
    e = cbx_write_file_atomic(path, text, pos, 0600);
    free(text);
    if (e != 0) { snprintf(why, why_len, "cannot write %s: %s", path, strerror(e)); }
    return e;
}

int pins_check(const char *path, const pin_entry *e, pin_outcome *outcome, pin_entry *old, char *why, size_t why_len)
{
    pin_entry *v = NULL, *grown;
    size_t num = 0;
    int rc = pins_load(path, &v, &num, why, why_len);
    if (rc != 0) { return rc; }
    for (size_t i = 0; i < num; i++) {
        if (strcmp(v[i].key, e->key) != 0) { continue; }
        *old = v[i];
        *outcome = cba_ct_eq(v[i].mrtd, e->mrtd, 48) && cba_ct_eq(v[i].rtmr[0], e->rtmr[0], 48) &&
                           cba_ct_eq(v[i].rtmr[1], e->rtmr[1], 48) && cba_ct_eq(v[i].rtmr[2], e->rtmr[2], 48)
                       ? PIN_MATCH
                       : PIN_MISMATCH;
        free(v);
        return 0;
    }
    grown = realloc(v, (num + 1) * sizeof *v);
    if (grown == NULL) {
        free(v);
        return ENOMEM;
    }
    v = grown;
    v[num++] = *e;
    rc = save(path, v, num, why, why_len);
    free(v);
    if (rc == 0) { *outcome = PIN_FIRST_SIGHTING; }
    return rc;
}

int pins_forget(const char *path, const char *key, char *why, size_t why_len)
{
    pin_entry *v = NULL;
    size_t num = 0, kept = 0;
    bool found = false;
    int rc = pins_load(path, &v, &num, why, why_len);
    if (rc != 0) { return rc; }
    for (size_t i = 0; i < num; i++) {
        if (strcmp(v[i].key, key) == 0) {
            found = true;
        } else {
            v[kept++] = v[i];
        }
    }
    rc = found ? save(path, v, kept, why, why_len) : ENOENT;
    free(v);
    return rc;
}
