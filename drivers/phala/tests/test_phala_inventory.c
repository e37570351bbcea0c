/* test_phala_inventory.c — `cvms list` pages, `cvms get` documents, gateway hosts and the
 * driver's lease records (phala-provider.md §6, §7, §9). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "phala.h"

TestSuite(phala_inventory, .timeout = 30);

#define APP_A "0123456789abcdef0123456789abcdef01234567"
#define APP_B "89abcdef0123456789abcdef0123456789abcdef"

static cbs txt(const char *s)
{
    return cbs_make((const uint8_t *)s, strlen(s));
}

static json_object *doc_of(const char *s)
{
    json_object *o = json_tokener_parse(s);
    cr_assert_not_null(o, "test JSON must parse: %s", s);
    return o;
}

static int add_page(phala_inventory *inv, const char *json, uint64_t page, phala_page_info *info,
                    crabbox_err *err)
{
    json_object *doc = doc_of(json);
    int rc;
    memset(err, 0, sizeof *err);
    rc = phala_inventory_add_page(inv, doc, page, info, err);
    json_object_put(doc);
    return rc;
}

Test(phala_inventory, page_with_items)
{
    phala_inventory inv = { NULL, 0, 0 };
    phala_page_info info;
    crabbox_err err;
    int rc = add_page(&inv,
                      "{\"success\": true, \"page\": 1, \"pageSize\": 100, \"total\": 2, "
                      "\"totalPages\": 1, \"items\": ["
                      "{\"appId\": \"" APP_A "\", \"cvmName\": \"crabbox-cbx-3fa91c0d22e1\", "
                      "\"status\": \"running\", \"uptime\": \"3m\"},"
                      "{\"appId\": \"app_" APP_B "\", \"cvmName\": \"other\", \"status\": \"starting\"}"
                      "]}",
                      1, &info, &err);
    cr_assert_eq(rc, CRABBOX_OK, "%s", err.message);
    cr_assert_eq(inv.num, 2);
    cr_assert_str_eq(inv.items[0].app_id, APP_A);
    cr_assert_str_eq(inv.items[0].name, "crabbox-cbx-3fa91c0d22e1");
    cr_assert_str_eq(inv.items[0].status, "running");
    cr_assert_str_eq(inv.items[1].app_id, APP_B, "the app_ prefix is dropped");
    cr_assert_str_eq(inv.items[1].status, "provisioning");
    cr_assert_eq(info.num_items, 2);
    cr_assert_eq(info.total, 2);
    cr_assert_eq(info.total_pages, 1);
    cr_assert_not(phala_inventory_more(&info, 1, PHALA_PAGE_SIZE));
    phala_inventory_cleanup(&inv);
    phala_inventory_cleanup(&inv); /* idempotent */
    phala_inventory_cleanup(NULL);
}

Test(phala_inventory, total_may_exceed_items)
{
    phala_inventory inv = { NULL, 0, 0 };
    phala_page_info info;
    crabbox_err err;
    /* Apps without a current CVM count in total but are left out of items. */
    int rc = add_page(&inv,
                      "{\"success\": true, \"page\": 1, \"pageSize\": 100, \"total\": 5, "
                      "\"items\": [{\"appId\": \"" APP_A "\", \"cvmName\": \"a-cvm-1\"}]}",
                      1, &info, &err);
    cr_assert_eq(rc, CRABBOX_OK, "%s", err.message);
    cr_assert_eq(info.total, 5);
    cr_assert_str_eq(inv.items[0].status, "unknown");
    cr_assert_not(phala_inventory_more(&info, 1, PHALA_PAGE_SIZE), "a short page ends the walk");
    phala_inventory_cleanup(&inv);
}

Test(phala_inventory, walk_follows_total_pages_past_short_pages)
{
    phala_page_info info = { 3, 350, 4 };
    cr_assert(phala_inventory_more(&info, 1, 100), "page 1 of 4, though short");
    cr_assert(phala_inventory_more(&info, 3, 100));
    cr_assert_not(phala_inventory_more(&info, 4, 100));
    info = (phala_page_info){ 100, 0, 0 };
    cr_assert(phala_inventory_more(&info, 7, 100), "no totalPages: a full page asks for more");
    info.num_items = 0;
    cr_assert_not(phala_inventory_more(&info, 7, 100), "an empty page ends the walk");
}

Test(phala_inventory, duplicate_app_across_pages_is_refused)
{
    phala_inventory inv = { NULL, 0, 0 };
    phala_page_info info;
    crabbox_err err;
    cr_assert_eq(add_page(&inv,
                          "{\"success\": true, \"page\": 1, \"items\": [{\"appId\": \"" APP_A
                          "\", \"cvmName\": \"first\"}]}",
                          1, &info, &err),
                 CRABBOX_OK);
    cr_assert_eq(add_page(&inv,
                          "{\"success\": true, \"page\": 2, \"items\": [{\"appId\": \"app_" APP_A
                          "\", \"cvmName\": \"again\"}]}",
                          2, &info, &err),
                 CRABBOX_E_MALFORMED);
    cr_assert_not_null(strstr(err.message, "pagination inconsistency"), "%s", err.message);
    phala_inventory_cleanup(&inv);
}

Test(phala_inventory, malformed_pages)
{
    static const char *const bad[] = {
        "{\"success\": true}",                                           /* no items */
        "{\"success\": false, \"items\": []}",                           /* not a success */
        "{\"success\": true, \"items\": {}}",                            /* items not an array */
        "{\"success\": true, \"items\": [1]}",                           /* item not an object */
        "{\"success\": true, \"items\": [{\"cvmName\": \"x\"}]}",        /* no appId */
        "{\"success\": true, \"items\": [{\"appId\": \"abc\", \"cvmName\": \"x\"}]}",
        "{\"success\": true, \"items\": [{\"appId\": \"" APP_A "\"}]}",  /* no cvmName */
        "{\"success\": true, \"items\": [{\"appId\": \"" APP_A "\", \"cvmName\": 7}]}",
        "{\"success\": true, \"page\": 2, \"items\": []}",               /* echoes another page */
        "{\"success\": true, \"total\": -1, \"items\": []}",
        "{\"success\": true, \"totalPages\": \"1\", \"items\": []}",
        "{\"success\": true, \"items\": [{\"appId\": \"" APP_A "\", \"cvmName\": "
        "\"0123456789012345678901234567890123456789012345678901234567890123\"}]}", /* 64 chars */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        phala_inventory inv = { NULL, 0, 0 };
        crabbox_err err;
        cr_assert_eq(add_page(&inv, bad[i], 1, NULL, &err), CRABBOX_E_MALFORMED, "accepted: %s",
                     bad[i]);
        cr_assert_eq(err.code, CRABBOX_E_MALFORMED);
        phala_inventory_cleanup(&inv);
    }
}

Test(phala_inventory, page_larger_than_page_size_is_refused)
{
    phala_inventory inv = { NULL, 0, 0 };
    crabbox_err err;
    char *json = malloc(200 * 120 + 100);
    size_t n = 0;
    cr_assert_not_null(json);
    n += (size_t)sprintf(json + n, "{\"success\": true, \"items\": [");
    for (int i = 0; i < 101; i++) {
        n += (size_t)sprintf(json + n, "%s{\"appId\": \"%040x\", \"cvmName\": \"c%d\"}",
                             i ? "," : "", i, i);
    }
    sprintf(json + n, "]}");
    cr_assert_eq(add_page(&inv, json, 1, NULL, &err), CRABBOX_E_MALFORMED);
    free(json);
    phala_inventory_cleanup(&inv);
}

static int parse_get(const char *json, phala_cvm_detail *det, crabbox_err *err)
{
    json_object *doc = doc_of(json);
    int rc;
    memset(err, 0, sizeof *err);
    rc = phala_parse_get(doc, det, err);
    json_object_put(doc);
    return rc;
}

Test(phala_inventory, get_document_from_cli_1_1_18)
{
    phala_cvm_detail det;
    crabbox_err err;
    int rc = parse_get(
        "{\"success\": true, \"id\": \"x\", \"name\": \"crabbox-cbx-3fa91c0d22e1\", "
        "\"app_id\": \"" APP_A "\", \"vm_uuid\": \"2f0b7a2c-5f3c-4f55-8c59-1f6c2f8f1e11\", "
        "\"resource\": {\"instance_type\": \"tdx.small\", \"vcpu\": 1}, "
        "\"node_info\": {\"object_type\": \"node\", \"id\": 12, \"name\": \"prod5\"}, "
        "\"status\": \"running\", \"gateway\": {\"base_domain\": "
        "\"dstack-pha-prod5.phala.network\", \"cname\": null}, \"services\": [], "
        "\"endpoints\": [{\"app\": \"https://a\", \"instance\": \"https://b\"}], \"listed\": false}",
        &det, &err);
    cr_assert_eq(rc, CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(det.app_id, APP_A);
    cr_assert_str_eq(det.name, "crabbox-cbx-3fa91c0d22e1");
    cr_assert_str_eq(det.status, "running");
    cr_assert_str_eq(det.instance_type, "tdx.small");
    cr_assert_str_eq(det.gateway_host, APP_A "-22.dstack-pha-prod5.phala.network");
}

Test(phala_inventory, gateway_domain_precedence)
{
    phala_cvm_detail det;
    crabbox_err err;
#define GET_WITH(gw) "{\"success\": true, \"name\": \"n-abcde\", \"app_id\": \"" APP_A "\"" gw "}"
    /* Where 1.1.18's `phala ssh` looks: a top-level gateway_domain first, then gateway.base_domain. */
    cr_assert_eq(parse_get(GET_WITH(", \"gateway\": {\"base_domain\": \"b.example\"}, \"gateway_domain\": "
                                    "\"t.example\""),
                           &det, &err),
                 CRABBOX_OK);
    cr_assert_str_eq(det.gateway_host, APP_A "-22.t.example");
    cr_assert_eq(parse_get(GET_WITH(", \"gateway\": {\"base_domain\": \"b.example\"}, \"gateway_domain\": null"),
                           &det, &err),
                 CRABBOX_OK);
    cr_assert_str_eq(det.gateway_host, APP_A "-22.b.example", "null and empty fall through");
    cr_assert_eq(parse_get(GET_WITH(", \"gateway\": {\"base_domain\": \"b.example\"}, \"gateway_domain\": \"\""),
                           &det, &err),
                 CRABBOX_OK);
    cr_assert_str_eq(det.gateway_host, APP_A "-22.b.example");
    /* Layouts 1.1.18 cannot produce are not read. */
    cr_assert_eq(parse_get(GET_WITH(", \"gateway\": {\"gateway_domain\": \"g.example\", \"domain\": \"d.example\"}"),
                           &det, &err),
                 CRABBOX_OK);
    cr_assert_str_eq(det.gateway_host, "");
    cr_assert_eq(parse_get(GET_WITH(", \"gateway_domain\": \"t.example\""), &det, &err), CRABBOX_OK);
    cr_assert_str_eq(det.gateway_host, APP_A "-22.t.example");
    cr_assert_eq(parse_get(GET_WITH(""), &det, &err), CRABBOX_OK);
    cr_assert_str_eq(det.gateway_host, "", "no domain: no gateway host");
    cr_assert_eq(parse_get(GET_WITH(", \"gateway\": {\"base_domain\": \"evil.example/path\"}"), &det,
                           &err),
                 CRABBOX_E_MALFORMED);
    cr_assert_eq(parse_get(GET_WITH(", \"gateway\": {\"base_domain\": \"-x.example\"}"), &det, &err),
                 CRABBOX_E_MALFORMED);
#undef GET_WITH
}

Test(phala_inventory, get_document_needs_app_id_and_name)
{
    phala_cvm_detail det;
    crabbox_err err;
    cr_assert_eq(parse_get("{\"success\": true, \"name\": \"n-abcde\"}", &det, &err),
                 CRABBOX_E_MALFORMED);
    cr_assert_eq(parse_get("{\"success\": true, \"name\": \"n-abcde\", \"app_id\": \"12\"}", &det,
                           &err),
                 CRABBOX_E_MALFORMED);
    cr_assert_eq(parse_get("{\"success\": true, \"app_id\": \"" APP_A "\"}", &det, &err),
                 CRABBOX_E_MALFORMED);
    cr_assert_eq(parse_get("{\"success\": false, \"app_id\": \"" APP_A "\", \"name\": \"n\"}", &det,
                           &err),
                 CRABBOX_E_MALFORMED);
}

Test(phala_inventory, gateway_host_checks)
{
    char out[256];
    cr_assert(phala_gateway_host(out, sizeof out, APP_A, txt("a.b-c.example")));
    cr_assert_str_eq(out, APP_A "-22.a.b-c.example");
    cr_assert_not(phala_gateway_host(out, sizeof out, APP_A, txt("a..b")));
    cr_assert_not(phala_gateway_host(out, sizeof out, APP_A, txt(".a")));
    cr_assert_not(phala_gateway_host(out, sizeof out, APP_A, txt("a.")));
    cr_assert_not(phala_gateway_host(out, sizeof out, APP_A, txt("a-.b")));
    cr_assert_not(phala_gateway_host(out, sizeof out, APP_A, txt("a b")));
    cr_assert_not(phala_gateway_host(out, sizeof out, APP_A, txt("")));
    cr_assert_not(phala_gateway_host(out, sizeof out, "short", txt("a.b")));
    cr_assert_not(phala_gateway_host(out, 50, APP_A, txt("abcdefghijklmnop.example")),
                  "does not fit");
}

/* Issue 11 §3: a gateway base domain may carry ":port" (the real `phala ssh` accepts host:port). */
Test(phala_inventory, gateway_domain_with_port)
{
    char out[256], host[256];
    uint16_t port = 0;
    cr_assert(phala_gateway_host(out, sizeof out, APP_A, txt("gw.example:8443")));
    cr_assert_str_eq(out, APP_A "-22.gw.example:8443");
    cr_assert(phala_gateway_split(out, host, sizeof host, &port));
    cr_assert_str_eq(host, APP_A "-22.gw.example");
    cr_assert_eq(port, 8443);
    cr_assert(phala_gateway_split(APP_A "-22.gw.example", host, sizeof host, &port));
    cr_assert_eq(port, PHALA_GATEWAY_PORT);
    cr_assert(phala_gateway_host(out, sizeof out, APP_A, txt("gw.example:65535")));
    static const char *const bad[] = {
        "gw.example:0", "gw.example:65536", "gw.example:", "gw.example:08443", "gw.example:+1",
        "gw.example:1:2", ":443", "gw.example:44 3", "[::1]:443", "gw.example:443x", "gw.example:1234567",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_not(phala_gateway_host(out, sizeof out, APP_A, txt(bad[i])), "%s", bad[i]);
        cr_assert_not(phala_gateway_split(bad[i], host, sizeof host, &port), "%s", bad[i]);
    }
    cr_assert_not(phala_gateway_split("", host, sizeof host, &port));
    cr_assert_not(phala_gateway_split("a b", host, sizeof host, &port));
}

Test(phala_inventory, record_round_trip)
{
    char dir[] = "/tmp/phala-rec-XXXXXX";
    phala_record rec, back;
    crabbox_err err;
    char (*ids)[PHALA_LEASE_ID_LEN + 1] = NULL;
    size_t num = 0;
    struct stat st;
    char path[256];
    cr_assert_not_null(mkdtemp(dir));
    memset(&rec, 0, sizeof rec);
    strcpy(rec.lease_id, "cbx_3fa91c0d22e1");
    strcpy(rec.name, "crabbox-cbx-3fa91c0d22e1");
    strcpy(rec.app_id, APP_A);
    rec.state = PHALA_REC_ROLLBACK;
    rec.created_at = 1700000000;
    cr_assert_eq(phala_record_write(dir, &rec, &err), CRABBOX_OK, "%s", err.message);
    snprintf(path, sizeof path, "%s/cbx_3fa91c0d22e1.json", dir);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    cr_assert_eq(phala_record_read(dir, "cbx_3fa91c0d22e1", &back, &err), CRABBOX_OK, "%s",
                 err.message);
    cr_assert_str_eq(back.name, rec.name);
    cr_assert_str_eq(back.app_id, APP_A);
    cr_assert_eq(back.state, PHALA_REC_ROLLBACK);
    cr_assert_eq(back.created_at, 1700000000);
    cr_assert_eq(phala_record_list(dir, &ids, &num, &err), CRABBOX_OK);
    cr_assert_eq(num, 1);
    cr_assert_str_eq(ids[0], "cbx_3fa91c0d22e1");
    free(ids);
    int fd = phala_record_lock(dir, "cbx_3fa91c0d22e1");
    cr_assert_geq(fd, 0);
    phala_record_unlock(fd);
    phala_record_remove(dir, "cbx_3fa91c0d22e1");
    cr_assert_eq(phala_record_read(dir, "cbx_3fa91c0d22e1", &back, &err), CRABBOX_E_NOT_FOUND);
    cr_assert_eq(rmdir(dir), 0, "remove leaves nothing behind");
}

Test(phala_inventory, malformed_records)
{
    static const char *const bad[] = {
        "{\"lease\":\"cbx_3fa91c0d22e1\",\"name\":\"crabbox-cbx-3fa91c0d22e2\",\"app_id\":\"\","
        "\"state\":\"ready\",\"created_at\":1}", /* name of another lease */
        "{\"lease\":\"cbx_3fa91c0d22e1\",\"name\":\"crabbox-cbx-3fa91c0d22e1\",\"app_id\":\"\","
        "\"state\":\"done\",\"created_at\":1}", /* unknown state */
        "{\"lease\":\"cbx_3fa91c0d22e1\",\"name\":\"crabbox-cbx-3fa91c0d22e1\",\"app_id\":\"zz\","
        "\"state\":\"ready\",\"created_at\":1}",
        "{\"lease\":\"cbx_3fa91c0d22e1\",\"name\":\"crabbox-cbx-3fa91c0d22e1\",\"app_id\":\"\","
        "\"state\":\"ready\",\"created_at\":-1}",
        "{\"lease\":\"cbx_3fa91c0d22e1\",\"name\":\"crabbox-cbx-3fa91c0d22e1\",\"app_id\":\"\","
        "\"state\":\"ready\",\"created_at\":1,\"state\":\"kept-after-failure\"}", /* duplicate */
        "[]",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        phala_record r;
        crabbox_err err;
        cr_assert_eq(phala_record_parse(txt(bad[i]), &r, &err), CRABBOX_E_MALFORMED, "accepted: %s",
                     bad[i]);
    }
}
