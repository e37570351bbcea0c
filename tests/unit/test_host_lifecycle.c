/* test_host_lifecycle.c — the lease request and the admission policy are resolved from the
 * configuration once (tools/crabbox/lifecycle.c lease_request_resolve, admission.c
 * admission_resolve): what a new lease is made of, the class handed to the driver (an instance
 * type flag after --class beats it), the compose read once and kept in memory, refusals of a bad
 * compose setting, and the admission settings. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifecycle.h"

TestSuite(host_lifecycle, .timeout = 30);

static const crabbox_config_key k_keys[] = {
    { "instanceType", 0 },
    { NULL, 0 },
};

static const crabbox_driver k_driver = { .name = "test" };

/* setup makes an app for driver "test" with the YAML text as the user's file. */
static void setup(app *a, const char *yaml)
{
    crabbox_err err = { 0 };
    memset(a, 0, sizeof *a);
    a->class_pos = -1;
    a->d = &k_driver;
    a->ttl = 90 * 60;
    a->idle = 30 * 60;
    config_init(&a->cfg);
    cr_assert_eq(config_load_yaml(&a->cfg, "user.yaml", (const uint8_t *)yaml, strlen(yaml), CFG_LEVEL_USER_FILE,
                                  true, &err),
                 CRABBOX_OK, "%s", err.message);
}

static void validate(app *a)
{
    crabbox_err err = { 0 };
    cr_assert_eq(config_validate(&a->cfg, "test", k_keys, NULL, NULL, &err), CRABBOX_OK, "%s", err.message);
}

/* temp_file writes text to a new file under /tmp; its path in out. */
static void temp_file(char out[PATH_MAX], const char *text, size_t len)
{
    int fd;
    snprintf(out, PATH_MAX, "/tmp/crabbox-lifecycle-XXXXXX");
    fd = mkstemp(out);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

Test(host_lifecycle, defaults_resolve_to_the_bundled_compose_and_the_command_line)
{
    app a;
    lease_request r;
    crabbox_err err = { 0 };
    setup(&a, "class: fast\ntest:\n  instanceType: tdx.small\n");
    validate(&a);
    a.keep = true;
    a.slug_opt = "My Box";
    a.ttl = 600;
    a.idle = 60;
    cr_assert_eq(lease_request_resolve(&a, &r, &err), CRABBOX_OK, "%s", err.message);
    cr_assert(r.compose.len > 0 && strstr((const char *)r.compose.data, "services:") != NULL);
    cr_assert_str_eq(r.class_name, "fast");
    cr_assert_str_eq(r.driver_class, "fast");
    cr_assert_null(r.instance_type, "no --type: the driver resolves instanceType itself");
    cr_assert_str_eq(r.server_type, "tdx.small");
    cr_assert_str_eq(r.slug, "My Box");
    cr_assert(r.keep);
    cr_assert_eq(r.ttl_secs, 600);
    cr_assert_eq(r.idle_secs, 60);
    cr_assert(r.admission.attest, "attestation is on by default");
    cr_assert(r.admission.collateral_fetch);
    cr_assert_not(r.admission.allow_info_only);
    cr_assert_eq(r.admission.policy_error.code, CRABBOX_OK);
    cr_assert_not_null(r.admission.verifier_settings);
    lease_request_free(&r);
    config_free(&a.cfg);
}

Test(host_lifecycle, type_flag_beats_the_configured_instance_type)
{
    app a;
    lease_request r;
    crabbox_err err = { 0 };
    setup(&a, "test:\n  instanceType: tdx.small\n");
    validate(&a);
    a.type_opt = "tdx.large";
    cr_assert_eq(lease_request_resolve(&a, &r, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(r.instance_type, "tdx.large");
    cr_assert_str_eq(r.server_type, "tdx.large");
    cr_assert_null(r.class_name);
    cr_assert_null(r.driver_class);
    lease_request_free(&r);
    config_free(&a.cfg);
}

/* phala-provider.md §3: an instance type flag after --class beats the class; one before it does not. */
static const char *driver_class_for(int class_pos, int type_pos)
{
    static char out[32];
    app a;
    lease_request r;
    crabbox_err err = { 0 };
    const cfg_flag flag = { .name = "test-instance-type", .value = "tdx.large", .argpos = type_pos };
    setup(&a, "");
    cr_assert_eq(config_add(&a.cfg, NULL, "class", "fast", CFG_LEVEL_FLAG, true, class_pos, "flag --class", &err),
                 CRABBOX_OK);
    cr_assert_eq(config_add_driver_flags(&a.cfg, "test", k_keys, &flag, 1, &err), CRABBOX_OK, "%s", err.message);
    validate(&a);
    a.class_pos = class_pos;
    cr_assert_eq(lease_request_resolve(&a, &r, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(r.class_name, "fast", "the claim records the class either way");
    snprintf(out, sizeof out, "%s", r.driver_class != NULL ? r.driver_class : "(none)");
    lease_request_free(&r);
    config_free(&a.cfg);
    return out;
}

Test(host_lifecycle, instance_type_flag_after_class_beats_it)
{
    cr_assert_str_eq(driver_class_for(2, 4), "(none)");
    cr_assert_str_eq(driver_class_for(4, 2), "fast");
}

Test(host_lifecycle, compose_is_read_once_and_kept)
{
    char path[PATH_MAX], yaml[PATH_MAX + 64];
    static const char k_first[] = "services:\n  a:\n    image: first\n";
    static const char k_second[] = "services:\n  b:\n    image: second-and-longer\n";
    app a;
    lease_request r;
    crabbox_err err = { 0 };
    FILE *f;
    temp_file(path, k_first, sizeof k_first - 1);
    snprintf(yaml, sizeof yaml, "test:\n  compose: %s\n", path);
    setup(&a, yaml);
    validate(&a);
    cr_assert_eq(lease_request_resolve(&a, &r, &err), CRABBOX_OK, "%s", err.message);
    /* What is deployed and verified are the bytes read here, whatever the file says later. */
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(k_second, f);
    fclose(f);
    cr_assert_eq(r.compose.len, sizeof k_first - 1);
    cr_assert(memcmp(r.compose.data, k_first, r.compose.len) == 0);
    lease_request_free(&r);
    config_free(&a.cfg);
    unlink(path);
}

static void expect_compose_refused(const char *setting, const char *needle)
{
    char yaml[PATH_MAX + 64];
    app a;
    lease_request r;
    crabbox_err err = { 0 };
    snprintf(yaml, sizeof yaml, "test:\n  compose: %s\n", setting);
    setup(&a, yaml);
    validate(&a);
    cr_assert_eq(lease_request_resolve(&a, &r, &err), CRABBOX_E_USAGE, "accepted compose %s", setting);
    cr_assert(strstr(err.message, needle) != NULL, "message \"%s\" lacks \"%s\"", err.message, needle);
    lease_request_free(&r);
    config_free(&a.cfg);
}

Test(host_lifecycle, bad_compose_settings_are_refused)
{
    char path[PATH_MAX];
    size_t big = LEASE_DEPLOY_MAX + 1;
    char *text = malloc(big);
    cr_assert_not_null(text);
    memset(text, '#', big);
    temp_file(path, text, big);
    free(text);
    expect_compose_refused("https://example.com/compose.yml", "must be a local file, not a URL");
    expect_compose_refused(path, "larger than 200 KiB");
    expect_compose_refused("/tmp", "not a regular file");
    expect_compose_refused("/nonexistent/compose.yml", "No such file");
    unlink(path);
}

Test(host_lifecycle, admission_settings_are_resolved_with_their_source)
{
    app a;
    admission_policy p;
    setup(&a, "collateralFetch: false\nallowInfoOnlyAttestation: true\npccsUrl: https://pccs.example/\n"
              "acceptPhalaDefaultPreLaunchScript: true\ntest:\n  attest: false\n");
    validate(&a);
    a.require_collateral = true;
    a.json = true;
    admission_resolve(&a, &p);
    cr_assert_not(p.attest);
    cr_assert(strstr(p.attest_where, "user.yaml") != NULL, "where: %s", p.attest_where);
    cr_assert_not(p.collateral_fetch);
    cr_assert(p.allow_info_only);
    cr_assert(p.accept_phala_default_script);
    cr_assert(p.require_collateral);
    cr_assert(p.fetch.quiet, "--json keeps the fetch code quiet");
    cr_assert_str_eq(p.fetch.pccs_url, "https://pccs.example/");
    cr_assert_not(p.measurements_configured, "no trusted MRTD/RTMR0-2 allow-list: pinned on first use");
    admission_free(&p);
    admission_free(NULL);
    config_free(&a.cfg);
}
