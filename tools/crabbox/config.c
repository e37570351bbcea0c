/* config.c — see config.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "policy.h"

typedef enum key_type { KT_STRING, KT_BOOL, KT_DURATION, KT_POLICY } key_type;

static const char k_trusted_only[] = "";

static const struct {
    const char *name;
    key_type type;
    const char *env;
    const char *untrusted_only; /* the one value a repository file may set (the stricter), or NULL;
                                   k_trusted_only: a repository file may not set it at all */
} k_host_keys[] = {
    { "provider", KT_STRING, "CRABBOX_PROVIDER", NULL },
    { "class", KT_STRING, "CRABBOX_CLASS", NULL },
    { "ttl", KT_DURATION, "CRABBOX_TTL", NULL },
    { "idleTimeout", KT_DURATION, "CRABBOX_IDLE_TIMEOUT", NULL },
    /* Where DCAP collateral comes from decides whether a revoked or out-of-date platform is caught:
     * a cloned repository must not choose it (a dead pccsUrl would make every lease skip DCAP). */
    { "collateral", KT_STRING, "CRABBOX_COLLATERAL", k_trusted_only },
    { "requireCollateral", KT_BOOL, "CRABBOX_REQUIRE_COLLATERAL", "true" },
    { "allowInfoOnlyAttestation", KT_BOOL, "CRABBOX_ALLOW_INFO_ONLY_ATTESTATION", "false" },
    { "acceptPhalaDefaultPreLaunchScript", KT_BOOL, "CRABBOX_ACCEPT_PHALA_DEFAULT_PRE_LAUNCH_SCRIPT", "false" },
    { "collateralFetch", KT_BOOL, "CRABBOX_COLLATERAL_FETCH", "true" },
    { "pccsUrl", KT_STRING, "CRABBOX_PCCS_URL", k_trusted_only },
    /* how long `stop` and `cleanup` keep the evidence bundles of released leases: a duration up
     * to 3650d, or "forever"; a repository can only keep them (forever), never shorten it */
    { "evidenceRetention", KT_STRING, "CRABBOX_EVIDENCE_RETENTION", "forever" },
    /* The verifier policy (tools/common/policy.h; one vocabulary with `crabbox-attest verify
     * --policy`). A list is a YAML sequence or a comma-separated value. From a repository file
     * these only tighten (config_policy). reportData is the host's per-lease nonce binding. */
    { "acceptTcbStatus", KT_POLICY, "CRABBOX_ACCEPT_TCB_STATUS", NULL },
    { "allowedAdvisories", KT_POLICY, "CRABBOX_ALLOWED_ADVISORIES", NULL },
    { "minTcbEvaluationNumber", KT_POLICY, "CRABBOX_MIN_TCB_EVALUATION_NUMBER", NULL },
    { "maxCollateralAgeSeconds", KT_POLICY, "CRABBOX_MAX_COLLATERAL_AGE_SECONDS", NULL },
    { "mrtd", KT_POLICY, "CRABBOX_MRTD", NULL },
    { "rtmr0", KT_POLICY, "CRABBOX_RTMR0", NULL },
    { "rtmr1", KT_POLICY, "CRABBOX_RTMR1", NULL },
    { "rtmr2", KT_POLICY, "CRABBOX_RTMR2", NULL },
    { "rtmr3", KT_POLICY, "CRABBOX_RTMR3", NULL },
    { "mrseam", KT_POLICY, "CRABBOX_MRSEAM", NULL },
    { "mrsignerseam", KT_POLICY, "CRABBOX_MRSIGNERSEAM", NULL },
    { "mrconfigid", KT_POLICY, "CRABBOX_MRCONFIGID", NULL },
    { "mrowner", KT_POLICY, "CRABBOX_MROWNER", NULL },
    { "mrownerconfig", KT_POLICY, "CRABBOX_MROWNERCONFIG", NULL },
    { "xfam", KT_POLICY, "CRABBOX_XFAM", NULL },
    { "tdAttributes", KT_POLICY, "CRABBOX_TD_ATTRIBUTES", NULL },
    { "osImageHash", KT_POLICY, "CRABBOX_OS_IMAGE_HASH", NULL },
    { "minTeeTcbSvn", KT_POLICY, "CRABBOX_MIN_TEE_TCB_SVN", NULL },
    { "minQeIsvsvn", KT_POLICY, "CRABBOX_MIN_QE_ISVSVN", NULL },
    { "minPcesvn", KT_POLICY, "CRABBOX_MIN_PCESVN", NULL },
};

/* Keys the host owns in every driver block. */
static const crabbox_config_key k_block_host_keys[] = {
    { "attest", CRABBOX_KEY_BOOL },
    { "compose", CRABBOX_KEY_TRUSTED_ONLY },
    { NULL, 0 },
};

/* phala-provider.md §3, for a phala driver that does not declare its keys. */
static const crabbox_config_key k_phala_keys[] = {
    { "cli", CRABBOX_KEY_TRUSTED_ONLY },
    { "instanceType", 0 },
    { "workRoot", 0 },
    { "nodeId", CRABBOX_KEY_TRUSTED_ONLY },
    { NULL, 0 },
};

const crabbox_config_key *config_builtin_keys(const char *driver_name)
{
    return driver_name != NULL && strcmp(driver_name, "phala") == 0 ? k_phala_keys : NULL;
}

void config_init(config *c)
{
    memset(c, 0, sizeof *c);
}

void config_free(config *c)
{
    if (c == NULL) { return; }
    for (size_t i = 0; i < c->num; i++) {
        free(c->items[i].block);
        free(c->items[i].key);
        free(c->items[i].value);
    }
    free(c->items);
    memset(c, 0, sizeof *c);
}

int config_add(config *c, const char *block, const char *key, const char *value, int level, bool trusted,
               int argpos, const char *where, crabbox_err *err)
{
    cfg_item *it;
    if (c->num == c->cap) {
        size_t cap = c->cap == 0 ? 16 : c->cap * 2;
        cfg_item *items = realloc(c->items, cap * sizeof *items);
        if (items == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
        c->items = items;
        c->cap = cap;
    }
    it = &c->items[c->num];
    memset(it, 0, sizeof *it);
    it->block = block != NULL ? strdup(block) : NULL;
    it->key = strdup(key);
    it->value = strdup(value);
    if ((block != NULL && it->block == NULL) || it->key == NULL || it->value == NULL) {
        free(it->block);
        free(it->key);
        free(it->value);
        return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
    }
    it->plain = true;
    it->trusted = trusted;
    it->level = level;
    it->argpos = argpos;
    snprintf(it->where, sizeof it->where, "%s", where);
    c->num++;
    return CRABBOX_OK;
}

/* ---- YAML ----------------------------------------------------------------------------------- */

typedef struct yaml_ctx {
    yaml_parser_t parser;
    const char *name;
    crabbox_err *err;
} yaml_ctx;

__attribute__((format(printf, 3, 4))) static int yaml_error(yaml_ctx *y, size_t line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cbx_set_err(y->err, CRABBOX_E_USAGE, "%s:%zu: %s", y->name, line + 1, msg);
}

/* next_event gets one event and rejects the YAML features a config never needs. */
static int next_event(yaml_ctx *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev)) {
        return cbx_set_err(y->err, CRABBOX_E_USAGE, "%s:%zu: invalid YAML: %s", y->name,
                           y->parser.problem_mark.line + 1,
                           y->parser.problem != NULL ? y->parser.problem : "parse error");
    }
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        anchor = ev->data.alias.anchor;
        break;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    default: break;
    }
    if (anchor != NULL || tag != NULL) {
        size_t line = ev->start_mark.line;
        yaml_event_delete(ev);
        return yaml_error(y, line, "anchors, aliases and tags are not supported in crabbox config");
    }
    return CRABBOX_OK;
}

static bool seen_before(const config *c, size_t first, const char *block, const char *key)
{
    for (size_t i = first; i < c->num; i++) {
        const cfg_item *it = &c->items[i];
        if (strcmp(it->key, key) == 0 && ((block == NULL && it->block == NULL) ||
                                          (block != NULL && it->block != NULL && strcmp(block, it->block) == 0))) {
            return true;
        }
    }
    return false;
}

static int add_scalar(config *c, yaml_ctx *y, size_t first, const char *block, const char *key,
                      const yaml_event_t *value, int level, bool trusted)
{
    char where[320];
    int rc;
    if (seen_before(c, first, block, key)) {
        char full[160];
        snprintf(full, sizeof full, "%s%s%s", block != NULL ? block : "", block != NULL ? "." : "", key);
        return yaml_error(y, value->start_mark.line, "duplicate key '%s'", full);
    }
    snprintf(where, sizeof where, "%s:%zu", y->name, value->start_mark.line + 1);
    rc = config_add(c, block, key, (const char *)value->data.scalar.value, level, trusted, -1, where, y->err);
    if (rc == CRABBOX_OK) { c->items[c->num - 1].plain = value->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }
    return rc;
}

/* add_list adds a policy key given as a YAML sequence of plain values, joined with ','. */
static int add_list(config *c, yaml_ctx *y, size_t first, const char *key, const yaml_event_t *start, int level,
                    bool trusted)
{
    char where[320], *joined = NULL;
    size_t len = 0;
    int rc;
    if (seen_before(c, first, NULL, key)) { return yaml_error(y, start->start_mark.line, "duplicate key '%s'", key); }
    for (;;) {
        yaml_event_t ev;
        char *grown;
        size_t n;
        rc = next_event(y, &ev);
        if (rc != CRABBOX_OK) {
            free(joined);
            return rc;
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type != YAML_SCALAR_EVENT || len > TC_POLICY_MAX_VALUES * 140) {
            rc = yaml_error(y, ev.start_mark.line, "'%s' must be a list of values", key);
            yaml_event_delete(&ev);
            free(joined);
            return rc;
        }
        n = ev.data.scalar.length;
        grown = realloc(joined, len + n + 2);
        if (grown == NULL) {
            yaml_event_delete(&ev);
            free(joined);
            return cbx_set_err(y->err, CRABBOX_E_FAILED, "out of memory");
        }
        joined = grown;
        if (len > 0) { joined[len++] = ','; }
        memcpy(joined + len, ev.data.scalar.value, n);
        len += n;
        joined[len] = '\0';
        yaml_event_delete(&ev);
    }
    if (joined == NULL) { return yaml_error(y, start->start_mark.line, "'%s' is an empty list", key); }
    snprintf(where, sizeof where, "%s:%zu", y->name, start->start_mark.line + 1);
    rc = config_add(c, NULL, key, joined, level, trusted, -1, where, y->err);
    free(joined);
    return rc;
}

static int parse_block(config *c, yaml_ctx *y, size_t first, const char *block, int level, bool trusted)
{
    for (;;) {
        yaml_event_t k, v;
        int rc = next_event(y, &k);
        if (rc != CRABBOX_OK) { return rc; }
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return CRABBOX_OK;
        }
        if (k.type != YAML_SCALAR_EVENT) {
            rc = yaml_error(y, k.start_mark.line, "keys of '%s' must be plain names", block);
            yaml_event_delete(&k);
            return rc;
        }
        rc = next_event(y, &v);
        if (rc != CRABBOX_OK) {
            yaml_event_delete(&k);
            return rc;
        }
        if (v.type != YAML_SCALAR_EVENT) {
            rc = yaml_error(y, v.start_mark.line, "'%s.%s' must be a single value", block,
                            (const char *)k.data.scalar.value);
        } else {
            rc = add_scalar(c, y, first, block, (const char *)k.data.scalar.value, &v, level, trusted);
        }
        yaml_event_delete(&k);
        yaml_event_delete(&v);
        if (rc != CRABBOX_OK) { return rc; }
    }
}

static int parse_top(config *c, yaml_ctx *y, size_t first, int level, bool trusted)
{
    for (;;) {
        yaml_event_t k, v;
        int rc = next_event(y, &k);
        if (rc != CRABBOX_OK) { return rc; }
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return CRABBOX_OK;
        }
        if (k.type != YAML_SCALAR_EVENT) {
            rc = yaml_error(y, k.start_mark.line, "keys must be plain names");
            yaml_event_delete(&k);
            return rc;
        }
        rc = next_event(y, &v);
        if (rc != CRABBOX_OK) {
            yaml_event_delete(&k);
            return rc;
        }
        if (v.type == YAML_SCALAR_EVENT) {
            rc = add_scalar(c, y, first, NULL, (const char *)k.data.scalar.value, &v, level, trusted);
        } else if (v.type == YAML_SEQUENCE_START_EVENT && tc_policy_is_key((const char *)k.data.scalar.value)) {
            rc = add_list(c, y, first, (const char *)k.data.scalar.value, &v, level, trusted);
        } else if (v.type == YAML_MAPPING_START_EVENT) {
            /* A block may appear once per file; its keys are checked against the schema later. */
            const char *block = (const char *)k.data.scalar.value;
            bool dup = false;
            for (size_t i = first; i < c->num && !dup; i++) {
                dup = c->items[i].block != NULL && strcmp(c->items[i].block, block) == 0;
            }
            rc = dup ? yaml_error(y, k.start_mark.line, "duplicate key '%s'", block)
                     : parse_block(c, y, first, block, level, trusted);
        } else {
            rc = yaml_error(y, v.start_mark.line, "'%s' must be a value or a block of values",
                            (const char *)k.data.scalar.value);
        }
        yaml_event_delete(&k);
        yaml_event_delete(&v);
        if (rc != CRABBOX_OK) { return rc; }
    }
}

static int expect(yaml_ctx *y, yaml_event_type_t type, const char *what)
{
    yaml_event_t ev;
    int rc = next_event(y, &ev);
    if (rc != CRABBOX_OK) { return rc; }
    if (ev.type != type) {
        rc = yaml_error(y, ev.start_mark.line, "%s", what);
    }
    yaml_event_delete(&ev);
    return rc;
}

int config_load_yaml(config *c, const char *name, const uint8_t *data, size_t len, int level, bool trusted,
                     crabbox_err *err)
{
    yaml_ctx y = { .name = name, .err = err };
    yaml_event_t ev;
    size_t first = c->num;
    int rc;

    if (!yaml_parser_initialize(&y.parser)) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
    yaml_parser_set_input_string(&y.parser, data, len);
    rc = expect(&y, YAML_STREAM_START_EVENT, "invalid YAML stream");
    if (rc == CRABBOX_OK) { rc = next_event(&y, &ev); }
    if (rc == CRABBOX_OK) {
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev); /* an empty file */
            yaml_parser_delete(&y.parser);
            return CRABBOX_OK;
        }
        if (ev.type != YAML_DOCUMENT_START_EVENT) { rc = yaml_error(&y, ev.start_mark.line, "invalid YAML document"); }
        yaml_event_delete(&ev);
    }
    if (rc == CRABBOX_OK) { rc = next_event(&y, &ev); }
    if (rc == CRABBOX_OK) {
        if (ev.type == YAML_MAPPING_START_EVENT) {
            yaml_event_delete(&ev);
            rc = parse_top(c, &y, first, level, trusted);
        } else if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0) {
            yaml_event_delete(&ev); /* "---" alone */
        } else {
            rc = yaml_error(&y, ev.start_mark.line, "the file must be a mapping of keys to values");
            yaml_event_delete(&ev);
        }
    }
    if (rc == CRABBOX_OK) { rc = expect(&y, YAML_DOCUMENT_END_EVENT, "only one YAML document is allowed"); }
    if (rc == CRABBOX_OK) { rc = expect(&y, YAML_STREAM_END_EVENT, "only one YAML document is allowed"); }
    yaml_parser_delete(&y.parser);
    if (rc != CRABBOX_OK) {
        /* All or nothing: drop what this file added. */
        for (size_t i = first; i < c->num; i++) {
            free(c->items[i].block);
            free(c->items[i].key);
            free(c->items[i].value);
        }
        c->num = first;
    }
    return rc;
}

/* ---- files ---------------------------------------------------------------------------------- */

static int load_file(config *c, const char *path, int level, bool trusted, bool required, crabbox_err *err)
{
    cbx_buf b;
    struct stat st;
    int e;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT && !required) { return CRABBOX_OK; }
        return cbx_set_err(err, CRABBOX_E_USAGE, "config %s: %s", path, strerror(errno));
    }
    if (trusted && ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)) {
        /* Trusted keys choose what runs: a file others can write cannot be trusted with them. */
        return cbx_set_err(err, CRABBOX_E_USAGE, "refusing config %s: it is writable by or owned by another user",
                           path);
    }
    e = cbx_read_file(path, CONFIG_MAX_FILE, false, &b);
    if (e != 0) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "config %s: %s", path,
                           e == EFBIG ? "larger than 64 KiB" : e == EINVAL ? "not a regular file" : strerror(e));
    }
    e = config_load_yaml(c, path, b.data, b.len, level, trusted, err);
    cbx_buf_free(&b);
    return e;
}

/* repo_root finds the repository the current directory is in (the nearest parent with .git),
 * or the directory itself. */
static void repo_root(const char *cwd, char *out, size_t out_len)
{
    char dir[PATH_MAX], probe[PATH_MAX];
    snprintf(out, out_len, "%s", cwd);
    if (realpath(cwd, dir) == NULL) { return; }
    snprintf(out, out_len, "%s", dir);
    for (;;) {
        char *slash;
        if (cbx_path_join(probe, sizeof probe, dir, ".git") && access(probe, F_OK) == 0) {
            snprintf(out, out_len, "%s", dir);
            return;
        }
        slash = strrchr(dir, '/');
        if (slash == NULL || slash == dir) { return; }
        *slash = '\0';
    }
}

static bool path_inside(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (strcmp(dir, "/") == 0) { return true; }
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

int config_load_files(config *c, const char *xdg_config_home, const char *home, const char *cwd,
                      const char *env_config, crabbox_err *err)
{
    char path[PATH_MAX], root[PATH_MAX], real[PATH_MAX];
    int rc;
    /* XDG: a relative XDG_CONFIG_HOME is invalid and ignored. */
    if (xdg_config_home != NULL && xdg_config_home[0] == '/') {
        snprintf(path, sizeof path, "%s/crabbox/config.yaml", xdg_config_home);
    } else if (home != NULL && home[0] == '/') {
        snprintf(path, sizeof path, "%s/.config/crabbox/config.yaml", home);
    } else {
        path[0] = '\0';
    }
    if (path[0] != '\0') {
        rc = load_file(c, path, CFG_LEVEL_USER_FILE, true, false, err);
        if (rc != CRABBOX_OK) { return rc; }
    }
    if (cwd != NULL) {
        static const char *const k_repo_files[] = { "crabbox.yaml", ".crabbox.yaml" };
        for (size_t i = 0; i < 2; i++) {
            if (!cbx_path_join(path, sizeof path, cwd, k_repo_files[i])) { continue; }
            rc = load_file(c, path, CFG_LEVEL_REPO_FILE, false, false, err);
            if (rc != CRABBOX_OK) { return rc; }
        }
    }
    if (env_config != NULL && env_config[0] != '\0') {
        bool trusted = true;
        if (cwd != NULL) {
            repo_root(cwd, root, sizeof root);
            trusted = !(realpath(env_config, real) != NULL && path_inside(real, root));
        }
        rc = load_file(c, env_config, CFG_LEVEL_CONFIG_ENV_FILE, trusted, true, err);
        if (rc != CRABBOX_OK) { return rc; }
    }
    return CRABBOX_OK;
}

/* ---- spelling ------------------------------------------------------------------------------- */

static void camel_split(char *out, size_t out_len, const char *camel, char sep, bool upper)
{
    size_t o = 0;
    for (size_t i = 0; camel[i] != '\0' && o + 2 < out_len; i++) {
        unsigned char ch = (unsigned char)camel[i];
        if (isupper(ch) && i > 0) { out[o++] = sep; }
        out[o++] = (char)(upper ? toupper(ch) : tolower(ch));
    }
    out[o] = '\0';
}

void config_snake_upper(char *out, size_t out_len, const char *camel)
{
    camel_split(out, out_len, camel, '_', true);
}

void config_kebab(char *out, size_t out_len, const char *camel)
{
    camel_split(out, out_len, camel, '-', false);
}

/* ---- environment and flags ------------------------------------------------------------------- */

static bool normalise_bool(const char *v, const char **out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = "true";
        return true;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = "false";
        return true;
    }
    return false;
}

int config_load_host_env(config *c, const char *(*getenv_fn)(const char *), crabbox_err *err)
{
    for (size_t i = 0; i < sizeof k_host_keys / sizeof k_host_keys[0]; i++) {
        const char *v = getenv_fn(k_host_keys[i].env);
        char where[96];
        int rc;
        if (v == NULL) { continue; }
        if (k_host_keys[i].type == KT_BOOL && !normalise_bool(v, &v)) {
            return cbx_set_err(err, CRABBOX_E_USAGE, "environment %s: must be true or false", k_host_keys[i].env);
        }
        snprintf(where, sizeof where, "environment %s", k_host_keys[i].env);
        rc = config_add(c, NULL, k_host_keys[i].name, v, CFG_LEVEL_ENV, true, -1, where, err);
        if (rc != CRABBOX_OK) { return rc; }
    }
    return CRABBOX_OK;
}

static int load_env_keys(config *c, const char *driver_name, const crabbox_config_key *keys,
                         const char *(*getenv_fn)(const char *), crabbox_err *err)
{
    char name_up[80];
    config_snake_upper(name_up, sizeof name_up, driver_name);
    for (char *p = name_up; *p != '\0'; p++) {
        if (*p == '-') { *p = '_'; }
    }
    for (size_t i = 0; keys != NULL && keys[i].name != NULL; i++) {
        char key_up[96], var[200], where[240];
        const char *v;
        int rc;
        config_snake_upper(key_up, sizeof key_up, keys[i].name);
        snprintf(var, sizeof var, "CRABBOX_%s_%s", name_up, key_up);
        v = getenv_fn(var);
        if (v == NULL) { continue; }
        if ((keys[i].flags & CRABBOX_KEY_BOOL) != 0 && !normalise_bool(v, &v)) {
            return cbx_set_err(err, CRABBOX_E_USAGE, "environment %s: must be true or false", var);
        }
        snprintf(where, sizeof where, "environment %s", var);
        rc = config_add(c, driver_name, keys[i].name, v, CFG_LEVEL_ENV, true, -1, where, err);
        if (rc != CRABBOX_OK) { return rc; }
    }
    return CRABBOX_OK;
}

int config_load_driver_env(config *c, const char *driver_name, const crabbox_config_key *keys,
                           const char *(*getenv_fn)(const char *), crabbox_err *err)
{
    int rc = load_env_keys(c, driver_name, k_block_host_keys, getenv_fn, err);
    return rc != CRABBOX_OK ? rc : load_env_keys(c, driver_name, keys, getenv_fn, err);
}

static const crabbox_config_key *find_key(const crabbox_config_key *keys, const char *name)
{
    for (size_t i = 0; keys != NULL && keys[i].name != NULL; i++) {
        if (strcmp(keys[i].name, name) == 0) { return &keys[i]; }
    }
    return NULL;
}

static const crabbox_config_key *find_key_kebab(const crabbox_config_key *keys, const char *kebab)
{
    for (size_t i = 0; keys != NULL && keys[i].name != NULL; i++) {
        char k[96];
        config_kebab(k, sizeof k, keys[i].name);
        if (strcmp(k, kebab) == 0) { return &keys[i]; }
    }
    return NULL;
}

int config_add_driver_flags(config *c, const char *driver_name, const crabbox_config_key *keys,
                            const cfg_flag *flags, size_t num_flags, crabbox_err *err)
{
    size_t pl = strlen(driver_name);
    int skip_pos = -1;
    for (size_t i = 0; i < num_flags; i++) {
        const char *rest;
        const crabbox_config_key *k;
        const char *v = flags[i].value;
        char where[160];
        int rc;
        if (strncmp(flags[i].name, driver_name, pl) != 0 || flags[i].name[pl] != '-') {
            return cbx_set_err(err, CRABBOX_E_USAGE, "unknown option --%s", flags[i].name);
        }
        rest = flags[i].name + pl + 1;
        snprintf(where, sizeof where, "flag --%s", flags[i].name);
        if (strcmp(rest, "skip-attestation") == 0 || strcmp(rest, "attest") == 0) {
            if (v != NULL) { return cbx_set_err(err, CRABBOX_E_USAGE, "--%s takes no value", flags[i].name); }
            if (rest[0] == 's') {
                skip_pos = flags[i].argpos;
                continue;
            }
            rc = config_add(c, driver_name, "attest", "true", CFG_LEVEL_FLAG, true, flags[i].argpos, where, err);
            if (rc != CRABBOX_OK) { return rc; }
            continue;
        }
        k = find_key_kebab(k_block_host_keys, rest);
        if (k == NULL) { k = find_key_kebab(keys, rest); }
        if (k == NULL) { return cbx_set_err(err, CRABBOX_E_USAGE, "unknown option --%s", flags[i].name); }
        if (v == NULL) { return cbx_set_err(err, CRABBOX_E_USAGE, "--%s needs a value", flags[i].name); }
        if ((k->flags & CRABBOX_KEY_BOOL) != 0 && !normalise_bool(v, &v)) {
            return cbx_set_err(err, CRABBOX_E_USAGE, "--%s: must be true or false", flags[i].name);
        }
        rc = config_add(c, driver_name, k->name, v, CFG_LEVEL_FLAG, true, flags[i].argpos, where, err);
        if (rc != CRABBOX_OK) { return rc; }
    }
    if (skip_pos >= 0) {
        char where[160];
        snprintf(where, sizeof where, "flag --%s-skip-attestation", driver_name);
        /* Added last: it beats --X-attest wherever that was on the command line. */
        return config_add(c, driver_name, "attest", "false", CFG_LEVEL_FLAG, true, skip_pos, where, err);
    }
    return CRABBOX_OK;
}

/* ---- validation ------------------------------------------------------------------------------- */

static int check_type(cfg_item *it, key_type type, crabbox_err *err)
{
    int64_t secs;
    const char *v;
    if (type == KT_BOOL) {
        if (!it->plain || !(strcmp(it->value, "true") == 0 || strcmp(it->value, "false") == 0 ||
                            (it->level >= CFG_LEVEL_ENV && normalise_bool(it->value, &v)))) {
            return cbx_set_err(err, CRABBOX_E_USAGE, "%s: '%s' must be true or false", it->where, it->key);
        }
        if (normalise_bool(it->value, &v) && strcmp(v, it->value) != 0) {
            char *nv = strdup(v);
            if (nv == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
            free(it->value);
            it->value = nv;
        }
    } else if (type == KT_POLICY) {
        tc_policy *scratch = malloc(sizeof *scratch);
        char msg[300];
        const char *vals[1] = { it->value };
        bool ok;
        if (scratch == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
        tc_policy_init(scratch);
        ok = tc_policy_set(scratch, it->key, vals, 1, msg, sizeof msg);
        free(scratch);
        if (!ok) { return cbx_set_err(err, CRABBOX_E_USAGE, "%s: %s", it->where, msg); }
    } else if (type == KT_DURATION) {
        if (!cbx_parse_duration(it->value, &secs)) {
            return cbx_set_err(err, CRABBOX_E_USAGE, "%s: '%s' must be a duration such as 90m, 30s, 2h (at most 30d)",
                               it->where, it->key);
        }
    }
    return CRABBOX_OK;
}

int config_validate(config *c, const char *driver_name, const crabbox_config_key *keys,
                    bool (*other_block_ok)(void *arg, const char *name), void *arg, crabbox_err *err)
{
    for (size_t i = 0; i < c->num; i++) {
        cfg_item *it = &c->items[i];
        int rc;
        if (it->block == NULL) {
            size_t j;
            for (j = 0; j < sizeof k_host_keys / sizeof k_host_keys[0]; j++) {
                if (strcmp(k_host_keys[j].name, it->key) == 0) { break; }
            }
            if (j == sizeof k_host_keys / sizeof k_host_keys[0]) {
                bool is_block_name = driver_name != NULL && strcmp(it->key, driver_name) == 0;
                if (strcmp(it->key, "reportData") == 0) {
                    return cbx_set_err(err, CRABBOX_E_USAGE, "%s: 'reportData' cannot be configured: the host binds "
                                       "the report data to its own nonce and the session's host key per lease",
                                       it->where);
                }
                return cbx_set_err(err, CRABBOX_E_USAGE, "%s: unknown key '%s'%s", it->where, it->key,
                                   is_block_name ? " (driver settings go in a block)" : "");
            }
            rc = check_type(it, k_host_keys[j].type, err);
            if (rc != CRABBOX_OK) { return rc; }
            /* A repository must not weaken what the user's own configuration asks for. */
            if (!it->trusted && k_host_keys[j].untrusted_only == k_trusted_only) {
                it->ignored = true;
                fprintf(stderr, "warning: %s: ignoring '%s' from a repository config (it chooses where DCAP collateral "
                                "comes from; set it in your user config, the environment or a flag)\n",
                        it->where, it->key);
            } else if (!it->trusted && k_host_keys[j].untrusted_only != NULL &&
                       strcmp(it->value, k_host_keys[j].untrusted_only) != 0) {
                it->ignored = true;
                fprintf(stderr, "warning: %s: ignoring '%s: %s' from a repository config (only a trusted source "
                                "can weaken verification)\n",
                        it->where, it->key, it->value);
            }
            continue;
        }
        if (driver_name == NULL || strcmp(it->block, driver_name) != 0) {
            if (other_block_ok != NULL && other_block_ok(arg, it->block)) { continue; }
            return cbx_set_err(err, CRABBOX_E_USAGE, "%s: unknown key '%s' (not a setting, and no installed driver has that name)",
                               it->where, it->block);
        }
        const crabbox_config_key *k = find_key(k_block_host_keys, it->key);
        if (k == NULL) { k = find_key(keys, it->key); }
        if (k == NULL) {
            return cbx_set_err(err, CRABBOX_E_USAGE, "%s: unknown key '%s.%s'", it->where, it->block, it->key);
        }
        rc = check_type(it, (k->flags & CRABBOX_KEY_BOOL) != 0 ? KT_BOOL : KT_STRING, err);
        if (rc != CRABBOX_OK) { return rc; }
        if (!it->trusted) {
            if ((k->flags & CRABBOX_KEY_TRUSTED_ONLY) != 0) {
                it->ignored = true;
                fprintf(stderr, "warning: %s: ignoring '%s.%s' from a repository config (it chooses what runs or "
                                "what is deployed; set it in your user config, the environment or a flag)\n",
                        it->where, it->block, it->key);
            } else if (strcmp(it->key, "attest") == 0 && strcmp(it->value, "true") != 0) {
                it->ignored = true;
                fprintf(stderr, "warning: %s: ignoring '%s.attest: false' from a repository config (only a trusted "
                                "source can turn attestation off)\n",
                        it->where, it->block);
            }
        }
    }
    return CRABBOX_OK;
}

static const cfg_item *effective(const config *c, const char *block, const char *key)
{
    const cfg_item *best = NULL;
    for (size_t i = 0; i < c->num; i++) {
        const cfg_item *it = &c->items[i];
        if (it->ignored || strcmp(it->key, key) != 0) { continue; }
        if (block == NULL ? it->block != NULL : (it->block == NULL || strcmp(it->block, block) != 0)) { continue; }
        if (best == NULL || it->level >= best->level) { best = it; }
    }
    return best;
}

const char *config_get(const config *c, const char *block, const char *key, const char **where)
{
    const cfg_item *it = effective(c, block, key);
    if (where != NULL) { *where = it != NULL ? it->where : "default"; }
    return it != NULL && it->value[0] != '\0' ? it->value : NULL;
}

bool config_get_bool(const config *c, const char *block, const char *key, bool def)
{
    const char *v = config_get(c, block, key, NULL);
    if (v == NULL) { return def; }
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

int config_flag_pos(const config *c, const char *block, const char *key)
{
    const cfg_item *it = effective(c, block, key);
    return it != NULL && it->level == CFG_LEVEL_FLAG ? it->argpos : -1;
}

bool config_trusted_sets(const config *c, const char *key)
{
    for (size_t i = 0; i < c->num; i++) {
        const cfg_item *it = &c->items[i];
        if (it->block == NULL && !it->ignored && it->trusted && it->value[0] != '\0' && strcmp(it->key, key) == 0) {
            return true;
        }
    }
    return false;
}

int config_policy(const config *c, tc_policy *out, crabbox_err *err)
{
    char msg[300];
    tc_policy_init(out);
    /* Trusted sources first, lowest level first (each replaces), then the repository's settings,
     * which can only tighten what the trusted ones left. */
    for (int pass = 0; pass < 2; pass++) {
        for (int level = CFG_LEVEL_DEFAULT; level <= CFG_LEVEL_FLAG; level++) {
            for (size_t i = 0; i < c->num; i++) {
                const cfg_item *it = &c->items[i];
                const char *vals[1] = { it->value };
                bool ok;
                if (it->block != NULL || it->ignored || it->level != level || it->trusted != (pass == 0) ||
                    !tc_policy_is_key(it->key)) {
                    continue;
                }
                if (it->value[0] == '\0') { continue; }
                ok = pass == 0 ? tc_policy_set(out, it->key, vals, 1, msg, sizeof msg)
                               : tc_policy_tighten(out, it->key, vals, 1, msg, sizeof msg);
                if (!ok) { return cbx_set_err(err, CRABBOX_E_USAGE, "%s: %s", it->where, msg); }
            }
        }
    }
    return CRABBOX_OK;
}
