/* test_host_config.c — crabbox configuration (tools/crabbox/config.c): YAML errors name file and
 * line; precedence defaults < user file < repository files < CRABBOX_CONFIG < environment <
 * flags; the trust rule for repository files; driver flags and environment spellings. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

TestSuite(host_config, .timeout = 30);

static const crabbox_config_key k_keys[] = {
    { "mode", 0 },
    { "helper", CRABBOX_KEY_TRUSTED_ONLY },
    { "instanceType", 0 },
    { "nodeId", CRABBOX_KEY_TRUSTED_ONLY },
    { "verbose", CRABBOX_KEY_BOOL },
    { NULL, 0 },
};

static bool phala_ok(void *arg, const char *name)
{
    (void)arg;
    return strcmp(name, "phala") == 0;
}

/* load parses text as file "cfg.yaml" (trusted unless said) and validates it for driver "test". */
static int load(config *c, const char *text, bool trusted, crabbox_err *err)
{
    int rc;
    config_init(c);
    rc = config_load_yaml(c, "cfg.yaml", (const uint8_t *)text, strlen(text),
                          trusted ? CFG_LEVEL_USER_FILE : CFG_LEVEL_REPO_FILE, trusted, err);
    if (rc != CRABBOX_OK) { return rc; }
    return config_validate(c, "test", k_keys, phala_ok, NULL, err);
}

static void expect_error(const char *text, const char *needle)
{
    config c;
    crabbox_err err = { 0 };
    int rc = load(&c, text, true, &err);
    cr_assert_eq(rc, CRABBOX_E_USAGE, "accepted: %s", text);
    cr_assert(strstr(err.message, needle) != NULL, "message \"%s\" lacks \"%s\"", err.message, needle);
    config_free(&c);
}

Test(host_config, reads_host_keys_and_the_driver_block)
{
    config c;
    crabbox_err err = { 0 };
    const char *where;
    cr_assert_eq(load(&c,
                      "# a comment\n"
                      "provider: test\n"
                      "class: fast\n"
                      "ttl: 2h\n"
                      "idleTimeout: 45m\n"
                      "test:\n"
                      "  mode: tamper-quote\n"
                      "  instanceType: tdx.large\n"
                      "  attest: true\n"
                      "  verbose: false\n"
                      "phala:\n"
                      "  cli: /opt/phala\n",
                      true, &err),
                 CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(config_get(&c, NULL, "provider", NULL), "test");
    cr_assert_str_eq(config_get(&c, NULL, "ttl", NULL), "2h");
    cr_assert_str_eq(config_get(&c, "test", "mode", &where), "tamper-quote");
    cr_assert_str_eq(where, "cfg.yaml:7");
    cr_assert_str_eq(config_get(&c, "test", "instanceType", NULL), "tdx.large");
    cr_assert(config_get_bool(&c, "test", "attest", false));
    cr_assert_not(config_get_bool(&c, "test", "verbose", true));
    cr_assert_null(config_get(&c, "test", "helper", &where));
    cr_assert_str_eq(where, "default");
    config_free(&c);
    config_free(&c); /* idempotent */
    config_free(NULL);
}

Test(host_config, empty_documents_are_fine)
{
    config c;
    crabbox_err err = { 0 };
    cr_assert_eq(load(&c, "", true, &err), CRABBOX_OK, "%s", err.message);
    config_free(&c);
    cr_assert_eq(load(&c, "---\n", true, &err), CRABBOX_OK, "%s", err.message);
    config_free(&c);
    cr_assert_eq(load(&c, "# only a comment\n", true, &err), CRABBOX_OK, "%s", err.message);
    config_free(&c);
}

Test(host_config, errors_name_file_line_and_key)
{
    expect_error("provider: test\nbogus: 1\n", "cfg.yaml:2: unknown key 'bogus'");
    expect_error("test:\n  mode: x\n  bogus: 2\n", "cfg.yaml:3: unknown key 'test.bogus'");
    expect_error("nosuchdriver:\n  x: 1\n", "unknown key 'nosuchdriver'");
    expect_error("test:\n  attest: maybe\n", "cfg.yaml:2: 'attest' must be true or false");
    expect_error("test:\n  attest: \"true\"\n", "'attest' must be true or false");
    expect_error("ttl: forever\n", "cfg.yaml:1: 'ttl' must be a duration");
    expect_error("ttl: 31d\n", "'ttl' must be a duration");
    expect_error("requireCollateral: yes\n", "'requireCollateral' must be true or false");
    expect_error("class: a\nclass: b\n", "cfg.yaml:2: duplicate key 'class'");
    expect_error("test:\n  mode: a\n  mode: b\n", "cfg.yaml:3: duplicate key 'test.mode'");
    expect_error("test:\n  mode: a\ntest:\n  helper: b\n", "cfg.yaml:3: duplicate key 'test'");
    expect_error("test:\n  mode: [a, b]\n", "cfg.yaml:2: 'test.mode' must be a single value");
    expect_error("class: [a]\n", "'class' must be a value or a block");
    expect_error("base: &x fast\nclass: *x\n", "anchors, aliases and tags are not supported");
    expect_error("class: !!str fast\n", "anchors, aliases and tags are not supported");
    expect_error("class: fast\n---\nclass: slow\n", "only one YAML document");
    expect_error("- a\n- b\n", "cfg.yaml:1: the file must be a mapping");
    expect_error("class: fast\n  bad: indent\n", "cfg.yaml:");
    expect_error("test:\n  mode: \"unterminated\n", "invalid YAML");
    expect_error("test: fast\n", "unknown key 'test' (driver settings go in a block)");
}

Test(host_config, a_failed_file_adds_nothing)
{
    config c;
    crabbox_err err = { 0 };
    config_init(&c);
    cr_assert_eq(config_load_yaml(&c, "a.yaml", (const uint8_t *)"class: fast\n", 12, CFG_LEVEL_USER_FILE, true, &err),
                 CRABBOX_OK);
    cr_assert_eq(config_load_yaml(&c, "b.yaml", (const uint8_t *)"ttl: 1h\nclass: [x]\n", 19, CFG_LEVEL_REPO_FILE,
                                  false, &err),
                 CRABBOX_E_USAGE);
    cr_assert_eq(c.num, 1, "b.yaml is all or nothing");
    cr_assert_str_eq(config_get(&c, NULL, "class", NULL), "fast");
    config_free(&c);
}

Test(host_config, repository_files_cannot_choose_what_runs)
{
    config c;
    crabbox_err err = { 0 };
    cr_assert_eq(load(&c,
                      "test:\n"
                      "  helper: /tmp/evil\n"
                      "  nodeId: 7\n"
                      "  compose: /tmp/evil.yml\n"
                      "  instanceType: tdx.medium\n"
                      "  attest: false\n",
                      false, &err),
                 CRABBOX_OK, "%s", err.message);
    cr_assert_null(config_get(&c, "test", "helper", NULL), "trusted-only key ignored");
    cr_assert_null(config_get(&c, "test", "nodeId", NULL));
    cr_assert_null(config_get(&c, "test", "compose", NULL), "compose is trusted-only for every driver");
    cr_assert_null(config_get(&c, "test", "attest", NULL), "attest: false ignored");
    cr_assert_str_eq(config_get(&c, "test", "instanceType", NULL), "tdx.medium", "harmless keys are taken");
    config_free(&c);
    cr_assert_eq(load(&c, "test:\n  attest: true\n", false, &err), CRABBOX_OK);
    cr_assert_str_eq(config_get(&c, "test", "attest", NULL), "true", "attest: true is taken from anywhere");
    config_free(&c);
}

Test(host_config, untrusted_attest_true_cannot_be_lowered_by_itself_but_trusted_false_counts)
{
    config c;
    crabbox_err err = { 0 };
    config_init(&c);
    cr_assert_eq(config_load_yaml(&c, "user.yaml", (const uint8_t *)"test:\n  attest: false\n", 21,
                                  CFG_LEVEL_USER_FILE, true, &err), CRABBOX_OK);
    cr_assert_eq(config_validate(&c, "test", k_keys, NULL, NULL, &err), CRABBOX_OK);
    cr_assert_str_eq(config_get(&c, "test", "attest", NULL), "false");
    config_free(&c);
}

/* ---- files, environment, flags -------------------------------------------------------------- */

static void write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[PATH_MAX];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, mode), 0);
}

static void scratch(char *out, size_t n)
{
    const char *b = getenv("CBA_BUILD_DIR");
    snprintf(out, n, "%s/host-config-XXXXXX", b != NULL ? b : "/tmp");
    cr_assert_not_null(mkdtemp(out));
}

static const char *g_env[][2] = {
    { "CRABBOX_CLASS", "large" },
    { "CRABBOX_TEST_INSTANCE_TYPE", "env-type" },
    { "CRABBOX_TEST_VERBOSE", "1" },
    { NULL, NULL },
};

static const char *fake_getenv(const char *name)
{
    for (size_t i = 0; g_env[i][0] != NULL; i++) {
        if (strcmp(g_env[i][0], name) == 0) { return g_env[i][1]; }
    }
    return NULL;
}

Test(host_config, precedence_files_env_flags)
{
    char dir[PATH_MAX], xdg[PATH_MAX + 16], repo[PATH_MAX + 16], outside[PATH_MAX + 32];
    config c;
    crabbox_err err = { 0 };
    const char *where;
    cfg_flag flags[] = { { .name = "test-mode", .value = "flag-mode", .argpos = 3 } };

    scratch(dir, sizeof dir);
    snprintf(xdg, sizeof xdg, "%s/xdg", dir);
    snprintf(repo, sizeof repo, "%s/repo", dir);
    cr_assert_eq(mkdir(xdg, 0700), 0);
    snprintf(outside, sizeof outside, "%s/xdg/crabbox", dir);
    cr_assert_eq(mkdir(outside, 0700), 0);
    cr_assert_eq(mkdir(repo, 0755), 0);
    write_text(outside, "config.yaml", "class: user\nttl: 1h\ntest:\n  mode: user-mode\n  helper: /user/helper\n"
                                       "  instanceType: user-type\n  nodeId: user-node\n", 0600);
    write_text(repo, "crabbox.yaml", "ttl: 2h\ntest:\n  mode: repo-mode\n  helper: /repo/helper\n", 0644);
    write_text(repo, ".crabbox.yaml", "idleTimeout: 5m\n", 0644);
    write_text(dir, "explicit.yaml", "ttl: 3h\n", 0600);
    snprintf(outside, sizeof outside, "%s/explicit.yaml", dir);

    config_init(&c);
    cr_assert_eq(config_load_files(&c, xdg, "/nonexistent-home", repo, outside, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(config_load_host_env(&c, fake_getenv, &err), CRABBOX_OK);
    cr_assert_eq(config_load_driver_env(&c, "test", k_keys, fake_getenv, &err), CRABBOX_OK);
    cr_assert_eq(config_add_driver_flags(&c, "test", k_keys, flags, 1, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(config_validate(&c, "test", k_keys, NULL, NULL, &err), CRABBOX_OK, "%s", err.message);

    cr_assert_str_eq(config_get(&c, NULL, "ttl", &where), "3h", "CRABBOX_CONFIG beats the repository");
    cr_assert(strstr(where, "explicit.yaml:1") != NULL, "%s", where);
    cr_assert_str_eq(config_get(&c, NULL, "idleTimeout", NULL), "5m", "the repository beats the default");
    cr_assert_str_eq(config_get(&c, NULL, "class", &where), "large", "environment beats files");
    cr_assert_str_eq(where, "environment CRABBOX_CLASS");
    cr_assert_str_eq(config_get(&c, "test", "instanceType", NULL), "env-type");
    cr_assert_str_eq(config_get(&c, "test", "verbose", NULL), "true", "1 means true");
    cr_assert_str_eq(config_get(&c, "test", "mode", &where), "flag-mode", "flags beat everything");
    cr_assert_str_eq(where, "flag --test-mode");
    cr_assert_eq(config_flag_pos(&c, "test", "mode"), 3);
    cr_assert_eq(config_flag_pos(&c, "test", "instanceType"), -1);
    cr_assert_str_eq(config_get(&c, "test", "helper", NULL), "/user/helper", "the repository's helper is ignored");
    cr_assert_str_eq(config_get(&c, "test", "nodeId", NULL), "user-node");
    config_free(&c);
    cr_assert_eq(cbx_remove_tree(dir), 0);
}

Test(host_config, crabbox_config_inside_the_repository_is_untrusted)
{
    char dir[PATH_MAX], git[PATH_MAX + 8], sub[PATH_MAX + 8], file[PATH_MAX + 32];
    config c;
    crabbox_err err = { 0 };
    scratch(dir, sizeof dir);
    snprintf(git, sizeof git, "%s/.git", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    cr_assert_eq(mkdir(git, 0755), 0);
    cr_assert_eq(mkdir(sub, 0755), 0);
    write_text(dir, "ci.yaml", "test:\n  helper: /repo/helper\n  mode: m\n", 0600);
    snprintf(file, sizeof file, "%s/ci.yaml", dir);
    config_init(&c);
    /* cwd is a subdirectory of the repository; the file is in the repository's root. */
    cr_assert_eq(config_load_files(&c, NULL, NULL, sub, file, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(config_validate(&c, "test", k_keys, NULL, NULL, &err), CRABBOX_OK);
    cr_assert_null(config_get(&c, "test", "helper", NULL));
    cr_assert_str_eq(config_get(&c, "test", "mode", NULL), "m");
    config_free(&c);
    /* Outside the repository it is trusted. */
    config_init(&c);
    cr_assert_eq(config_load_files(&c, NULL, NULL, "/usr", file, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(config_validate(&c, "test", k_keys, NULL, NULL, &err), CRABBOX_OK);
    cr_assert_str_eq(config_get(&c, "test", "helper", NULL), "/repo/helper");
    config_free(&c);
    /* A missing CRABBOX_CONFIG file is an error; a missing user file is not. */
    config_init(&c);
    cr_assert_eq(config_load_files(&c, dir, NULL, NULL, "/nonexistent/x.yaml", &err), CRABBOX_E_USAGE);
    cr_assert(strstr(err.message, "/nonexistent/x.yaml") != NULL);
    config_free(&c);
}

Test(host_config, trusted_file_writable_by_others_is_refused)
{
    char dir[PATH_MAX], sub[PATH_MAX + 16];
    config c;
    crabbox_err err = { 0 };
    scratch(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/crabbox", dir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    write_text(sub, "config.yaml", "class: fast\n", 0620);
    config_init(&c);
    cr_assert_eq(config_load_files(&c, dir, NULL, NULL, NULL, &err), CRABBOX_E_USAGE);
    cr_assert(strstr(err.message, "config.yaml") != NULL, "%s", err.message);
    config_free(&c);
}

Test(host_config, driver_flags)
{
    config c;
    crabbox_err err = { 0 };
    cfg_flag skip_then_attest[] = { { .name = "test-skip-attestation", .argpos = 1 },
                                    { .name = "test-attest", .argpos = 2 },
                                    { .name = "test-instance-type", .value = "tdx.medium", .argpos = 4 },
                                    { .name = "test-verbose", .value = "false", .argpos = 6 } };
    cfg_flag unknown[] = { { .name = "test-bogus", .value = "1" } };
    cfg_flag other[] = { { .name = "phala-cli", .value = "x" } };
    cfg_flag bad_bool[] = { { .name = "test-verbose", .value = "sure" } };
    cfg_flag attest_value[] = { { .name = "test-attest", .value = "x" } };
    cfg_flag no_value[] = { { .name = "test-mode", .value = NULL } };

    config_init(&c);
    cr_assert_eq(config_add_driver_flags(&c, "test", k_keys, skip_then_attest, 4, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(config_get(&c, "test", "attest", NULL), "false", "skip-attestation beats --test-attest");
    cr_assert_str_eq(config_get(&c, "test", "instanceType", NULL), "tdx.medium");
    cr_assert_eq(config_flag_pos(&c, "test", "instanceType"), 4);
    cr_assert_str_eq(config_get(&c, "test", "verbose", NULL), "false");
    config_free(&c);
    config_init(&c);
    cr_assert_eq(config_add_driver_flags(&c, "test", k_keys, unknown, 1, &err), CRABBOX_E_USAGE);
    cr_assert(strstr(err.message, "--test-bogus") != NULL);
    cr_assert_eq(config_add_driver_flags(&c, "test", k_keys, other, 1, &err), CRABBOX_E_USAGE,
                 "another driver's flag is unknown here");
    cr_assert_eq(config_add_driver_flags(&c, "test", k_keys, bad_bool, 1, &err), CRABBOX_E_USAGE);
    cr_assert_eq(config_add_driver_flags(&c, "test", k_keys, attest_value, 1, &err), CRABBOX_E_USAGE);
    cr_assert_eq(config_add_driver_flags(&c, "test", k_keys, no_value, 1, &err), CRABBOX_E_USAGE);
    config_free(&c);
}

static const char *bad_getenv(const char *name)
{
    return strcmp(name, "CRABBOX_TEST_ATTEST") == 0 ? "nope" : NULL;
}

static const char *bad_host_getenv(const char *name)
{
    return strcmp(name, "CRABBOX_REQUIRE_COLLATERAL") == 0 ? "maybe" : NULL;
}

Test(host_config, env_booleans_are_checked)
{
    config c;
    crabbox_err err = { 0 };
    config_init(&c);
    cr_assert_eq(config_load_driver_env(&c, "test", k_keys, bad_getenv, &err), CRABBOX_E_USAGE);
    cr_assert(strstr(err.message, "CRABBOX_TEST_ATTEST") != NULL, "%s", err.message);
    cr_assert_eq(config_load_host_env(&c, bad_host_getenv, &err), CRABBOX_E_USAGE);
    cr_assert(strstr(err.message, "CRABBOX_REQUIRE_COLLATERAL") != NULL, "%s", err.message);
    config_free(&c);
}

Test(host_config, spellings)
{
    char out[64];
    config_kebab(out, sizeof out, "instanceType");
    cr_assert_str_eq(out, "instance-type");
    config_snake_upper(out, sizeof out, "instanceType");
    cr_assert_str_eq(out, "INSTANCE_TYPE");
    config_snake_upper(out, sizeof out, "nodeId");
    cr_assert_str_eq(out, "NODE_ID");
    config_kebab(out, sizeof out, "cli");
    cr_assert_str_eq(out, "cli");
    cr_assert_not_null(config_builtin_keys("phala"));
    cr_assert_null(config_builtin_keys("test"));
}
