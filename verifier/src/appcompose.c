/* appcompose.c — the app-compose policy (check app_compose; rules in crabbox/verifier.h).
 *
 * dstack runs the whole app-compose: a pre_launch_script runs as root before the containers, a
 * "bash" runner replaces them, allowed_envs lets whoever holds the env encryption key (the host
 * included) feed values in. Binding the compose hash proves which app-compose ran; this decides
 * whether that app-compose is one we accept. Every member is known or refused. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "appcompose.h"
#include "crypto.h"
#include "json.h"

static const char *const k_flag_names[] = {
#define CBA_X_ROW(name, str) [name] = str,
    CBA_APP_COMPOSE_FLAGS(CBA_X_ROW)
#undef CBA_X_ROW
};
_Static_assert(sizeof k_flag_names / sizeof k_flag_names[0] == CBA_ACF_COUNT, "one name per flag");

/* The documented sets (docs/verifier.md §App-compose policy). */
static const char *const k_storage_fs[] = { "zfs", "ext4" };
static const char *const k_features[] = { "kms", "tproxy-net" };
static const char *const k_key_providers[] = { "none", "kms", "local" };

const char *cba_app_compose_flag_name(cba_app_compose_flag flag)
{
    return (unsigned)flag < CBA_ACF_COUNT ? k_flag_names[flag] : "none";
}

void cba_app_compose_policy_init(cba_app_compose_policy *policy)
{
    memset(policy, 0, sizeof *policy);
    policy->struct_size = (uint32_t)sizeof *policy;
    /* The instance id is reported and bound by its event; a compose that turns it off hides
     * which instance answered. */
    policy->flag_rules[CBA_ACF_NO_INSTANCE_ID] = CBA_FLAG_FALSE;
}

/* short_hash writes the first 8 bytes of SHA-256(v) as hex ("sha256:0123456789abcdef"). */
static void short_hash(char out[32], cbs v)
{
    uint8_t h[32];
    char hex[65];
    if (!cba_sha256(h, &v, 1)) {
        snprintf(out, 32, "sha256:?");
        return;
    }
    cba_hex_encode(hex, h, 32);
    snprintf(out, 32, "sha256:%.16s", hex);
}

/* describe writes a short, printable description of a JSON value for a failure detail: short
 * printable strings quoted, long or odd ones by hash, other types by type and value. Never raw
 * bytes that could carry control characters. */
static void describe(char *out, size_t n, const json_object *v)
{
    cbs s;
    if (v == NULL) {
        snprintf(out, n, "null");
    } else if (cba_json_string_view(v, &s)) {
        bool plain = s.len <= 24;
        for (size_t i = 0; plain && i < s.len; i++) {
            plain = s.data[i] >= 0x20 && s.data[i] < 0x7f && s.data[i] != '"';
        }
        if (plain) {
            snprintf(out, n, "\"%.*s\"", (int)s.len, (const char *)s.data);
        } else {
            char h[32];
            short_hash(h, s);
            snprintf(out, n, "%zu-byte string %s", s.len, h);
        }
    } else if (json_object_is_type(v, json_type_boolean)) {
        snprintf(out, n, "%s", json_object_get_boolean(v) ? "true" : "false");
    } else if (json_object_is_type(v, json_type_int)) {
        snprintf(out, n, "%lld", (long long)json_object_get_int64(v));
    } else if (json_object_is_type(v, json_type_array)) {
        snprintf(out, n, "an array of %zu", json_object_array_length(v));
    } else if (json_object_is_type(v, json_type_object)) {
        snprintf(out, n, "an object of %d members", json_object_object_length(v));
    } else {
        snprintf(out, n, "a %s", json_type_to_name(json_object_get_type(v)));
    }
}

static bool in_list(const char *const *list, size_t num, cbs s)
{
    for (size_t i = 0; i < num; i++) {
        if (cbs_eq_str(s, list[i])) { return true; }
    }
    return false;
}

static bool in_null_list(const char *const *list, cbs s)
{
    for (const char *const *p = list; p != NULL && *p != NULL; p++) {
        if (cbs_eq_str(s, *p)) { return true; }
    }
    return false;
}

static cba_err fail_member(cba_error *err, const char *member, const json_object *v, const char *want)
{
    char got[64];
    describe(got, sizeof got, v);
    return cba_fail(err, CBA_E_APP_COMPOSE_POLICY, "app_compose", "%s is %s; the policy wants %s", member, got,
                    want);
}

static cba_err check_script(cba_error *err, const cba_app_compose_policy *p, const json_object *v,
                            cba_app_compose_result *res)
{
    static const char k_phala_hex[] = CBA_PHALA_DEFAULT_PRE_LAUNCH_SHA256_HEX;
    uint8_t phala[32];
    cbs s;
    char want[96], got[32];
    if (!cba_json_string_view(v, &s)) { return fail_member(err, "pre_launch_script", v, "a string"); }
    CBA_ENSURE(cba_sha256(res->script_sha256, &s, 1), err, CBA_E_INTERNAL, "crypto", "SHA-256 failed");
    res->has_script = true;
    if (p->pre_launch_script != NULL && s.len == p->pre_launch_script_len &&
        memcmp(s.data, p->pre_launch_script, s.len) == 0) {
        res->match = CBA_SCRIPT_SUPPLIED;
        return CBA_OK;
    }
    for (size_t i = 0; i < p->num_pre_launch_script_sha256; i++) {
        if (cba_ct_eq(p->pre_launch_script_sha256[i], res->script_sha256, 32)) {
            res->match = CBA_SCRIPT_ALLOW_LISTED;
            return CBA_OK;
        }
    }
    short_hash(got, s);
    if (cba_hex_decode(phala, 32, k_phala_hex, sizeof k_phala_hex - 1) && cba_ct_eq(res->script_sha256, phala, 32)) {
        /* The one everybody meets first: say what it does. */
        return cba_fail(err, CBA_E_APP_COMPOSE_POLICY, "app_compose.pre_launch_script",
                        "pre_launch_script %s is Phala's default v0.0.15: the host can add root SSH keys; the "
                        "policy wants %s",
                        got, p->pre_launch_script != NULL ? "the supplied script" : "none");
    }
    if (p->pre_launch_script != NULL) {
        char sup[32];
        short_hash(sup, cbs_make(p->pre_launch_script, p->pre_launch_script_len));
        snprintf(want, sizeof want, "the supplied script %s", sup);
    } else {
        snprintf(want, sizeof want, "none");
    }
    return cba_fail(err, CBA_E_APP_COMPOSE_POLICY, "app_compose.pre_launch_script",
                    "pre_launch_script %s (%zu bytes) runs as root; the policy wants %s%s", got, s.len, want,
                    p->num_pre_launch_script_sha256 ? " or an allow-listed hash" : " (no hash allow-listed)");
}

static cba_err check_string_array(cba_error *err, const char *member, const json_object *v,
                                  const char *const *list, size_t num, bool null_terminated, const char *want)
{
    if (!json_object_is_type(v, json_type_array)) { return fail_member(err, member, v, want); }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        const json_object *e = json_object_array_get_idx(v, i);
        cbs s;
        bool ok = cba_json_string_view(e, &s) && (null_terminated ? in_null_list(list, s) : in_list(list, num, s));
        if (!ok) {
            char what[48];
            snprintf(what, sizeof what, "%s[%zu]", member, i);
            return fail_member(err, what, e, want);
        }
    }
    return CBA_OK;
}

/* member_flag returns the flag index for `key`, or CBA_ACF_COUNT. */
static cba_app_compose_flag member_flag(const char *key)
{
    for (int i = 0; i < CBA_ACF_COUNT; i++) {
        if (strcmp(key, k_flag_names[i]) == 0) { return (cba_app_compose_flag)i; }
    }
    return CBA_ACF_COUNT;
}

static cba_err check_member(cba_error *err, const cba_app_compose_policy *p, const char *key, const json_object *v,
                            cba_app_compose_result *res)
{
    cba_app_compose_flag flag = member_flag(key);
    cbs s;
    if (flag != CBA_ACF_COUNT) {
        uint8_t rule = p->flag_rules[flag];
        if (!json_object_is_type(v, json_type_boolean)) { return fail_member(err, key, v, "a boolean"); }
        if (rule == CBA_FLAG_FALSE && json_object_get_boolean(v)) { return fail_member(err, key, v, "false"); }
        if (rule == CBA_FLAG_TRUE && !json_object_get_boolean(v)) { return fail_member(err, key, v, "true"); }
        return CBA_OK;
    }
    if (strcmp(key, "runner") == 0) {
        if (!cba_json_string_view(v, &s) || !cbs_eq_str(s, "docker-compose")) {
            return fail_member(err, key, v, "\"docker-compose\"");
        }
        res->has_runner = true;
        return CBA_OK;
    }
    if (strcmp(key, "bash_script") == 0) {
        return v == NULL ? CBA_OK : fail_member(err, key, v, "no bash_script (it replaces the containers)");
    }
    if (strcmp(key, "docker_compose_file") == 0) {
        if (!cba_json_string_view(v, &s)) { return fail_member(err, key, v, "a string"); }
        if (p->docker_compose != NULL &&
            !(s.len == p->docker_compose_len && memcmp(s.data, p->docker_compose, s.len) == 0)) {
            char got[32], want[80];
            short_hash(got, s);
            short_hash(want, cbs_make(p->docker_compose, p->docker_compose_len));
            return cba_fail(err, CBA_E_APP_COMPOSE_POLICY, "app_compose.docker_compose_file",
                            "docker_compose_file is %s (%zu bytes); the policy wants the expected compose %s (%zu "
                            "bytes)",
                            got, s.len, want, p->docker_compose_len);
        }
        res->has_compose = true;
        return CBA_OK;
    }
    if (strcmp(key, "pre_launch_script") == 0) { return check_script(err, p, v, res); }
    if (strcmp(key, "allowed_envs") == 0) {
        return check_string_array(err, key, v, p->allowed_envs, 0, true,
                                  p->allowed_envs != NULL && p->allowed_envs[0] != NULL
                                      ? "only the env names the deployer declared"
                                      : "no env names (empty)");
    }
    if (strcmp(key, "docker_config") == 0) {
        bool empty = v == NULL || (json_object_is_type(v, json_type_object) && json_object_object_length(v) == 0);
        return empty ? CBA_OK : fail_member(err, key, v, "none (registry credentials and mirrors)");
    }
    if (strcmp(key, "storage_fs") == 0) {
        if (!cba_json_string_view(v, &s) || !in_list(k_storage_fs, CBA_ARRAY_LEN(k_storage_fs), s)) {
            return fail_member(err, key, v, "\"zfs\" or \"ext4\"");
        }
        return CBA_OK;
    }
    if (strcmp(key, "features") == 0) {
        return check_string_array(err, key, v, k_features, CBA_ARRAY_LEN(k_features), false,
                                  "\"kms\" or \"tproxy-net\"");
    }
    if (strcmp(key, "manifest_version") == 0) {
        int64_t n = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
        return n == 1 || n == 2 ? CBA_OK : fail_member(err, key, v, "1 or 2");
    }
    if (strcmp(key, "name") == 0) {
        return cba_json_string_view(v, &s) ? CBA_OK : fail_member(err, key, v, "a string");
    }
    if (strcmp(key, "key_provider") == 0) {
        /* Which key provider serves the app's keys; the key-provider event and MRCONFIGID bind it. */
        if (!cba_json_string_view(v, &s) || !in_list(k_key_providers, CBA_ARRAY_LEN(k_key_providers), s)) {
            return fail_member(err, key, v, "\"none\", \"kms\" or \"local\"");
        }
        return CBA_OK;
    }
    if (strcmp(key, "key_provider_id") == 0) {
        bool hex = cba_json_string_view(v, &s) && s.len <= 128;
        for (size_t i = 0; hex && i < s.len; i++) {
            uint8_t c = s.data[i];
            hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        }
        return hex ? CBA_OK : fail_member(err, key, v, "a hex string (at most 64 bytes)");
    }
    return cba_fail(err, CBA_E_APP_COMPOSE_POLICY, "app_compose",
                    "unknown member \"%.40s\" (the policy refuses what it does not know)", key);
}

cba_err cba_app_compose_check(cba_error *err, cba_app_compose_result *res, const cba_app_compose_policy *p,
                              cbs app_compose)
{
    json_object *root = NULL;
    cba_err rc = CBA_OK;
    memset(res, 0, sizeof *res);
    CBA_TRY(cba_json_parse(err, &root, app_compose, CBA_JSON_MAX_DEPTH, CBA_E_APP_COMPOSE_POLICY,
                           "tcb_info.app_compose"));
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return cba_fail(err, CBA_E_APP_COMPOSE_POLICY, "tcb_info.app_compose", "app_compose is not a JSON object");
    }
    /* Who can log in first: the script's verdict is the most important explanation. */
    {
        json_object *script;
        if (json_object_object_get_ex(root, "pre_launch_script", &script)) {
            rc = check_member(err, p, "pre_launch_script", script, res);
        }
    }
    if (rc == CBA_OK) {
        json_object_object_foreach(root, key, val)
        {
            if (strcmp(key, "pre_launch_script") == 0) { continue; }
            rc = check_member(err, p, key, val, res);
            if (rc != CBA_OK) { break; }
        }
    }
    json_object_put(root);
    CBA_TRY(rc);
    /* Absent members whose absence changes what runs. */
    CBA_ENSURE(res->has_runner, err, CBA_E_APP_COMPOSE_POLICY, "app_compose",
               "runner is absent; the policy wants \"docker-compose\"");
    CBA_ENSURE(res->has_compose || p->docker_compose == NULL, err, CBA_E_APP_COMPOSE_POLICY, "app_compose",
               "docker_compose_file is absent; the policy wants the expected compose");
    CBA_ENSURE(res->has_script || !p->require_pre_launch_script, err, CBA_E_APP_COMPOSE_POLICY,
               "app_compose.pre_launch_script",
               "pre_launch_script is absent; the policy wants the supplied script (the platform dropped it)");
    return CBA_OK;
}
