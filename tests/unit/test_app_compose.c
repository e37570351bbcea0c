/* test_app_compose.c — the app-compose policy (check app_compose): every attack from issue 12 §1
 * on an app-compose that keeps our docker compose byte for byte, each refused naming the member. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "appcompose.h"
#include "crabbox/verifier.h"
#include "crypto.h"
#include "testutil.h"

TestSuite(app_compose, .timeout = 60);

#define COMPOSE "services:\n  box:\n    image: debian\n"
#define COMPOSE_J "services:\\n  box:\\n    image: debian\\n"
#define SCRIPT "#!/bin/sh\nprintf '%s\\n' 'ssh-ed25519 AAAA lease' > /home/root/.ssh/authorized_keys\n"
#define SCRIPT_J "#!/bin/sh\\nprintf '%s\\\\n' 'ssh-ed25519 AAAA lease' > /home/root/.ssh/authorized_keys\\n"
#define BASE "\"runner\":\"docker-compose\",\"docker_compose_file\":\"" COMPOSE_J "\",\"manifest_version\":2"

static void host_policy(cba_app_compose_policy *p)
{
    cba_app_compose_policy_init(p);
    p->docker_compose = (const uint8_t *)COMPOSE;
    p->docker_compose_len = strlen(COMPOSE);
    p->pre_launch_script = (const uint8_t *)SCRIPT;
    p->pre_launch_script_len = strlen(SCRIPT);
    p->require_pre_launch_script = true;
}

static cba_err check(const cba_app_compose_policy *p, const char *json, cba_error *e, cba_app_compose_result *res)
{
    cba_error_clear(e);
    return cba_app_compose_check(e, res, p, cbs_make((const uint8_t *)json, strlen(json)));
}

typedef struct attack {
    const char *name;
    const char *json;
    const char *detail; /* substring the failure must contain (member and values) */
} attack;

static const attack k_attacks[] = {
    { "extra pre_launch_script (attacker key)",
      "{" BASE ",\"pre_launch_script\":\"#!/bin/sh\\necho evil >> /home/root/.ssh/authorized_keys\\n\"}",
      "pre_launch_script sha256:" },
    { "bash runner replaces the containers", "{\"runner\":\"bash\",\"bash_script\":\"curl x|sh\",\"docker_compose_file\":\"" COMPOSE_J "\",\"pre_launch_script\":\"" SCRIPT_J "\"}",
      "runner is \"bash\"; the policy wants \"docker-compose\"" },
    { "bash_script beside our runner", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"bash_script\":\"id\"}",
      "bash_script is \"id\"" },
    { "allowed_envs opened", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"allowed_envs\":[\"DSTACK_AUTHORIZED_KEYS\"]}",
      "allowed_envs[0] is \"DSTACK_AUTHORIZED_KEYS\"; the policy wants no env names" },
    { "docker_config credentials", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"docker_config\":{\"registry\":\"evil\"}}",
      "docker_config is an object of 1 members" },
    { "no_instance_id turned on", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"no_instance_id\":true}",
      "no_instance_id is true; the policy wants false" },
    { "flag of the wrong type", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"public_logs\":\"yes\"}",
      "public_logs is \"yes\"; the policy wants a boolean" },
    { "unknown member", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"init_script\":\"id\"}",
      "unknown member \"init_script\"" },
    { "unknown feature", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"features\":[\"kms\",\"ssh\"]}",
      "features[1] is \"ssh\"" },
    { "odd storage_fs", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"storage_fs\":\"tmpfs\"}",
      "storage_fs is \"tmpfs\"" },
    { "manifest_version 3", "{\"runner\":\"docker-compose\",\"docker_compose_file\":\"" COMPOSE_J "\",\"manifest_version\":3,\"pre_launch_script\":\"" SCRIPT_J "\"}",
      "manifest_version is 3; the policy wants 1 or 2" },
    { "another compose", "{\"runner\":\"docker-compose\",\"docker_compose_file\":\"services: {}\\n\",\"pre_launch_script\":\"" SCRIPT_J "\"}",
      "docker_compose_file is sha256:" },
    { "script dropped by the platform", "{" BASE "}", "pre_launch_script is absent" },
    { "runner absent", "{\"docker_compose_file\":\"" COMPOSE_J "\",\"pre_launch_script\":\"" SCRIPT_J "\"}",
      "runner is absent" },
    { "compose absent", "{\"runner\":\"docker-compose\",\"pre_launch_script\":\"" SCRIPT_J "\"}",
      "docker_compose_file is absent" },
    { "script with one more byte", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J " \"}", "runs as root" },
    { "odd key provider", "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"key_provider\":\"tpm\"}",
      "key_provider is \"tpm\"" },
    { "not an object", "[1]", "not a JSON object" },
    { "not JSON (a YAML compose)", "services: {}\n", "" },
    { "duplicate runner", "{\"runner\":\"bash\"," BASE ",\"pre_launch_script\":\"" SCRIPT_J "\"}", "" },
};

Test(app_compose, every_attack_is_refused_naming_the_member)
{
    cba_app_compose_policy p;
    cba_error e;
    cba_app_compose_result res;
    host_policy(&p);
    for (size_t i = 0; i < sizeof k_attacks / sizeof k_attacks[0]; i++) {
        cba_err rc = check(&p, k_attacks[i].json, &e, &res);
        cr_expect_eq(rc, CBA_E_APP_COMPOSE_POLICY, "%s: accepted or wrong code %d", k_attacks[i].name, rc);
        cr_expect(strstr(e.detail, k_attacks[i].detail) != NULL, "%s: detail \"%s\" lacks \"%s\"",
                  k_attacks[i].name, e.detail, k_attacks[i].detail);
        for (const char *c = e.detail; *c != '\0'; c++) {
            cr_expect((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f, "%s: raw byte in detail",
                      k_attacks[i].name);
        }
    }
}

Test(app_compose, the_host_app_compose_passes)
{
    cba_app_compose_policy p;
    cba_error e;
    cba_app_compose_result res;
    uint8_t h[32];
    cbs s = cbs_make((const uint8_t *)SCRIPT, strlen(SCRIPT));
    host_policy(&p);
    cr_assert_eq(check(&p,
                       "{" BASE ",\"pre_launch_script\":\"" SCRIPT_J "\",\"name\":\"x\",\"kms_enabled\":true,"
                       "\"gateway_enabled\":true,\"tproxy_enabled\":true,\"public_logs\":true,\"public_sysinfo\":true,"
                       "\"public_tcbinfo\":true,\"local_key_provider_enabled\":false,\"no_instance_id\":false,"
                       "\"secure_time\":false,\"storage_fs\":\"zfs\",\"features\":[\"kms\",\"tproxy-net\"],"
                       "\"allowed_envs\":[],\"docker_config\":{},\"bash_script\":null,\"key_provider\":\"kms\","
                       "\"key_provider_id\":\"\"}",
                       &e, &res),
                 CBA_OK, "%s", e.detail);
    cr_assert_eq(res.match, CBA_SCRIPT_SUPPLIED);
    cr_assert(cba_sha256(h, &s, 1));
    cr_assert_eq(memcmp(h, res.script_sha256, 32), 0);
}

Test(app_compose, allow_list_and_flag_rules)
{
    cba_app_compose_policy p;
    cba_error e;
    cba_app_compose_result res;
    uint8_t list[1][32];
    const char *other = "{" BASE ",\"pre_launch_script\":\"#!/bin/sh\\n\"}";
    cbs s = cbs_make((const uint8_t *)"#!/bin/sh\n", 10);
    host_policy(&p);
    cr_assert_eq(check(&p, other, &e, &res), CBA_E_APP_COMPOSE_POLICY);
    cr_assert(cba_sha256(list[0], &s, 1));
    p.pre_launch_script_sha256 = (const uint8_t(*)[32])list;
    p.num_pre_launch_script_sha256 = 1;
    cr_assert_eq(check(&p, other, &e, &res), CBA_OK, "%s", e.detail);
    cr_assert_eq(res.match, CBA_SCRIPT_ALLOW_LISTED);
    /* A driver that asked for public_logs false gets it enforced. */
    p.flag_rules[CBA_ACF_PUBLIC_LOGS] = CBA_FLAG_FALSE;
    cr_assert_eq(check(&p, "{" BASE ",\"pre_launch_script\":\"#!/bin/sh\\n\",\"public_logs\":true}", &e, &res),
                 CBA_E_APP_COMPOSE_POLICY);
    cr_assert(strstr(e.detail, "public_logs is true; the policy wants false") != NULL, "%s", e.detail);
    cr_assert_str_eq(cba_app_compose_flag_name(CBA_ACF_PUBLIC_LOGS), "public_logs");
    /* No docker compose expectation (the caller pinned the whole app-compose): any compose. */
    p.docker_compose = NULL;
    cr_assert_eq(check(&p, "{\"runner\":\"docker-compose\",\"docker_compose_file\":\"x\",\"pre_launch_script\":\"#!/bin/sh\\n\"}",
                       &e, &res),
                 CBA_OK, "%s", e.detail);
}
