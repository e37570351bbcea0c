/* names.c — lease ids, CVM names, instance types, node ids, app ids, status words
 * (phala-provider.md §3, §4). */
#include <stdio.h>
#include <string.h>

#include "phala.h"

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_alpha(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

bool phala_lease_id_valid(const char *s)
{
    if (s == NULL || strlen(s) != PHALA_LEASE_ID_LEN || strncmp(s, "cbx_", 4) != 0) {
        return false;
    }
    for (size_t i = 4; i < PHALA_LEASE_ID_LEN; i++) {
        if (!is_lower_hex(s[i])) { return false; }
    }
    return true;
}

bool phala_name_for_lease(char *out, size_t out_len, const char *lease_id)
{
    size_t prefix = sizeof PHALA_NAME_PREFIX - 1;
    if (!phala_lease_id_valid(lease_id) || out_len < prefix + PHALA_LEASE_ID_LEN + 1) {
        return false;
    }
    memcpy(out, PHALA_NAME_PREFIX, prefix);
    for (size_t i = 0; i <= PHALA_LEASE_ID_LEN; i++) {
        out[prefix + i] = lease_id[i] == '_' ? '-' : lease_id[i]; /* copies the NUL too */
    }
    return true;
}

bool phala_lease_for_name(char *out, size_t out_len, cbs name)
{
    char lease[PHALA_LEASE_ID_LEN + 1];
    cbs prefix, rest = name;
    bool turned = false;
    if (out_len < sizeof lease || !cbs_get_bytes(&rest, &prefix, sizeof PHALA_NAME_PREFIX - 1) ||
        !cbs_eq_str(prefix, PHALA_NAME_PREFIX) || rest.len != PHALA_LEASE_ID_LEN) {
        return false;
    }
    for (size_t i = 0; i < PHALA_LEASE_ID_LEN; i++) {
        char ch = (char)cbs_byte(rest, i);
        if (ch == '-' && !turned) {
            ch = '_';
            turned = true;
        }
        lease[i] = ch;
    }
    lease[PHALA_LEASE_ID_LEN] = '\0';
    /* Only names our own mapping produces: "crabbox-cbx_..." would decode too, but it is not
     * what we deploy (and not a valid Phala name). */
    if (!phala_lease_id_valid(lease) || !turned) { return false; }
    memcpy(out, lease, sizeof lease);
    return true;
}

bool phala_name_valid(cbs name)
{
    uint8_t prev = 0;
    if (name.len < 5 || name.len > PHALA_NAME_MAX || !is_alpha(cbs_byte(name, 0))) {
        return false;
    }
    for (size_t i = 0; i < name.len; i++) {
        uint8_t c = cbs_byte(name, i);
        if (c == '-') {
            if (prev == '-') { return false; }
        } else if (!is_alpha(c) && !is_digit(c)) {
            return false;
        }
        prev = c;
    }
    return prev != '-';
}

const char *phala_class_type(const char *class_name)
{
    static const struct {
        const char *cls, *type;
    } k_classes[] = {
        { "tiny", "tdx.small" }, { "small", "tdx.small" }, { "standard", "tdx.small" },
        { "fast", "tdx.medium" }, { "large", "tdx.large" }, { "beast", "tdx.xlarge" },
    };
    if (class_name == NULL) { return NULL; }
    for (size_t i = 0; i < sizeof k_classes / sizeof k_classes[0]; i++) {
        if (strcmp(class_name, k_classes[i].cls) == 0) { return k_classes[i].type; }
    }
    return NULL;
}

bool phala_instance_type_normalize(char *out, size_t out_len, const char *in)
{
    const char *shape = in;
    size_t n;
    if (in == NULL) { return false; }
    if (strchr(in, '/') != NULL) {
        /* "os/arch:shape": only Linux exists on Phala (§3). */
        const char *colon = strrchr(in, ':');
        if (strncmp(in, "linux/", 6) != 0 || colon == NULL || strchr(colon, '/') != NULL) {
            return false;
        }
        shape = colon + 1;
    }
    n = strlen(shape);
    if (n == 0 || n > 31 || n >= out_len) { return false; }
    for (size_t i = 0; i < n; i++) {
        char c = shape[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (i > 0) { ok = ok || c == '.' || c == '_' || c == '-'; }
        if (!ok) { return false; }
    }
    memcpy(out, shape, n + 1);
    return true;
}

bool phala_node_id_valid(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > 10) { return false; }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((uint8_t)s[i])) { return false; }
    }
    return true;
}

bool phala_seconds_parse(const char *s, int64_t lo, int64_t hi, int64_t *out_ms)
{
    size_t n = s != NULL ? strlen(s) : 0;
    int64_t v = 0;
    /* 10 digits fit an int64_t with room to spare; the range check then bounds the value. */
    if (n == 0 || n > 10) { return false; }
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((uint8_t)s[i])) { return false; }
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi) { return false; }
    *out_ms = v * 1000;
    return true;
}

bool phala_app_id_normalize(char *out, size_t out_len, cbs in)
{
    char tmp[PHALA_APP_ID_HEX + 1];
    cbs c = in, prefix;
    if (out_len < sizeof tmp) { return false; }
    if (c.len == PHALA_APP_ID_HEX + 4 && (!cbs_get_bytes(&c, &prefix, 4) ||
                                          !cbs_eq_str(prefix, "app_"))) {
        return false;
    }
    if (c.len != PHALA_APP_ID_HEX) { return false; }
    for (size_t i = 0; i < PHALA_APP_ID_HEX; i++) {
        char ch = (char)cbs_byte(c, i);
        if (ch >= 'A' && ch <= 'F') { ch = (char)(ch - 'A' + 'a'); }
        if (!is_lower_hex(ch)) { return false; }
        tmp[i] = ch;
    }
    tmp[PHALA_APP_ID_HEX] = '\0';
    memcpy(out, tmp, sizeof tmp);
    return true;
}

void phala_status_normalize(char *out, size_t out_len, cbs raw)
{
    static const struct {
        const char *word, *norm;
    } k_words[] = {
        { "running", "running" },           { "ready", "running" },
        { "started", "running" },           { "starting", "provisioning" },
        { "provisioning", "provisioning" }, { "pending", "provisioning" },
        { "creating", "provisioning" },     { "deploying", "provisioning" },
        { "stopped", "stopped" },           { "stopping", "stopped" },
        { "paused", "stopped" },
    };
    char word[32];
    size_t n = 0;
    if (out == NULL || out_len == 0) { return; }
    for (size_t i = 0; i < raw.len && n + 1 < sizeof word; i++) {
        uint8_t c = cbs_byte(raw, i);
        if (c >= 'A' && c <= 'Z') { c = (uint8_t)(c - 'A' + 'a'); }
        /* keep only a safe word: status strings end up in labels and terminals */
        if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-')) { c = '_'; }
        word[n++] = (char)c;
    }
    word[n] = '\0';
    for (size_t i = 0; i < sizeof k_words / sizeof k_words[0]; i++) {
        if (strcmp(word, k_words[i].word) == 0) {
            snprintf(out, out_len, "%s", k_words[i].norm);
            return;
        }
    }
    snprintf(out, out_len, "%s", n > 0 ? word : "unknown");
}

bool phala_work_root_valid(const char *p)
{
    static const char *const k_top[] = {
        "bin", "dev", "etc", "home", "lib", "lib64", "opt", "proc",
        "root", "sbin", "sys", "tmp", "usr", "var", "work",
    };
    size_t n = p != NULL ? strlen(p) : 0;
    if (n < 2 || n > 200 || p[0] != '/' || p[n - 1] == '/') { return false; }
    /* already normalised: no empty, "." or ".." components */
    for (const char *c = p; *c != '\0';) {
        const char *next = strchr(c + 1, '/');
        size_t len = next != NULL ? (size_t)(next - c - 1) : strlen(c + 1);
        if (len == 0 || (len == 1 && c[1] == '.') || (len == 2 && c[1] == '.' && c[2] == '.')) {
            return false;
        }
        c = next != NULL ? next : c + 1 + len;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x21 || ch == 0x7f || ch == '\'' || ch == '"' || ch == '\\') { return false; }
    }
    if (strcmp(p, "/var/volatile") == 0) { return false; } /* the tmpfs itself */
    for (size_t i = 0; i < sizeof k_top / sizeof k_top[0]; i++) {
        if (p[0] == '/' && strcmp(p + 1, k_top[i]) == 0) { return false; }
    }
    return true;
}
