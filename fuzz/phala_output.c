/* fuzz/phala_output.c. Targets: phala_locate_json, phala_interpret,
 * phala_inventory_add_page, phala_parse_get, phala_record_parse, and the guest agent's answers
 * (phala_quote_from_response, phala_quote_log_from_response, phala_agent_answer,
 * phala_agent_error) — everything the driver reads from the phala CLI, its state dir or the
 * guest agent. Seeds: fuzz/corpus/phala_output/.
 *
 * Input: byte 0 = exit status (low 2 bits: 0, 1, 137, 0 with PHALA_EMPTY_OK; bit 2: deploy's
 * failure document on stderr); then stdout, a 0x00 byte, then stderr (all stdout when there is no
 * 0x00). Properties: a located object is a sub-view that starts with '{' and ends with '}';
 * interpret returns OK only with a "success": true object (or NULL for an accepted blank answer)
 * and otherwise a known code with a NUL-terminated message of printable bytes starting "phala ";
 * parsed inventories hold 40 lowercase hex app ids, pairwise distinct. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "phala.h"

static void check_message(const crabbox_err *err)
{
    size_t n = strnlen(err->message, sizeof err->message);
    if (n == sizeof err->message || strncmp(err->message, "phala ", 6) != 0) { abort(); }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)err->message[i] < 0x20 || err->message[i] == 0x7f) { abort(); }
    }
}

static void check_inventory(const phala_inventory *inv)
{
    for (size_t i = 0; i < inv->num; i++) {
        const char *a = inv->items[i].app_id;
        if (strlen(a) != PHALA_APP_ID_HEX || strspn(a, "0123456789abcdef") != PHALA_APP_ID_HEX) {
            abort();
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(inv->items[k].app_id, a) == 0) { abort(); }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int k_status[] = { 0, 1, 137, 0 };
    cbs in = cbs_make(data, size), so, se = cbs_make(NULL, 0), found;
    uint8_t mode;
    size_t cut = 0;
    crabbox_output out;
    crabbox_err err;
    json_object *doc = NULL;
    unsigned flags;
    int rc;
    if (!cbs_get_u8(&in, &mode)) { return 0; }
    while (cut < in.len && cbs_byte(in, cut) != 0) { cut++; }
    so = in;
    if (cut < in.len) {
        cbs rest = in;
        if (!cbs_get_bytes(&rest, &so, cut) || !cbs_skip(&rest, 1)) { abort(); }
        se = rest;
    }
    for (int strict = 0; strict < 2; strict++) {
        if (phala_locate_json(so, strict != 0, &found)) {
            size_t off = cbs_offset_of(so, found);
            if (found.len < 2 || off > so.len || found.len > so.len - off ||
                cbs_byte(found, 0) != '{' || cbs_byte(found, found.len - 1) != '}') {
                abort();
            }
        }
    }
    memset(&out, 0, sizeof out);
    out.out = (uint8_t *)(uintptr_t)so.data;
    out.out_len = so.len;
    out.err = (uint8_t *)(uintptr_t)se.data;
    out.err_len = se.len;
    out.exit_status = k_status[mode & 3];
    flags = ((mode & 3) == 3 ? PHALA_EMPTY_OK : 0u) | ((mode & 4) ? PHALA_DOC_ON_STDERR : 0u);
    memset(&err, 0, sizeof err);
    rc = phala_interpret("fuzz", &out, flags, &doc, &err);
    if (rc == CRABBOX_OK) {
        if (doc == NULL ? (flags & PHALA_EMPTY_OK) == 0 : !phala_doc_success(doc)) { abort(); }
    } else {
        if (doc != NULL || err.code != rc || rc < CRABBOX_E_FAILED || rc > CRABBOX_E_ABI) {
            abort();
        }
        check_message(&err);
    }
    if (doc != NULL) {
        phala_inventory inv = { NULL, 0, 0 };
        phala_page_info info;
        phala_cvm_detail det;
        crabbox_err e2;
        if (phala_inventory_add_page(&inv, doc, 1, &info, &e2) == CRABBOX_OK) {
            check_inventory(&inv);
            /* the same page again is a pagination inconsistency unless it is empty */
            if (phala_inventory_add_page(&inv, doc, 1, &info, &e2) == CRABBOX_OK && info.num_items) {
                abort();
            }
        }
        phala_inventory_cleanup(&inv);
        if (phala_parse_get(doc, &det, &e2) == CRABBOX_OK &&
            strspn(det.app_id, "0123456789abcdef") != PHALA_APP_ID_HEX) {
            abort();
        }
        json_object_put(doc);
    }
    {
        /* The data plane's parsers of what comes back from the CVM and the configuration. */
        uint8_t *q = NULL, b64[256];
        size_t qlen = 0, blen = 0;
        char text[300], host[64];
        uint16_t port = 0;
        crabbox_err e4;
        if (phala_quote_from_response(so.data, so.len, &q, &qlen, &e4) == CRABBOX_OK) {
            if (q == NULL || qlen == 0 || qlen > (64u << 10)) { abort(); }
        } else if (q != NULL || e4.code != CRABBOX_E_MALFORMED) {
            abort();
        }
        free(q);
        /* The log sent with the quote, and the agent's answer / error body (issue 11 §3). */
        q = NULL;
        if (phala_quote_log_from_response(so.data, so.len, &q, &qlen, &e4) == CRABBOX_OK) {
            if (q != NULL && (qlen == 0 || strlen((char *)q) != qlen)) { abort(); }
        } else if (q != NULL || e4.code != CRABBOX_E_MALFORMED) {
            abort();
        }
        free(q);
        {
            char msg[208];
            uint8_t *copy = malloc(so.len + 1);
            size_t bl = 0;
            int http = -1;
            if (copy != NULL) {
                memcpy(copy, so.data, so.len);
                if (phala_agent_answer(copy, so.len, &bl, &http) && (bl + 4 != so.len || http < 0 || http > 999)) {
                    abort();
                }
                (void)phala_agent_error(400, so.data, so.len, msg, sizeof msg);
                if (strlen(msg) > 200) { abort(); }
                for (const char *c = msg; *c != '\0'; c++) {
                    if (*c < 0x20 || *c > 0x7e) { abort(); }
                }
                free(copy);
            }
        }
        if (phala_base64_decode((const char *)so.data, so.len, b64, sizeof b64, &blen) &&
            (so.len % 4 != 0 || blen > so.len / 4 * 3 || blen + 2 < so.len / 4 * 3)) {
            abort();
        }
        if (so.len < sizeof text) {
            memcpy(text, so.data, so.len);
            text[so.len] = '\0';
            if (phala_parse_host_port(text, host, sizeof host, &port) && (port == 0 || strlen(host) >= sizeof host)) {
                abort();
            }
        }
    }
    {
        phala_record r;
        crabbox_err e3;
        if (phala_record_parse(so, &r, &e3) == CRABBOX_OK && !phala_lease_id_valid(r.lease_id)) {
            abort();
        }
    }
    return 0;
}
