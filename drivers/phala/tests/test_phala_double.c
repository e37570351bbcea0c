/* test_phala_double.c — the phala driver plugin, dlopened by a minimal test host, against the
 * phala CLI double (tests/phala-double/phala): warmup, list, destroy with ownership re-checks,
 * adoption after an ambiguous deploy, rollback, cleanup, doctor, and every failure class
 * (auth, quota, usage, transient, malformed, timeout). Env: PHALA_DRIVER_SO, PHALA_DOUBLE. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testhost.h"

#define KEY "phak_integrationtestkey0001"
#define LEASE_A "cbx_0123456789ab"
#define NAME_A "crabbox-cbx-0123456789ab"
#define LEASE_B "cbx_ba9876543210"
#define NAME_B "crabbox-cbx-ba9876543210"
#define COMPOSE "services:\n  crabbox:\n    image: debian:stable-slim@sha256:f35eebaec00d2be9d1d3144156ce24c4b98d84d12376666a5c45e059b4a8d363\n    restart: unless-stopped\n    command: [\"sleep\", \"infinity\"]\n"

static char g_root[256], g_state[300], g_lease_dir[300], g_double_state[300], g_cloud_dir[300];
static th_host g_host;
static void *g_so;
static const crabbox_driver *g_drv;
static void *g_d;

static void setup(void)
{
    const char *so = getenv("PHALA_DRIVER_SO");
    const char *dbl = getenv("PHALA_DOUBLE");
    crabbox_driver_entry_fn *entry;
    crabbox_err err;
    char pub[400];
    FILE *f;
    cr_assert_not_null(so, "PHALA_DRIVER_SO is not set (run through ctest)");
    cr_assert_not_null(dbl, "PHALA_DOUBLE is not set (run through ctest)");
    snprintf(g_root, sizeof g_root, "/tmp/phala-it-XXXXXX");
    cr_assert_not_null(mkdtemp(g_root));
    snprintf(g_state, sizeof g_state, "%s/state", g_root);
    snprintf(g_lease_dir, sizeof g_lease_dir, "%s/lease", g_root);
    snprintf(g_double_state, sizeof g_double_state, "%s/double.json", g_root);
    snprintf(g_cloud_dir, sizeof g_cloud_dir, "%s/phala-cloud", g_root);
    cr_assert_eq(mkdir(g_state, 0700), 0);
    cr_assert_eq(mkdir(g_lease_dir, 0700), 0);
    cr_assert_eq(mkdir(g_cloud_dir, 0700), 0);
    snprintf(pub, sizeof pub, "%s/id_ed25519.pub", g_lease_dir);
    f = fopen(pub, "w");
    cr_assert_not_null(f);
    fputs("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtestkeytestkeytestkeytestkeytestkeytest crabbox\n",
          f);
    fclose(f);
    setenv("PHALA_DOUBLE_STATE", g_double_state, 1);
    setenv("PHALA_CLOUD_API_KEY", KEY, 1);
    setenv("PHALA_CLOUD_DIR", g_cloud_dir, 1);
    setenv("PHALA_DISABLE_UPDATE_CHECK", "1", 1);
    unsetenv("PHALA_DOUBLE_FAULTS");
    unsetenv("PHALA_DOUBLE_REJECTED_KEYS");
    unsetenv("PHALA_DOUBLE_GATEWAY_KEY");
    th_init(&g_host, g_state);
    th_config(&g_host, "cli", dbl);
    g_so = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(g_so, "dlopen: %s", dlerror());
    entry = (crabbox_driver_entry_fn *)dlsym(g_so, CRABBOX_DRIVER_ENTRY);
    cr_assert_not_null(entry);
    g_drv = entry(CRABBOX_DRIVER_ABI_VERSION);
    cr_assert_not_null(g_drv);
    memset(&err, 0, sizeof err);
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_OK, "%s", err.message);
}

static void teardown(void)
{
    char cmd[400];
    if (g_drv != NULL) { g_drv->close(g_d); }
    if (g_so != NULL) { dlclose(g_so); }
    th_cleanup(&g_host);
    if (getenv("TH_KEEP") == NULL && g_root[0] == '/') {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
        if (system(cmd) != 0) { fprintf(stderr, "could not remove %s\n", g_root); }
    }
}

TestSuite(phala_double, .init = setup, .fini = teardown, .timeout = 120);

/* ---- helpers ---------------------------------------------------------------------------------- */

static crabbox_lease_spec spec_for(const char *lease_id)
{
    crabbox_lease_spec s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    s.lease_id = lease_id;
    s.slug = "blue-crab";
    s.lease_dir = g_lease_dir;
    s.compose = (const uint8_t *)COMPOSE;
    s.compose_len = strlen(COMPOSE);
    return s;
}

static int warmup(const char *lease_id, crabbox_lease **out, crabbox_err *err)
{
    crabbox_lease_spec s = spec_for(lease_id);
    memset(err, 0, sizeof *err);
    return g_drv->warmup(g_d, &s, out, err);
}

static crabbox_lease *warmup_ok(const char *lease_id)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    cr_assert_eq(warmup(lease_id, &l, &err), CRABBOX_OK, "warmup: %s", err.message);
    cr_assert_not_null(l);
    return l;
}

/* dbl runs the double directly (helpers like `__double add`) and returns its stdout line. */
static void dbl(char *out, size_t out_len, const char *a1, const char *a2, const char *a3,
                const char *a4)
{
    const char *argv[] = { getenv("PHALA_DOUBLE"), a1, a2, a3, a4, NULL };
    crabbox_spawn_opts o;
    crabbox_output res;
    crabbox_err err;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.deadline_ms = g_host.host.now_ms(&g_host) + 20000 * g_host.clock_scale;
    cr_assert_eq(th_spawn(&g_host, argv, &o, &res, &err), CRABBOX_OK, "%s", err.message);
    if (out != NULL) {
        size_t n = res.out_len;
        while (n > 0 && (res.out[n - 1] == '\n')) { n--; }
        snprintf(out, out_len, "%.*s", (int)n, res.out ? (const char *)res.out : "");
    }
    th_output_free(&g_host, &res);
}

static json_object *double_state(void)
{
    json_object *o = json_object_from_file(g_double_state);
    cr_assert_not_null(o, "double state unreadable");
    return o;
}

static size_t num_cvms(void)
{
    json_object *st, *cvms;
    size_t n;
    if (access(g_double_state, F_OK) != 0) { return 0; }
    st = double_state();
    cr_assert(json_object_object_get_ex(st, "cvms", &cvms));
    n = json_object_array_length(cvms);
    json_object_put(st);
    return n;
}

/* cvm_field returns a field of the CVM named `name` (static buffer; "" when absent). */
static const char *cvm_field(const char *name, const char *field)
{
    static char buf[256];
    json_object *st = double_state(), *cvms, *v;
    buf[0] = '\0';
    cr_assert(json_object_object_get_ex(st, "cvms", &cvms));
    for (size_t i = 0; i < json_object_array_length(cvms); i++) {
        json_object *c = json_object_array_get_idx(cvms, i), *nm;
        if (json_object_object_get_ex(c, "name", &nm) &&
            strcmp(json_object_get_string(nm), name) == 0 &&
            json_object_object_get_ex(c, field, &v)) {
            snprintf(buf, sizeof buf, "%s", json_object_get_string(v));
        }
    }
    json_object_put(st);
    return buf;
}

/* calls returns the double's call log as argv strings joined by spaces, one per line. */
static char *calls(void)
{
    json_object *st, *list;
    size_t cap = 1 << 16, len = 0;
    char *s = calloc(1, cap);
    cr_assert_not_null(s);
    if (access(g_double_state, F_OK) != 0) { return s; }
    st = double_state();
    cr_assert(json_object_object_get_ex(st, "calls", &list));
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *c = json_object_array_get_idx(list, i), *argv;
        cr_assert(json_object_object_get_ex(c, "argv", &argv));
        for (size_t k = 0; k < json_object_array_length(argv); k++) {
            const char *w = json_object_get_string(json_object_array_get_idx(argv, k));
            if (len + strlen(w) + 3 >= cap) {
                cap *= 2;
                s = realloc(s, cap);
                cr_assert_not_null(s);
            }
            len += (size_t)sprintf(s + len, "%s%s", k ? " " : "", w);
        }
        s[len++] = '\n';
        s[len] = '\0';
    }
    json_object_put(st);
    return s;
}

static size_t count_calls(const char *prefix)
{
    char *c = calls(), *line = c;
    size_t n = 0, plen = strlen(prefix);
    while (line != NULL && *line != '\0') {
        if (strncmp(line, prefix, plen) == 0) { n++; }
        line = strchr(line, '\n');
        if (line != NULL) { line++; }
    }
    free(c);
    return n;
}

static char *record_text(const char *lease_id)
{
    char path[400];
    static char buf[1024];
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "%s/phala/%s.json", g_state, lease_id);
    f = fopen(path, "r");
    if (f == NULL) { return NULL; }
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void write_record(const char *lease_id, const char *name, const char *state, long age_s)
{
    char path[512], dir[400];
    FILE *f;
    snprintf(dir, sizeof dir, "%s/phala", g_state);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%.400s/%.32s.json", dir, lease_id);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "{\"lease\":\"%s\",\"name\":\"%s\",\"app_id\":\"\",\"state\":\"%s\",\"created_at\":%ld}\n",
            lease_id, name, state, (long)time(NULL) - age_s);
    fclose(f);
}

static void set_faults(const char *faults)
{
    setenv("PHALA_DOUBLE_FAULTS", faults, 1);
}

static crabbox_lease lease_struct(const char *lease_id, const char *app_id)
{
    crabbox_lease l;
    memset(&l, 0, sizeof l);
    l.struct_size = sizeof l;
    snprintf(l.lease_id, sizeof l.lease_id, "%s", lease_id);
    snprintf(l.cloud_id, sizeof l.cloud_id, "%s", app_id);
    return l;
}

/* ---- warmup ----------------------------------------------------------------------------------- */

Test(phala_double, warmup_deploys_and_resolves_gateway)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    char want[1024], compose_path[400], buf[1024];
    char *c;
    struct stat st;
    FILE *f;
    size_t n;
    cr_assert_eq(num_cvms(), 1);
    cr_assert_str_eq(l->lease_id, LEASE_A);
    cr_assert_str_eq(l->name, NAME_A);
    cr_assert_str_eq(l->app_id, cvm_field(NAME_A, "app_id"));
    cr_assert_str_eq(l->cloud_id, l->app_id);
    cr_assert_eq(strlen(l->app_id), 40);
    snprintf(want, sizeof want, "%s-22.dstack-pha-prod5.phala.network", l->app_id);
    cr_assert_str_eq(l->gateway_host, want);
    cr_assert_str_eq(l->status, "running");
    /* the exact deploy argv of phala-provider.md §7 */
    snprintf(compose_path, sizeof compose_path, "%s/crabbox-compose.yml", g_lease_dir);
    snprintf(want, sizeof want,
             "deploy --json --dev-os --ssh-pubkey %s/id_ed25519.pub --wait -n " NAME_A
             " -t tdx.small --compose %s --no-public-logs --no-public-sysinfo\n",
             g_lease_dir, compose_path);
    c = calls();
    cr_assert_not_null(strstr(c, want), "calls:\n%s\nwant: %s", c, want);
    cr_assert_null(strstr(c, KEY), "the API key never travels on argv");
    cr_assert_not_null(strstr(c, "cvms get --cvm-id "), "%s", c);
    free(c);
    /* the compose bytes went out exactly, 0600, and the double saw the same bytes */
    cr_assert_eq(stat(compose_path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    f = fopen(compose_path, "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    cr_assert_str_eq(buf, COMPOSE);
    cr_assert_str_eq(cvm_field(NAME_A, "compose_file"), COMPOSE);
    cr_assert_not_null(strstr(cvm_field(NAME_A, "ssh_pubkey"), "ssh-ed25519 "));
    /* the driver's record says ready, with the CVM id */
    cr_assert_not_null(record_text(LEASE_A));
    cr_assert_not_null(strstr(record_text(LEASE_A), "\"state\":\"ready\""));
    cr_assert_not_null(strstr(record_text(LEASE_A), l->app_id));
    cr_assert(th_log_has(&g_host, "provisioning provider=phala lease=" LEASE_A
                                  " slug=blue-crab instance_type=tdx.small keep=false"));
    cr_assert_not(g_host.saw_bad_deadline);
    g_drv->lease_free(g_d, l);
}

Test(phala_double, warmup_class_and_pinned_node)
{
    crabbox_lease_spec s = spec_for(LEASE_A);
    crabbox_lease *l = NULL;
    crabbox_err err;
    char *c;
    g_drv->close(g_d);
    th_config(&g_host, "nodeId", "7");
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_OK);
    s.class_name = "fast";
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_OK, "%s", err.message);
    c = calls();
    cr_assert_not_null(strstr(c, " -t tdx.medium --node-id 7 --compose "), "%s", c);
    free(c);
    cr_assert_str_eq(cvm_field(NAME_A, "instance_type"), "tdx.medium");
    cr_assert_str_eq(cvm_field(NAME_A, "node_id"), "7");
    g_drv->lease_free(g_d, l);
}

Test(phala_double, warmup_type_precedence)
{
    crabbox_lease_spec s = spec_for(LEASE_A);
    crabbox_lease *l = NULL;
    crabbox_err err;
    g_drv->close(g_d);
    th_config(&g_host, "instanceType", "tdx.large");
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_OK);
    s.class_name = "beast";
    s.instance_type = "linux/amd64:tdx.medium";
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(cvm_field(NAME_A, "instance_type"), "tdx.medium", "explicit type first");
    g_drv->lease_free(g_d, l);
    l = NULL;
    s = spec_for(LEASE_B);
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(cvm_field(NAME_B, "instance_type"), "tdx.large", "then the configured type");
    g_drv->lease_free(g_d, l);
}

Test(phala_double, warmup_refuses_bad_input_before_calling_the_cli)
{
    crabbox_lease_spec s = spec_for("cbx_XYZ");
    crabbox_lease *l = NULL;
    crabbox_err err;
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_USAGE);
    s = spec_for(LEASE_A);
    s.instance_type = "--json";
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_USAGE, "option-looking type");
    s = spec_for(LEASE_A);
    s.compose_len = 0;
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_USAGE);
    s = spec_for(LEASE_A);
    s.lease_dir = "/nonexistent/lease";
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_USAGE);
    s = spec_for(LEASE_A);
    s.struct_size = 8;
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_ABI);
    cr_assert_null(l);
    cr_assert_eq(g_host.num_spawns, 0, "nothing ran");
}

Test(phala_double, warmup_tolerates_libuv_assertion_line)
{
    crabbox_lease *l;
    set_faults("deploy=assert-line;get=assert-line;list=assert-line");
    l = warmup_ok(LEASE_A);
    g_drv->lease_free(g_d, l);
}

Test(phala_double, warmup_gateway_domain_with_port)
{
    crabbox_lease *l;
    crabbox_err err;
    setenv("PHALA_DOUBLE_GATEWAY_DOMAIN", "gw.example.test:8443", 1);
    l = warmup_ok(LEASE_A);
    cr_assert_not_null(strstr(l->gateway_host, "-22.gw.example.test:8443"), "%s", l->gateway_host);
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_OK, "%s", err.message);
    g_drv->lease_free(g_d, l);
    /* A port that is not one is refused like any other bad domain. */
    setenv("PHALA_DOUBLE_GATEWAY_DOMAIN", "gw.example.test:99999", 1);
    cr_assert_eq(warmup(LEASE_B, &l, &err), CRABBOX_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, "gateway domain is not a host name"), "%s", err.message);
    unsetenv("PHALA_DOUBLE_GATEWAY_DOMAIN");
}

Test(phala_double, warmup_gateway_domain_fallbacks)
{
    crabbox_lease *l;
    setenv("PHALA_DOUBLE_GATEWAY_KEY", "top", 1);
    setenv("PHALA_DOUBLE_GATEWAY_DOMAIN", "gw.example.test", 1);
    l = warmup_ok(LEASE_A);
    cr_assert_not_null(strstr(l->gateway_host, "-22.gw.example.test"), "%s", l->gateway_host);
    g_drv->lease_free(g_d, l);
    unsetenv("PHALA_DOUBLE_GATEWAY_DOMAIN");
}

Test(phala_double, warmup_without_gateway_domain_rolls_back)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    setenv("PHALA_DOUBLE_GATEWAY_KEY", "none", 1);
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, "no gateway domain"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "deleted Phala CVM"), "%s", err.message);
    cr_assert_eq(num_cvms(), 0);
    cr_assert_null(record_text(LEASE_A));
}

Test(phala_double, double_reads_knobs_from_cloud_dir)
{
    /* The real host forwards PHALA_CLOUD_DIR but not test variables: the double then takes its
     * state and faults from <cloud dir>/double.env. */
    char path[400];
    crabbox_lease *l = NULL;
    crabbox_err err;
    FILE *f;
    snprintf(path, sizeof path, "%s/double.env", g_cloud_dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "# test knobs\nPHALA_DOUBLE_STATE=%s\nPHALA_DOUBLE_FAULTS=deploy=fail:Insufficient "
               "balance\n",
            g_double_state);
    fclose(f);
    unsetenv("PHALA_DOUBLE_STATE");
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_QUOTA, "%s", err.message);
    cr_assert_eq(count_calls("deploy --json"), 1, "the state went where double.env says");
}

/* ---- deploy failures -------------------------------------------------------------------------- */

Test(phala_double, deploy_quota_is_classified)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    set_faults("deploy=fail:Insufficient balance");
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_QUOTA);
    cr_assert_eq(err.code, CRABBOX_E_QUOTA);
    cr_assert_str_eq(err.message, "phala deploy failed: quota or balance: Insufficient balance");
    cr_assert_null(l);
    cr_assert_eq(num_cvms(), 0);
    cr_assert_null(record_text(LEASE_A), "a definite failure leaves no record");
    cr_assert_eq(count_calls("cvms list"), 0, "no adoption attempt after a quota error");
}

Test(phala_double, deploy_without_credentials_is_auth)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    unsetenv("PHALA_CLOUD_API_KEY");
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_AUTH);
    cr_assert_not_null(strstr(err.message, "phala deploy failed: not authenticated: API token is "
                                           "required"),
                       "%s", err.message);
    cr_assert_eq(num_cvms(), 0);
}

Test(phala_double, deploy_with_rejected_key_is_auth)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    setenv("PHALA_DOUBLE_REJECTED_KEYS", KEY, 1);
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_AUTH);
    cr_assert_str_eq(err.message, "phala deploy failed: not authenticated: Invalid API key");
}

Test(phala_double, deploy_with_credentials_file)
{
    char path[400];
    FILE *f;
    crabbox_lease *l;
    unsetenv("PHALA_CLOUD_API_KEY");
    snprintf(path, sizeof path, "%s/credentials.json", g_cloud_dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"current_profile\": \"default\", \"profiles\": {\"default\": {\"token\": "
          "\"phak_fromprofile0001\"}}}\n",
          f);
    fclose(f);
    l = warmup_ok(LEASE_A);
    g_drv->lease_free(g_d, l);
}

Test(phala_double, deploy_invalid_name_is_usage)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    set_faults("deploy=fail:Invalid CVM name: \"crabbox-cbx-0123456789ab\". Name must be 5-63 "
               "characters, start with letter, and contain only letters/numbers/hyphens.");
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_USAGE);
    cr_assert_not_null(strstr(err.message, "phala deploy failed: invalid argument: Invalid CVM name"),
                       "%s", err.message);
}

Test(phala_double, deploy_garbage_then_adopts_by_name)
{
    /* exit 0 with unreadable output: the CVM may exist, so it is looked up, not leaked */
    crabbox_lease *l;
    set_faults("deploy=garbage");
    l = warmup_ok(LEASE_A);
    cr_assert_str_eq(l->app_id, cvm_field(NAME_A, "app_id"));
    cr_assert(th_log_has(&g_host, "adopted phala_cvm="));
    g_drv->lease_free(g_d, l);
}

Test(phala_double, adoption_after_transient_deploy)
{
    crabbox_lease *l;
    set_faults("deploy=transient");
    l = warmup_ok(LEASE_A);
    cr_assert_eq(num_cvms(), 1);
    cr_assert_str_eq(l->app_id, cvm_field(NAME_A, "app_id"));
    cr_assert(th_log_has(&g_host, "adopted phala_cvm="));
    cr_assert(th_log_has(&g_host, "transient error: fetch failed: socket hang up (ECONNRESET)"));
    cr_assert_not_null(strstr(record_text(LEASE_A), "\"state\":\"ready\""));
    g_drv->lease_free(g_d, l);
}

Test(phala_double, ambiguous_deploy_without_cvm_is_recorded)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    int64_t t0 = g_host.host.now_ms(&g_host);
    g_host.clock_scale = 20; /* the 30 s adoption window passes in ~1.5 s */
    t0 = g_host.host.now_ms(&g_host);
    set_faults("deploy=transient-nocreate");
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_TRANSIENT);
    cr_assert(g_host.host.now_ms(&g_host) - t0 >= 29000, "looked for the whole window");
    cr_assert_not_null(strstr(err.message, "no CVM appeared"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "ambiguous-create"), "%s", err.message);
    cr_assert_not_null(strstr(record_text(LEASE_A), "\"state\":\"ambiguous-create\""));
    cr_assert_geq(count_calls("cvms list"), 2, "polled the inventory");
    cr_assert_eq(num_cvms(), 0);
}

Test(phala_double, cancelled_host_runs_nothing)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    g_host.cancel = true;
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_CANCELLED);
    cr_assert_eq(count_calls("deploy"), 0);
    cr_assert_eq(num_cvms(), 0);
    /* the intent record stays ambiguous: a cancelled deploy may have created the CVM */
    cr_assert_not_null(strstr(record_text(LEASE_A), "\"state\":\"ambiguous-create\""));
}

/* ---- rollback --------------------------------------------------------------------------------- */

Test(phala_double, rollback_deletes_after_failure)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    set_faults("get=fail:Internal server error*1");
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_FAILED);
    cr_assert_not_null(strstr(err.message, "phala cvms get failed: error: Internal server error"),
                       "%s", err.message);
    cr_assert_not_null(strstr(err.message, "deleted Phala CVM"), "%s", err.message);
    cr_assert_eq(num_cvms(), 0);
    cr_assert_null(record_text(LEASE_A));
}

Test(phala_double, get_hang_times_out_and_rolls_back)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    g_host.deadline_cap_ms = 1500; /* stands in for the 30 s production deadline */
    set_faults("get=hang*1");
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_TIMEOUT);
    cr_assert_not_null(strstr(err.message, "phala cvms get failed: timed out"), "%s",
                       err.message);
    cr_assert_eq(num_cvms(), 0, "rolled back");
}

Test(phala_double, keep_keeps_the_cvm_after_failure)
{
    crabbox_lease_spec s = spec_for(LEASE_A);
    crabbox_lease *l = NULL;
    crabbox_err err;
    s.keep = true;
    set_faults("get=fail:Internal server error*1");
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_FAILED);
    cr_assert_not_null(strstr(err.message, "kept Phala CVM"), "%s", err.message);
    cr_assert_eq(num_cvms(), 1);
    cr_assert_not_null(strstr(record_text(LEASE_A), "\"state\":\"kept-after-failure\""));
    /* cleanup never deletes a kept CVM */
    cr_assert_eq(g_drv->cleanup(g_d, false, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(num_cvms(), 1);
    cr_assert(th_log_has(&g_host, "reason=kept-after-failure"));
}

Test(phala_double, failed_rollback_is_recorded_and_cleanup_finishes_it)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    set_faults("get=fail:Internal server error*1;delete=fail:Internal server error*1");
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_FAILED);
    cr_assert_not_null(strstr(err.message, "failed too"), "%s", err.message);
    cr_assert_eq(num_cvms(), 1);
    cr_assert_not_null(strstr(record_text(LEASE_A), "\"state\":\"rollback-cleanup\""));
    cr_assert_eq(g_drv->cleanup(g_d, true, &err), CRABBOX_OK, "%s", err.message);
    cr_assert(th_log_has(&g_host, "would destroy phala_cvm="));
    cr_assert_eq(num_cvms(), 1, "a dry run deletes nothing");
    cr_assert_eq(g_drv->cleanup(g_d, false, &err), CRABBOX_OK, "%s", err.message);
    cr_assert(th_log_has(&g_host, "lease=" LEASE_A " reason=rollback-cleanup"));
    cr_assert_eq(num_cvms(), 0);
    cr_assert_null(record_text(LEASE_A));
}

/* ---- list ------------------------------------------------------------------------------------- */

Test(phala_double, list_reports_only_crabbox_cvms)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    crabbox_lease_list *list = NULL;
    crabbox_err err;
    dbl(NULL, 0, "__double", "add", "my-web-app", NULL);
    dbl(NULL, 0, "__double", "add", "crabbox-not-a-lease", NULL);
    dbl(NULL, 0, "__double", "add", NAME_B, NULL);
    dbl(NULL, 0, "__double", "add", "ghost", "--no-cvm");
    cr_assert_eq(g_drv->list(g_d, &list, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(list->num, 2);
    cr_assert_str_eq(list->items[0].lease_id, LEASE_A);
    cr_assert_str_eq(list->items[0].cloud_id, l->app_id);
    cr_assert_str_eq(list->items[0].status, "running");
    cr_assert_str_eq(list->items[1].lease_id, LEASE_B);
    g_drv->lease_list_free(g_d, list);
    g_drv->lease_list_free(g_d, NULL);
    g_drv->lease_free(g_d, l);
    g_drv->lease_free(g_d, NULL);
}

/* seed writes a double state with n crabbox CVMs (faster than n deploys). */
static void seed(size_t n)
{
    FILE *f = fopen(g_double_state, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"calls\": [], \"fault_hits\": {}, \"ghost_apps\": 0, \"cvms\": [");
    for (size_t i = 0; i < n; i++) {
        fprintf(f,
                "%s{\"id\": \"id%zu\", \"name\": \"crabbox-cbx-%012zx\", \"app_id\": \"%040zx\", "
                "\"vm_uuid\": \"uuid-%zu\", \"instance_id\": \"i%zu\", \"status\": \"running\", "
                "\"instance_type\": \"tdx.small\", \"node_id\": 12, \"node_name\": \"prod5\", "
                "\"base_domain\": \"gw.example\", \"compose_file\": \"\", \"compose_hash\": \"\", "
                "\"ssh_pubkey\": \"\", \"created_at\": 0}",
                i ? "," : "", i, i, i + 1, i, i);
    }
    fprintf(f, "]}\n");
    fclose(f);
}

Test(phala_double, list_walks_pages_with_extra_total)
{
    crabbox_lease_list *list = NULL;
    crabbox_err err;
    seed(230);
    /* 75 apps without a CVM: total 305, totalPages 4; page 3 is short and page 4 empty */
    set_faults("list=extra-total:75");
    cr_assert_eq(g_drv->list(g_d, &list, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(list->num, 230);
    cr_assert_str_eq(list->items[229].lease_id, "cbx_0000000000e5");
    cr_assert_eq(count_calls("cvms list"), 4);
    cr_assert_eq(count_calls("cvms list --page 4 --page-size 100 --json"), 1);
    g_drv->lease_list_free(g_d, list);
}

Test(phala_double, list_duplicate_across_pages_is_malformed)
{
    crabbox_lease_list *list = NULL;
    crabbox_err err;
    seed(150);
    set_faults("list=duplicate");
    cr_assert_eq(g_drv->list(g_d, &list, &err), CRABBOX_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, "pagination inconsistency"), "%s", err.message);
    cr_assert_null(list);
}

Test(phala_double, list_garbage_is_malformed)
{
    crabbox_lease_list *list = NULL;
    crabbox_err err;
    set_faults("list=garbage");
    cr_assert_eq(g_drv->list(g_d, &list, &err), CRABBOX_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, "phala cvms list failed: malformed output: "), "%s",
                       err.message);
    set_faults("list=truncated");
    cr_assert_eq(g_drv->list(g_d, &list, &err), CRABBOX_E_MALFORMED);
    set_faults("list=transient");
    cr_assert_eq(g_drv->list(g_d, &list, &err), CRABBOX_E_TRANSIENT);
}

/* ---- destroy ---------------------------------------------------------------------------------- */

Test(phala_double, destroy_checks_ownership_then_deletes)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    crabbox_err err;
    char *c, want[200];
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(num_cvms(), 0);
    cr_assert_null(record_text(LEASE_A));
    c = calls();
    snprintf(want, sizeof want, "cvms get --cvm-id %s --json\ncvms delete --cvm-id %s --force --json\n",
             l->app_id, l->app_id);
    cr_assert_not_null(strstr(c, want), "re-read right before the delete:\n%s", c);
    free(c);
    snprintf(want, sizeof want, "released lease=" LEASE_A " phala_cvm=%s", l->app_id);
    cr_assert(th_log_has(&g_host, want));
    /* destroying again: gone counts as deleted */
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_OK, "%s", err.message);
    g_drv->lease_free(g_d, l);
}

Test(phala_double, destroy_when_already_gone)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    crabbox_err err;
    dbl(NULL, 0, "cvms", "delete", "--cvm-id", l->app_id); /* no --force: the double refuses */
    cr_assert_eq(num_cvms(), 1);
    {
        const char *argv[] = { getenv("PHALA_DOUBLE"), "cvms", "delete", "--cvm-id", l->app_id,
                               "--force", NULL };
        crabbox_spawn_opts o = { .struct_size = sizeof o, .deadline_ms = g_host.host.now_ms(&g_host) + 20000 };
        crabbox_output res;
        cr_assert_eq(th_spawn(&g_host, argv, &o, &res, &err), CRABBOX_OK);
        cr_assert_eq(res.exit_status, 0);
        th_output_free(&g_host, &res);
    }
    cr_assert_eq(num_cvms(), 0);
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_OK, "%s", err.message);
    cr_assert(th_log_has(&g_host, "is already gone"));
    cr_assert_eq(count_calls("cvms delete --cvm-id"), 2, "the driver did not delete again");
    g_drv->lease_free(g_d, l);
}

Test(phala_double, destroy_refuses_cvm_of_another_lease)
{
    crabbox_lease *a = warmup_ok(LEASE_A);
    crabbox_lease b = lease_struct(LEASE_B, a->app_id);
    crabbox_err err;
    cr_assert_eq(g_drv->destroy(g_d, &b, &err), CRABBOX_E_NOT_FOUND);
    cr_assert_not_null(strstr(err.message, "belongs to lease " LEASE_A ", not " LEASE_B), "%s",
                       err.message);
    cr_assert_eq(num_cvms(), 1);
    cr_assert_eq(count_calls("cvms delete"), 0);
    g_drv->lease_free(g_d, a);
}

Test(phala_double, destroy_refuses_foreign_cvm)
{
    char app[64];
    crabbox_lease l;
    crabbox_err err;
    dbl(app, sizeof app, "__double", "add", "my-web-app", NULL);
    cr_assert_eq(strlen(app), 40);
    l = lease_struct(LEASE_A, app);
    cr_assert_eq(g_drv->destroy(g_d, &l, &err), CRABBOX_E_NOT_FOUND);
    cr_assert_not_null(strstr(err.message, "is not a crabbox lease name"), "%s", err.message);
    cr_assert_eq(num_cvms(), 1);
    /* a lease naming another CVM than its record is refused before any CLI call */
    l = lease_struct(LEASE_A, "not-an-app-id");
    cr_assert_eq(g_drv->destroy(g_d, &l, &err), CRABBOX_E_NOT_FOUND);
    l = lease_struct(LEASE_A, app);
    snprintf(l.name, sizeof l.name, "%s", NAME_B);
    cr_assert_eq(g_drv->destroy(g_d, &l, &err), CRABBOX_E_NOT_FOUND);
    cr_assert_eq(count_calls("cvms delete"), 0);
}

Test(phala_double, destroy_refuses_app_id_other_than_recorded)
{
    crabbox_lease *a = warmup_ok(LEASE_A);
    char other[64];
    crabbox_lease l;
    crabbox_err err;
    dbl(other, sizeof other, "__double", "add", "crabbox-cbx-0123456789ab", NULL); /* same name */
    l = lease_struct(LEASE_A, other);
    cr_assert_eq(g_drv->destroy(g_d, &l, &err), CRABBOX_E_NOT_FOUND);
    cr_assert_not_null(strstr(err.message, "recorded CVM"), "%s", err.message);
    cr_assert_eq(num_cvms(), 2);
    g_drv->lease_free(g_d, a);
}

Test(phala_double, destroy_failure_keeps_record_for_retry)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    crabbox_err err;
    set_faults("delete=fail:Internal server error*1");
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_E_FAILED);
    cr_assert_not_null(strstr(err.message, "phala cvms delete failed: error: Failed to delete CVM"),
                       "%s", err.message);
    cr_assert_eq(num_cvms(), 1);
    cr_assert_not_null(record_text(LEASE_A));
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(num_cvms(), 0);
    g_drv->lease_free(g_d, l);
}

Test(phala_double, destroy_get_hang_times_out)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    crabbox_err err;
    g_host.deadline_cap_ms = 1500;
    set_faults("get=hang");
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_E_TIMEOUT);
    cr_assert_eq(num_cvms(), 1, "nothing deleted without the ownership re-check");
    g_drv->lease_free(g_d, l);
}

Test(phala_double, destroy_retries_a_delete_killed_at_its_deadline)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    crabbox_err err;
    g_host.deadline_cap_ms = 1500;
    set_faults("delete=hang:30*1");
    memset(&err, 0, sizeof err);
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(num_cvms(), 0);
    cr_assert_eq(count_calls("cvms delete"), 2, "the killed delete was retried once");
    cr_assert(th_log_has(&g_host, "is still there after timed out; deleting again"), "%s", g_host.log);
    g_drv->lease_free(g_d, l);
}

/* ---- cleanup ---------------------------------------------------------------------------------- */

Test(phala_double, cleanup_reaps_ambiguous_after_grace_and_drops_stale_records)
{
    crabbox_err err;
    dbl(NULL, 0, "__double", "add", NAME_A, NULL);
    write_record(LEASE_A, NAME_A, "ambiguous-create", 600);    /* past the 5 min grace */
    write_record(LEASE_B, NAME_B, "ready", 0);                 /* its CVM is gone */
    write_record("cbx_00000000beef", "crabbox-cbx-00000000beef", "deploying", 10); /* recent */
    cr_assert_eq(g_drv->cleanup(g_d, true, &err), CRABBOX_OK, "%s", err.message);
    cr_assert(th_log_has(&g_host, "would destroy phala_cvm="));
    cr_assert(th_log_has(&g_host, "would remove claim lease=" LEASE_B " reason=missing Phala CVM"));
    cr_assert_eq(num_cvms(), 1);
    cr_assert_not_null(record_text(LEASE_B));
    cr_assert_eq(g_drv->cleanup(g_d, false, &err), CRABBOX_OK, "%s", err.message);
    cr_assert(th_log_has(&g_host, "lease=" LEASE_A " reason=ambiguous-create"));
    cr_assert(th_log_has(&g_host, "skip phala_cvm=crabbox-cbx-00000000beef "
                                  "reason=ambiguous-create-grace"));
    cr_assert_eq(num_cvms(), 0);
    cr_assert_null(record_text(LEASE_A));
    cr_assert_null(record_text(LEASE_B));
    cr_assert_not_null(record_text("cbx_00000000beef"));
}

Test(phala_double, cleanup_skips_foreign_cvm_with_our_name_pattern)
{
    /* a CVM whose name decodes to a different lease than the record's is never touched */
    crabbox_err err;
    char app[64];
    dbl(app, sizeof app, "__double", "add", NAME_B, NULL);
    write_record(LEASE_B, NAME_B, "rollback-cleanup", 0);
    /* point the record at the right CVM by name only; the get re-check then sees NAME_B */
    cr_assert_eq(g_drv->cleanup(g_d, false, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(num_cvms(), 0, "its own CVM is reaped");
    dbl(app, sizeof app, "__double", "add", "my-web-app", NULL);
    write_record(LEASE_A, NAME_A, "rollback-cleanup", 0);
    cr_assert_eq(g_drv->cleanup(g_d, false, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(num_cvms(), 1, "another app is never reaped");
    cr_assert_null(record_text(LEASE_A), "the record of a missing CVM goes");
}

Test(phala_double, cleanup_stops_on_cli_error)
{
    crabbox_err err;
    dbl(NULL, 0, "__double", "add", NAME_A, NULL);
    write_record(LEASE_A, NAME_A, "rollback-cleanup", 0);
    set_faults("delete=fail:Internal server error");
    cr_assert_eq(g_drv->cleanup(g_d, false, &err), CRABBOX_E_FAILED);
    cr_assert_not_null(strstr(err.message, "cleanup stopped at phala_cvm="), "%s", err.message);
    cr_assert_not_null(record_text(LEASE_A));
    cr_assert_eq(num_cvms(), 1);
}

/* ---- doctor ----------------------------------------------------------------------------------- */

Test(phala_double, doctor_summary_counts_only_our_leases)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    char summary[256];
    crabbox_err err;
    dbl(NULL, 0, "__double", "add", NAME_B, NULL); /* crabbox-named, but not ours */
    dbl(NULL, 0, "__double", "add", "my-web-app", NULL);
    cr_assert_eq(g_drv->doctor(g_d, summary, sizeof summary, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(summary, "cli=ready control_plane=ready inventory=ready api=list "
                              "mutation=false leases=1");
    cr_assert(th_log_has(&g_host, "phala cli v1.1.18+d27a321"));
    g_drv->lease_free(g_d, l);
}

Test(phala_double, doctor_detects_not_logged_in)
{
    char summary[256] = "x";
    crabbox_err err;
    unsetenv("PHALA_CLOUD_API_KEY");
    cr_assert_eq(g_drv->doctor(g_d, summary, sizeof summary, &err), CRABBOX_E_AUTH);
    cr_assert_not_null(strstr(err.message, "not logged in"), "%s", err.message);
    cr_assert_str_eq(summary, "");
    cr_assert_eq(count_calls("cvms list"), 0);
}

Test(phala_double, doctor_rejected_key_and_broken_cli)
{
    char summary[256];
    crabbox_err err;
    setenv("PHALA_DOUBLE_REJECTED_KEYS", KEY, 1);
    cr_assert_eq(g_drv->doctor(g_d, summary, sizeof summary, &err), CRABBOX_E_AUTH);
    cr_assert_str_eq(err.message, "phala status failed: not authenticated: Invalid API key");
    unsetenv("PHALA_DOUBLE_REJECTED_KEYS");
    set_faults("version=garbage");
    cr_assert_eq(g_drv->doctor(g_d, summary, sizeof summary, &err), CRABBOX_E_MALFORMED);
    set_faults("list=garbage");
    cr_assert_eq(g_drv->doctor(g_d, summary, sizeof summary, &err), CRABBOX_E_MALFORMED);
}

Test(phala_double, doctor_missing_cli)
{
    char summary[256];
    crabbox_err err;
    g_drv->close(g_d);
    th_config(&g_host, "cli", "/nonexistent/phala");
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_OK);
    cr_assert_eq(g_drv->doctor(g_d, summary, sizeof summary, &err), CRABBOX_E_NOT_FOUND);
    cr_assert_not_null(strstr(err.message, "phala --version failed"), "%s", err.message);
}

/* ---- the ABI edges ---------------------------------------------------------------------------- */

Test(phala_double, open_checks_host_and_config)
{
    th_host h2;
    void *d = (void *)1;
    crabbox_err err;
    const crabbox_driver *(*entry)(uint32_t) =
        (const crabbox_driver *(*)(uint32_t))dlsym(g_so, CRABBOX_DRIVER_ENTRY);
    cr_assert_null(entry(2), "a host of another ABI version gets nothing");
    cr_assert_str_eq(g_drv->name, "phala");
    cr_assert_str_eq(g_drv->aliases[0], "phala-cloud");
    cr_assert_str_eq(g_drv->aliases[1], "dstack");
    cr_assert_null(g_drv->aliases[2]);
    cr_assert_eq(g_drv->struct_size, sizeof(crabbox_driver));
    th_init(&h2, g_state);
    h2.host.struct_size = 16;
    cr_assert_eq(g_drv->open(&h2.host, &d, &err), CRABBOX_E_ABI);
    cr_assert_null(d);
    th_init(&h2, g_state);
    th_config(&h2, "nodeId", "prod5");
    cr_assert_eq(g_drv->open(&h2.host, &d, &err), CRABBOX_E_USAGE);
    th_init(&h2, g_state);
    th_config(&h2, "instanceType", "-t");
    cr_assert_eq(g_drv->open(&h2.host, &d, &err), CRABBOX_E_USAGE);
    th_init(&h2, g_state);
    th_config(&h2, "workRoot", "/tmp");
    cr_assert_eq(g_drv->open(&h2.host, &d, &err), CRABBOX_E_USAGE);
    cr_assert_not_null(g_drv->config_keys);
    cr_assert_str_eq(g_drv->config_keys[0].name, "cli");
    cr_assert_eq(g_drv->config_keys[0].flags, CRABBOX_KEY_TRUSTED_ONLY);
    cr_assert_str_eq(g_drv->env_passthrough[0], "PHALA_CLOUD_API_KEY");
    g_drv->close(NULL);
}

/* The duration keys: whole seconds within bounds, else USAGE naming the key; the caps shorten
 * what they cap. */
Test(phala_double, duration_keys_are_validated)
{
    static const char *const keys[] = { "cliTimeoutSeconds", "adoptWaitSeconds", "evidenceTimeoutSeconds",
                                        "sshWaitSeconds" };
    static const char *const bad[] = { "0", "-1", "abc", "5s", "1.5", "86401", "99999999999", " 3" };
    th_host h2;
    void *d = NULL;
    crabbox_err err;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            if (k == 3 && strcmp(bad[b], "0") == 0) { continue; } /* sshWaitSeconds: 0 = one attempt */
            th_init(&h2, g_state);
            th_config(&h2, keys[k], bad[b]);
            memset(&err, 0, sizeof err);
            d = (void *)1;
            cr_assert_eq(g_drv->open(&h2.host, &d, &err), CRABBOX_E_USAGE, "%s=%s", keys[k], bad[b]);
            cr_assert_null(d);
            cr_assert_not_null(strstr(err.message, keys[k]), "%s", err.message);
            th_cleanup(&h2);
        }
        th_init(&h2, g_state);
        th_config(&h2, keys[k], "7");
        cr_assert_eq(g_drv->open(&h2.host, &d, &err), CRABBOX_OK, "%s", err.message);
        g_drv->close(d);
        th_cleanup(&h2);
    }
    for (size_t i = 0; g_drv->config_keys[i].name != NULL; i++) {
        if (strcmp(g_drv->config_keys[i].name, "cliTimeoutSeconds") == 0) { return; }
    }
    cr_assert_fail("cliTimeoutSeconds is not a declared config key");
}

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(phala_double, cli_timeout_caps_every_call)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    int64_t t0;
    g_drv->close(g_d);
    g_d = NULL;
    th_config(&g_host, "cliTimeoutSeconds", "1");
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_OK, "%s", err.message);
    set_faults("get=hang:60*1");
    t0 = real_now_ms();
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_TIMEOUT, "%s", err.message);
    cr_assert_lt(real_now_ms() - t0, 10000, "the 30 s get deadline was capped to 1 s");
    cr_assert_not_null(strstr(err.message, "phala cvms get failed: timed out"), "%s", err.message);
    cr_assert_eq(num_cvms(), 0, "rolled back");
}

Test(phala_double, adopt_wait_bounds_the_adoption_poll)
{
    crabbox_lease *l = NULL;
    crabbox_err err;
    int64_t t0;
    g_drv->close(g_d);
    g_d = NULL;
    th_config(&g_host, "adoptWaitSeconds", "1");
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_OK, "%s", err.message);
    set_faults("deploy=transient-nocreate");
    t0 = real_now_ms();
    cr_assert_eq(warmup(LEASE_A, &l, &err), CRABBOX_E_TRANSIENT);
    cr_assert_lt(real_now_ms() - t0, 15000, "not the 30 s default window");
    cr_assert_geq(real_now_ms() - t0, 900, "but the whole configured second");
    cr_assert_not_null(strstr(record_text(LEASE_A), "\"state\":\"ambiguous-create\""));
}

/* The data plane's failures without a gateway (the loopback harness tests/e2e covers the rest):
 * an unreachable gateway is a TRANSIENT error naming it; no session without a pinned key and a
 * token the host accepts. */
Test(phala_double, data_plane_refuses_without_gateway_or_token)
{
    crabbox_lease *l = warmup_ok(LEASE_A);
    crabbox_evidence *ev = (crabbox_evidence *)1;
    crabbox_session *s = (crabbox_session *)1;
    crabbox_attest_token tok;
    uint8_t nonce[32] = { 0 };
    crabbox_err err;
    th_host h2;
    void *d2 = NULL;
    char path[400];
    FILE *f;
    cr_assert_eq(g_drv->capabilities, CRABBOX_CAP_FRESH_QUOTE | CRABBOX_CAP_PROXY);
    th_init(&h2, g_state);
    th_config(&h2, "sshWaitSeconds", "0");
    cr_assert_eq(g_drv->open(&h2.host, &d2, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(setenv("CRABBOX_PHALA_CONNECT_TO", "127.0.0.1:1", 1), 0);
    cr_assert_eq(g_drv->fetch_evidence(d2, l, nonce, &ev, &err), CRABBOX_E_TRANSIENT, "%s", err.message);
    cr_assert_null(ev);
    cr_assert_not_null(strstr(err.message, "connect Phala SSH TLS gateway "), "%s", err.message);
    cr_assert_not_null(strstr(err.message, l->gateway_host), "%s", err.message);
    memset(&tok, 0, sizeof tok);
    tok.struct_size = sizeof tok;
    cr_assert_eq(g_drv->open_session(d2, l, &tok, &s, &err), CRABBOX_E_ATTESTATION);
    cr_assert_null(s);
    cr_assert_not_null(strstr(err.message, "no pinned host key"), "%s", err.message);
    snprintf(path, sizeof path, "%s/known_hosts", g_lease_dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "%s ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n", LEASE_A);
    fclose(f);
    cr_assert_eq(g_drv->open_session(d2, l, &tok, &s, &err), CRABBOX_E_ATTESTATION);
    cr_assert_null(s);
    cr_assert_not_null(strstr(err.message, "no valid attestation token"), "%s", err.message);
    g_drv->evidence_free(g_d, NULL);
    g_drv->session_free(g_d, NULL);
    g_drv->lease_free(g_d, l);
    g_drv->close(d2);
    th_cleanup(&h2);
}

/* ---- issue 11 §1: the CLI never runs in the user's folder -------------------------------------- */

Test(phala_double, every_cli_call_runs_in_a_private_empty_directory)
{
    char user_dir[400], toml[450], prefix[400], old_cwd[1024];
    crabbox_lease *l;
    crabbox_lease_list *list = NULL;
    crabbox_err err;
    char summary[256];
    json_object *st, *cs;
    FILE *f;
    /* The user's project folder holds a phala.toml naming their own CVM: the real CLI would turn
     * `deploy` into an update of that CVM. The test process (whose cwd the children would
     * inherit) stands in it. */
    snprintf(user_dir, sizeof user_dir, "%s/project", g_root);
    cr_assert_eq(mkdir(user_dir, 0700), 0);
    snprintf(toml, sizeof toml, "%s/phala.toml", user_dir);
    f = fopen(toml, "w");
    cr_assert_not_null(f);
    fputs("name = \"my-web-app\"\napp_id = \"1111111111111111111111111111111111111111\"\n", f);
    fclose(f);
    cr_assert_not_null(getcwd(old_cwd, sizeof old_cwd));
    cr_assert_eq(chdir(user_dir), 0);
    l = warmup_ok(LEASE_A);
    memset(&err, 0, sizeof err);
    cr_assert_eq(g_drv->list(g_d, &list, &err), CRABBOX_OK, "%s", err.message);
    g_drv->lease_list_free(g_d, list);
    cr_assert_eq(g_drv->doctor(g_d, summary, sizeof summary, &err), CRABBOX_OK, "%s", err.message);
    cr_assert(th_log_has(&g_host, "phala.toml in this folder is ignored"), "%s", g_host.log);
    cr_assert_eq(g_drv->destroy(g_d, l, &err), CRABBOX_OK, "%s", err.message);
    g_drv->lease_free(g_d, l);
    cr_assert_eq(chdir(old_cwd), 0);
    cr_assert_not(g_host.saw_no_cwd, "a CLI call without a working directory");
    /* Every call ran in its own new, empty, private directory under <state>/phala/cli-*, and
     * each one is gone afterwards. */
    snprintf(prefix, sizeof prefix, "%s/phala/cli-", g_state);
    st = double_state();
    cr_assert(json_object_object_get_ex(st, "calls", &cs));
    cr_assert_geq(json_object_array_length(cs), 6);
    for (size_t i = 0; i < json_object_array_length(cs); i++) {
        json_object *c = json_object_array_get_idx(cs, i), *cwd, *ents;
        cr_assert(json_object_object_get_ex(c, "cwd", &cwd));
        cr_assert(json_object_object_get_ex(c, "cwd_entries", &ents));
        cr_assert_eq(strncmp(json_object_get_string(cwd), prefix, strlen(prefix)), 0, "call %zu ran in %s", i,
                     json_object_get_string(cwd));
        cr_assert_eq(json_object_array_length(ents), 0, "call %zu: its directory was not empty", i);
        cr_assert_neq(access(json_object_get_string(cwd), F_OK), 0, "%s was left behind",
                      json_object_get_string(cwd));
        for (size_t k = 0; k < i; k++) {
            json_object *o = json_object_array_get_idx(cs, k), *ocwd;
            cr_assert(json_object_object_get_ex(o, "cwd", &ocwd));
            cr_assert_str_neq(json_object_get_string(ocwd), json_object_get_string(cwd),
                              "two calls shared a directory");
        }
    }
    json_object_put(st);
    /* The user's file is untouched. */
    cr_assert_eq(access(toml, F_OK), 0);
}


/* k_config_has_trusted_only: 1 when the driver declares key trusted-only, 0 when not, -1 absent. */
static int k_config_has_trusted_only(const crabbox_driver *drv, const char *key)
{
    for (const crabbox_config_key *k = drv->config_keys; k != NULL && k->name != NULL; k++) {
        if (strcmp(k->name, key) == 0) { return (k->flags & CRABBOX_KEY_TRUSTED_ONLY) != 0; }
    }
    return -1;
}

/* ---- issue 11 §3 / issue 12 §1: deploy flags and the pre-launch script --------------------------- */

#define SCRIPT "#!/bin/sh\n# crabbox pre-launch \xe2\x9c\x93\nset -e\necho ok\n"

Test(phala_double, deploy_keeps_logs_private_and_carries_the_pre_launch_script)
{
    crabbox_lease_spec s = spec_for(LEASE_A);
    crabbox_lease *l = NULL;
    crabbox_err err;
    char path[400], buf[256], want[1024];
    struct stat st;
    FILE *f;
    size_t n;
    s.pre_launch_script = (const uint8_t *)SCRIPT;
    s.pre_launch_script_len = strlen(SCRIPT);
    memset(&err, 0, sizeof err);
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_OK, "%s", err.message);
    snprintf(path, sizeof path, "%s/crabbox-pre-launch.sh", g_lease_dir);
    snprintf(want, sizeof want, "--no-public-logs --no-public-sysinfo --pre-launch-script %s\n", path);
    {
        char *c = calls();
        cr_assert_not_null(strstr(c, want), "%s", c);
        free(c);
    }
    /* the exact bytes, 0600, and the double (the CLI) got them */
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cr_assert_str_eq(buf, SCRIPT);
    cr_assert_str_eq(cvm_field(NAME_A, "pre_launch_script"), SCRIPT);
    g_drv->lease_free(g_d, l);
}

Test(phala_double, pre_launch_script_and_compose_must_be_utf8_text)
{
    crabbox_lease_spec s = spec_for(LEASE_A);
    crabbox_lease *l = NULL;
    crabbox_err err;
    static const uint8_t bad[] = { '#', '!', 0xff, '\n' };
    static const uint8_t nul[] = { 'a', 0, 'b' };
    s.pre_launch_script = bad;
    s.pre_launch_script_len = sizeof bad;
    memset(&err, 0, sizeof err);
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_USAGE);
    cr_assert_not_null(strstr(err.message, "pre-launch script is not UTF-8"), "%s", err.message);
    s.pre_launch_script = nul;
    s.pre_launch_script_len = sizeof nul;
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_USAGE);
    s = spec_for(LEASE_A);
    s.compose = nul;
    s.compose_len = sizeof nul;
    cr_assert_eq(g_drv->warmup(g_d, &s, &l, &err), CRABBOX_E_USAGE);
    cr_assert_not_null(strstr(err.message, "compose is not UTF-8"), "%s", err.message);
    cr_assert_eq(count_calls("deploy"), 0, "refused before the CLI ran");
}

Test(phala_double, public_logs_and_sysinfo_are_trusted_opt_ins)
{
    crabbox_lease *l;
    crabbox_err err;
    char *c;
    g_drv->close(g_d);
    th_config(&g_host, "publicLogs", "true");
    th_config(&g_host, "publicSysinfo", "true");
    memset(&err, 0, sizeof err);
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_OK, "%s", err.message);
    l = warmup_ok(LEASE_A);
    c = calls();
    cr_assert_not_null(strstr(c, " --public-logs --public-sysinfo\n"), "%s", c);
    free(c);
    g_drv->lease_free(g_d, l);
    cr_assert_eq(k_config_has_trusted_only(g_drv, "publicLogs"), 1);
    cr_assert_eq(k_config_has_trusted_only(g_drv, "publicSysinfo"), 1);
    g_drv->close(g_d);
    th_config(&g_host, "publicLogs", "yes");
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_E_USAGE);
    cr_assert_not_null(strstr(err.message, "true or false"), "%s", err.message);
    th_config(&g_host, "publicLogs", "false");
    cr_assert_eq(g_drv->open(&g_host.host, &g_d, &err), CRABBOX_OK, "%s", err.message);
}

Test(phala_double, cli_dirs_left_by_a_killed_run_are_swept)
{
    char stale[400], busy[400], file[450];
    crabbox_lease_list *list = NULL;
    crabbox_err err;
    int fd;
    FILE *f;
    snprintf(stale, sizeof stale, "%s/phala", g_state);
    (void)mkdir(stale, 0700);
    snprintf(stale, sizeof stale, "%s/phala/cli-AAAAAA", g_state);
    snprintf(busy, sizeof busy, "%s/phala/cli-BBBBBB", g_state);
    cr_assert_eq(mkdir(stale, 0700), 0);
    cr_assert_eq(mkdir(busy, 0700), 0);
    snprintf(file, sizeof file, "%s/phala.toml", stale);
    f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("name = \"x\"\n", f);
    fclose(f);
    fd = open(busy, O_RDONLY | O_DIRECTORY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0); /* a run in progress */
    memset(&err, 0, sizeof err);
    cr_assert_eq(g_drv->list(g_d, &list, &err), CRABBOX_OK, "%s", err.message);
    g_drv->lease_list_free(g_d, list);
    cr_assert_neq(access(stale, F_OK), 0, "the stale directory (owner killed) is swept");
    cr_assert_eq(access(busy, F_OK), 0, "a directory in use stays");
    close(fd);
}
