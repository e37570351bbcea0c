/* inventory.c — `phala cvms list` pagination and `phala cvms get` (phala-provider.md §7, §9).
 *
 * The CLI's `total` counts apps, and apps without a current CVM are left out of `items`, so a
 * page can be shorter than pageSize while more pages follow and the items can sum to less than
 * `total`. We trust totalPages when the CLI gives it, stop at an empty or short page when it
 * does not, and treat an app id seen twice as a pagination inconsistency. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "phala.h"

void phala_inventory_cleanup(phala_inventory *inv)
{
    if (inv == NULL) { return; }
    free(inv->items);
    inv->items = NULL;
    inv->num = inv->cap = 0;
}

static bool copy_name(char *out, size_t out_len, cbs name)
{
    for (size_t i = 0; i < name.len; i++) {
        if (cbs_byte(name, i) == '\0') { return false; }
    }
    if (name.len >= out_len) { return false; }
    if (name.len > 0) { memcpy(out, name.data, name.len); }
    out[name.len] = '\0';
    return true;
}

static int page_fail(crabbox_err *err, uint64_t page, size_t index, const char *what)
{
    return phala_fail(err, CRABBOX_E_MALFORMED,
                      "phala cvms list failed: malformed output: page %llu item %zu: %s",
                      (unsigned long long)page, index, what);
}

int phala_inventory_add_page(phala_inventory *inv, const json_object *doc, uint64_t page,
                             phala_page_info *out, crabbox_err *err)
{
    json_object *items = NULL;
    uint64_t total = 0, total_pages = 0, got_page = 0;
    size_t n;
    if (!phala_doc_success(doc) || !cba_json_get_array(doc, "items", &items)) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala cvms list failed: malformed output: page %llu has no items array",
                          (unsigned long long)page);
    }
    /* page echoes the request; total and totalPages are optional but must be sane if present. */
    if ((cba_json_has(doc, "page") && (!cba_json_get_u64(doc, "page", UINT32_MAX, &got_page) ||
                                       got_page != page)) ||
        (cba_json_has(doc, "total") && !cba_json_get_u64(doc, "total", UINT32_MAX, &total)) ||
        (cba_json_has(doc, "totalPages") &&
         !cba_json_get_u64(doc, "totalPages", PHALA_MAX_PAGES, &total_pages))) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala cvms list failed: malformed output: page %llu has a bad page, "
                          "total or totalPages",
                          (unsigned long long)page);
    }
    n = json_object_array_length(items);
    if (n > PHALA_PAGE_SIZE) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala cvms list failed: malformed output: page %llu has %zu items "
                          "(page size %u)",
                          (unsigned long long)page, n, PHALA_PAGE_SIZE);
    }
    if (inv->num + n > inv->cap) {
        size_t cap = inv->cap ? inv->cap : 64;
        phala_cvm *grown;
        while (cap < inv->num + n) { cap *= 2; }
        grown = realloc(inv->items, cap * sizeof *grown);
        if (grown == NULL) {
            return phala_fail(err, CRABBOX_E_FAILED, "out of memory reading the CVM list");
        }
        inv->items = grown;
        inv->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const json_object *item = json_object_array_get_idx(items, i);
        phala_cvm c;
        cbs s;
        memset(&c, 0, sizeof c);
        if (!json_object_is_type(item, json_type_object)) {
            return page_fail(err, page, i, "not an object");
        }
        if (!cba_json_get_string(item, "appId", &s) ||
            !phala_app_id_normalize(c.app_id, sizeof c.app_id, s)) {
            return page_fail(err, page, i, "appId is not 40 hex digits");
        }
        if (!cba_json_get_string(item, "cvmName", &s) || !copy_name(c.name, sizeof c.name, s)) {
            return page_fail(err, page, i, "cvmName missing or too long");
        }
        if (cba_json_get_string(item, "status", &s)) {
            phala_status_normalize(c.status, sizeof c.status, s);
        } else {
            snprintf(c.status, sizeof c.status, "unknown");
        }
        for (size_t k = 0; k < inv->num; k++) {
            if (strcmp(inv->items[k].app_id, c.app_id) == 0) {
                return phala_fail(err, CRABBOX_E_MALFORMED,
                                  "phala cvms list failed: pagination inconsistency: app %s "
                                  "listed twice (page %llu)",
                                  c.app_id, (unsigned long long)page);
            }
        }
        inv->items[inv->num++] = c;
    }
    if (out != NULL) {
        out->num_items = n;
        out->total = total;
        out->total_pages = total_pages;
    }
    return CRABBOX_OK;
}

bool phala_inventory_more(const phala_page_info *info, uint64_t page, size_t page_size)
{
    if (info->total_pages > 0) { return page < info->total_pages; }
    return info->num_items == page_size && info->num_items > 0;
}

int phala_inventory_fetch(const phala_ctx *px, phala_inventory *out, crabbox_err *err)
{
    phala_inventory inv = { NULL, 0, 0 };
    char page_s[24], size_s[24];
    const char *args[] = { "cvms", "list", "--page", page_s, "--page-size", size_s, "--json", NULL };
    phala_call call = { "cvms list", args, PHALA_T_LIST_MS, 4u << 20, false, 0 };
    snprintf(size_s, sizeof size_s, "%u", PHALA_PAGE_SIZE);
    for (uint64_t page = 1;; page++) {
        json_object *doc = NULL;
        phala_page_info info;
        int rc;
        if (page > PHALA_MAX_PAGES) {
            phala_inventory_cleanup(&inv);
            return phala_fail(err, CRABBOX_E_MALFORMED,
                              "phala cvms list failed: pagination inconsistency: more than %u pages",
                              PHALA_MAX_PAGES);
        }
        snprintf(page_s, sizeof page_s, "%llu", (unsigned long long)page);
        rc = phala_run(px, &call, &doc, err);
        if (rc == CRABBOX_OK) { rc = phala_inventory_add_page(&inv, doc, page, &info, err); }
        json_object_put(doc);
        if (rc != CRABBOX_OK) {
            phala_inventory_cleanup(&inv);
            return rc;
        }
        if (!phala_inventory_more(&info, page, PHALA_PAGE_SIZE)) { break; }
    }
    *out = inv;
    return CRABBOX_OK;
}

/* dns_name_ok: labels of letters, digits and inner hyphens, 1..63 each, dot-separated. */
static bool dns_name_ok(cbs d)
{
    size_t label = 0;
    uint8_t prev = '.';
    if (d.len == 0 || d.len > 200) { return false; }
    for (size_t i = 0; i < d.len; i++) {
        uint8_t c = cbs_byte(d, i);
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (c == '.') {
            if (label == 0 || prev == '-') { return false; }
            label = 0;
        } else if (alnum || (c == '-' && label > 0)) {
            if (++label > 63) { return false; }
        } else {
            return false;
        }
        prev = c;
    }
    return label > 0 && prev != '-';
}

/* port_suffix: a ":<1..65535>" at the end of d (decimal, no sign, no leading zero); its length. */
static size_t port_suffix(cbs d)
{
    size_t i = d.len, digits = 0;
    unsigned long v = 0;
    while (i > 0 && cbs_byte(d, i - 1) >= '0' && cbs_byte(d, i - 1) <= '9' && digits < 6) {
        i--;
        digits++;
    }
    if (digits == 0 || i == 0 || cbs_byte(d, i - 1) != ':' || cbs_byte(d, i) == '0') { return 0; }
    for (size_t k = i; k < d.len; k++) { v = v * 10 + (unsigned long)(cbs_byte(d, k) - '0'); }
    return v >= 1 && v <= 65535 ? digits + 1 : 0;
}

bool phala_gateway_host(char *out, size_t out_len, const char *app_id, cbs domain)
{
    int n;
    /* A base domain may carry ":port" (the real `phala ssh` accepts host:port): the host part
     * must still be a DNS name, the port 1..65535; anything else after a ':' is refused. */
    size_t ps = port_suffix(domain);
    cbs host = cbs_make(domain.data, domain.len - ps);
    if (!dns_name_ok(host) || strlen(app_id) != PHALA_APP_ID_HEX) { return false; }
    n = snprintf(out, out_len, "%s-22.%.*s", app_id, (int)domain.len, (const char *)domain.data);
    return n > 0 && (size_t)n < out_len;
}

bool phala_gateway_split(const char *gw, char *host, size_t host_len, uint16_t *port)
{
    const char *colon = strchr(gw, ':');
    size_t len = strlen(gw);
    if (colon == NULL) {
        if (len == 0 || len >= host_len || !dns_name_ok(cbs_make((const uint8_t *)gw, len))) { return false; }
        memcpy(host, gw, len + 1);
        *port = PHALA_GATEWAY_PORT;
        return true;
    }
    if (port_suffix(cbs_make((const uint8_t *)gw, len)) != len - (size_t)(colon - gw) ||
        !phala_parse_host_port(gw, host, host_len, port)) {
        return false;
    }
    return dns_name_ok(cbs_make((const uint8_t *)host, strlen(host)));
}

int phala_parse_get(const json_object *doc, phala_cvm_detail *out, crabbox_err *err)
{
    json_object *gw = NULL, *res = NULL;
    cbs s, domain = cbs_make(NULL, 0);
    memset(out, 0, sizeof *out);
    if (!phala_doc_success(doc) || !cba_json_get_string(doc, "app_id", &s) ||
        !phala_app_id_normalize(out->app_id, sizeof out->app_id, s)) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala cvms get failed: malformed output: app_id is not 40 hex digits");
    }
    if (!cba_json_get_string(doc, "name", &s) || !copy_name(out->name, sizeof out->name, s)) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala cvms get failed: malformed output: name missing or too long");
    }
    if (cba_json_get_string(doc, "status", &s)) {
        phala_status_normalize(out->status, sizeof out->status, s);
    } else {
        snprintf(out->status, sizeof out->status, "unknown");
    }
    if (cba_json_get_object(doc, "resource", &res) &&
        cba_json_get_string(res, "instance_type", &s)) {
        char tmp[sizeof out->instance_type];
        /* informational only: keep it when it is a well-formed shape, else leave it empty */
        if (copy_name(tmp, sizeof tmp, s) &&
            !phala_instance_type_normalize(out->instance_type, sizeof out->instance_type, tmp)) {
            out->instance_type[0] = '\0';
        }
    }
    /* The gateway domain where 1.1.18's own `phala ssh` looks: a top-level gateway_domain, then
     * gateway.base_domain (its schema's gateway object holds base_domain and cname only). A
     * null or empty value falls through. */
    if (cba_json_get_string(doc, "gateway_domain", &s) && s.len > 0) { domain = s; }
    if (domain.len == 0 && cba_json_get_object(doc, "gateway", &gw) && cba_json_get_string(gw, "base_domain", &s)) {
        domain = s;
    }
    if (domain.len > 0 &&
        !phala_gateway_host(out->gateway_host, sizeof out->gateway_host, out->app_id, domain)) {
        return phala_fail(err, CRABBOX_E_MALFORMED,
                          "phala cvms get failed: malformed output: gateway domain is not a "
                          "host name");
    }
    return CRABBOX_OK;
}

int phala_cvm_get(const phala_ctx *px, const char *id, unsigned flags, phala_cvm_detail *out,
                  crabbox_err *err)
{
    const char *args[] = { "cvms", "get", "--cvm-id", id, "--json", NULL };
    phala_call call = { "cvms get", args, PHALA_T_GET_MS, 1u << 20, false, flags };
    json_object *doc = NULL;
    int rc = phala_run(px, &call, &doc, err);
    if (rc == CRABBOX_OK) { rc = phala_parse_get(doc, out, err); }
    json_object_put(doc);
    return rc;
}
