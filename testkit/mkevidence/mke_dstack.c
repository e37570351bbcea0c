/* mke_dstack.c — the dstack side (dcap-spec §6): the event log (boot events on RTMR0-2, runtime
 * events on RTMR3 with V1 or V2 digests), its RTMR replay, the compose hash, MRCONFIGID, the
 * RA-TLS app certificate that carries the quote, and the guest-agent responses (Tappd.Info,
 * dstack Info, GetQuote). */
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mke_internal.h"

static const uint8_t k_oid_ku[] = { 0x55, 0x1d, 0x0f };
static const uint8_t k_oid_bc[] = { 0x55, 0x1d, 0x13 };
static const uint8_t k_oid_eku[] = { 0x55, 0x1d, 0x25 };
static const uint8_t k_oid_client_auth[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 };
/* 1.3.6.1.4.1.62397.1.N (§6.7): the dstack RA-TLS extensions. */
#define DSTACK_OID(n) { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xe7, 0x3d, 0x01, (n) }
static const uint8_t k_oid_quote[] = DSTACK_OID(0x01);
static const uint8_t k_oid_event_log[] = DSTACK_OID(0x02);
static const uint8_t k_oid_app_id[] = DSTACK_OID(0x03);
static const uint8_t k_oid_usage[] = DSTACK_OID(0x04);

void mke_dstack_cleanup(mke_dstack *d)
{
    if (d == NULL) { return; }
    for (size_t i = 0; i < d->num_events; i++) { free(d->events[i].payload); }
    free(d->events);
    mke_buf_free(&d->event_log_json);
    memset(d, 0, sizeof *d);
}

/* ---- Events ------------------------------------------------------------------------------- */

/* runtime_digest: V1 = SHA384(le32(type) ":" name ":" payload); V2 = SHA384 of the RFC 8785
 * object {"name":..,"payload":lowerhex,"type":134217729} (§6.4). */
static bool runtime_digest(uint8_t out[48], const mke_dstack_event *e, mke_buf *preimage)
{
    mke_buf p = { 0 };
    bool ok;
    if (e->version == 2) {
        mke_buf_str(&p, "{\"name\":");
        mke_buf_json_str(&p, (const uint8_t *)e->name, strlen(e->name));
        mke_buf_str(&p, ",\"payload\":\"");
        mke_buf_hex(&p, e->payload, e->payload_len, false);
        mke_buf_printf(&p, "\",\"type\":%u}", (unsigned)e->event_type);
    } else {
        mke_buf_u32le(&p, e->event_type);
        mke_buf_u8(&p, ':');
        mke_buf_str(&p, e->name);
        mke_buf_u8(&p, ':');
        mke_buf_put(&p, e->payload, e->payload_len);
    }
    ok = !p.failed && mke_sha384(out, p.data, p.len);
    if (ok && preimage != NULL) { mke_buf_put(preimage, p.data, p.len); }
    mke_buf_free(&p);
    return ok;
}

static bool add_event(mke_ctx *x, mke_dstack *d, uint32_t imr, uint32_t type, const char *name,
                      const void *payload, size_t len)
{
    mke_dstack_event *e, *grown;
    grown = realloc(d->events, (d->num_events + 1) * sizeof *d->events);
    if (grown == NULL) { return mke_fail(x, "event log: out of memory"); }
    d->events = grown;
    e = &d->events[d->num_events];
    memset(e, 0, sizeof *e);
    e->imr = imr;
    e->event_type = type;
    snprintf(e->name, sizeof e->name, "%s", name != NULL ? name : "");
    if (len != 0) {
        e->payload = malloc(len);
        if (e->payload == NULL) { return mke_fail(x, "event log: out of memory"); }
        memcpy(e->payload, payload, len);
    }
    e->payload_len = len;
    d->num_events++;
    e->version = type == MKE_RUNTIME_EVENT_TYPE && x->o->info.event_version == 2 ? 2 : 1;
    if (type == MKE_RUNTIME_EVENT_TYPE) {
        if (!runtime_digest(e->digest, e, NULL)) { return mke_fail(x, "event log: hash failed"); }
    } else if (!mke_sha384(e->digest, payload, len)) {
        return mke_fail(x, "event log: hash failed");
    }
    return true;
}

static bool add_runtime(mke_ctx *x, mke_dstack *d, const char *name, const void *payload,
                        size_t len)
{
    const char *omit = x->o->info.omit_event;
    if (omit != NULL && strcmp(omit, name) == 0) { return true; }
    return add_event(x, d, 3, MKE_RUNTIME_EVENT_TYPE, name, payload, len);
}

static bool add_user_events(mke_ctx *x, mke_dstack *d, const mke_event *ev, size_t n)
{
    if (n > MKE_MAX_EVENTS) { return mke_fail(x, "too many extra events (at most %d)", MKE_MAX_EVENTS); }
    for (size_t i = 0; i < n; i++) {
        if (!add_event(x, d, ev[i].imr, ev[i].event_type, ev[i].name, ev[i].payload,
                       ev[i].payload_len)) {
            return false;
        }
    }
    return true;
}

/* Boot events as OVMF/the kernel log them (types from the TCG PC client spec). */
static bool add_boot_events(mke_ctx *x, mke_dstack *d)
{
    static const uint8_t sep[4] = { 0, 0, 0, 0 };
    static const struct {
        uint32_t imr, type;
        const char *payload;
    } boot[] = {
        { 0, 0x80000001u, "crabbox-test: EFI variable SecureBoot" },
        { 0, 0x8000000au, "crabbox-test: TD HOB" },
        { 0, 0x0000000au, "ACPI DATA" },
        { 1, 0x80000003u, "crabbox-test: EFI boot services application (kernel)" },
        { 1, 0x80000007u, "Exit Boot Services Invocation" },
        { 2, 0x00000006u, "LOADED_IMAGE::LoadOptions" },
        { 2, 0x00000006u, "Linux initrd" },
    };
    for (size_t i = 0; i < sizeof boot / sizeof boot[0]; i++) {
        if (!add_event(x, d, boot[i].imr, boot[i].type, "", boot[i].payload,
                       strlen(boot[i].payload))) {
            return false;
        }
    }
    /* EV_SEPARATOR closes RTMR0 and RTMR1 (digest = SHA384(00000000), as in real logs). */
    return add_event(x, d, 0, 4, "", sep, sizeof sep) && add_event(x, d, 1, 4, "", sep, sizeof sep);
}

static bool event_log_json(mke_ctx *x, mke_dstack *d)
{
    const mke_info_opts *in = &x->o->info;
    mke_buf *j = &d->event_log_json;
    bool tampered = false, pre_tampered = false;
    mke_buf_u8(j, '[');
    for (size_t i = 0; i < d->num_events; i++) {
        mke_dstack_event *e = &d->events[i];
        bool runtime = e->event_type == MKE_RUNTIME_EVENT_TYPE;
        uint8_t digest[48];
        memcpy(digest, e->digest, 48);
        if (!tampered && runtime && in->tamper_event != NULL && strcmp(in->tamper_event, e->name) == 0) {
            digest[0] ^= 0x01; /* the log claims a digest the register never saw */
            tampered = true;
        }
        mke_buf_printf(j, "%s{\"imr\":%u,\"event_type\":%u,\"digest\":\"", i ? "," : "",
                       (unsigned)e->imr, (unsigned)e->event_type);
        if (!(runtime && in->strip_runtime_digests)) { mke_buf_hex(j, digest, 48, false); }
        mke_buf_str(j, "\",\"event\":");
        mke_buf_json_str(j, (const uint8_t *)e->name, strlen(e->name));
        mke_buf_str(j, ",\"event_payload\":\"");
        mke_buf_hex(j, e->payload, e->payload_len, false);
        mke_buf_u8(j, '"');
        if (e->version == 2) {
            mke_buf pre = { 0 };
            uint8_t ignored[48];
            if (!runtime_digest(ignored, e, &pre)) { return mke_fail(x, "event log: hash failed"); }
            if (!pre_tampered && in->tamper_preimage != NULL && pre.len != 0 &&
                strcmp(in->tamper_preimage, e->name) == 0) {
                pre.data[pre.len - 1] = ' '; /* "...}" -> "... ": no longer the canonical JSON */
                pre_tampered = true;
            }
            mke_buf_str(j, ",\"version\":2,\"preimage\":\"");
            mke_buf_hex(j, pre.data, pre.len, false);
            mke_buf_u8(j, '"');
            mke_buf_free(&pre);
        }
        mke_buf_u8(j, '}');
    }
    mke_buf_u8(j, ']');
    if (in->tamper_event != NULL && !tampered) {
        return mke_fail(x, "tamper_event: no runtime event named \"%s\"", in->tamper_event);
    }
    if (in->tamper_preimage != NULL && !pre_tampered) {
        return mke_fail(x, "tamper_preimage: no V2 runtime event named \"%s\"", in->tamper_preimage);
    }
    if (j->failed) { return mke_fail(x, "event log: out of memory"); }
    return true;
}

/* ---- MRCONFIGID (§6.6) ------------------------------------------------------------------ */

static bool key_provider_parts(mke_ctx *x, const char *kp, uint8_t *kind, uint8_t **id,
                               size_t *id_len)
{
    json_object *obj = kp != NULL ? json_tokener_parse(kp) : NULL, *name = NULL, *idv = NULL;
    const char *n, *hex = "";
    bool ok = false;
    *id = NULL;
    *id_len = 0;
    if (obj == NULL || !json_object_object_get_ex(obj, "name", &name)) {
        mke_fail(x, "MRCONFIGID V2 needs a key_provider JSON with a name");
        goto out;
    }
    n = json_object_get_string(name);
    if (strcmp(n, "none") == 0) {
        *kind = 0;
    } else if (strcmp(n, "local-sgx") == 0 || strcmp(n, "local") == 0) {
        *kind = 1;
    } else if (strcmp(n, "kms") == 0) {
        *kind = 2;
    } else if (strcmp(n, "tpm") == 0) {
        *kind = 3;
    } else {
        mke_fail(x, "MRCONFIGID V2: unknown key provider \"%s\"", n);
        goto out;
    }
    if (json_object_object_get_ex(obj, "id", &idv)) { hex = json_object_get_string(idv); }
    *id_len = strlen(hex) / 2;
    *id = malloc(*id_len + 1);
    if (*id == NULL) {
        mke_fail(x, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < *id_len; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
            mke_fail(x, "MRCONFIGID V2: key provider id is not hex");
            goto out;
        }
        (*id)[i] = (uint8_t)v;
    }
    ok = true;
out:
    if (!ok) {
        free(*id);
        *id = NULL;
    }
    if (obj != NULL) { json_object_put(obj); }
    return ok;
}

static bool mrconfigid(mke_ctx *x, mke_dstack *d)
{
    const mke_options *o = x->o;
    memset(d->mrconfigid, 0, 48);
    switch (o->info.mrconfig) {
    case MKE_MRCONFIG_ZERO: return true;
    case MKE_MRCONFIG_RAW: memcpy(d->mrconfigid, o->quote.mrconfigid, 48); return true;
    case MKE_MRCONFIG_V2: {
        uint8_t kind, *id;
        size_t id_len;
        mke_buf pre = { 0 };
        bool ok;
        if (!key_provider_parts(x, o->info.key_provider, &kind, &id, &id_len)) { return false; }
        mke_buf_put(&pre, d->compose_hash, 32);
        mke_buf_put(&pre, o->info.app_id, 20);
        mke_buf_u8(&pre, kind);
        mke_buf_put(&pre, id, id_len);
        d->mrconfigid[0] = 2;
        ok = !pre.failed && mke_keccak256(d->mrconfigid + 1, pre.data, pre.len);
        mke_buf_free(&pre);
        free(id);
        return ok ? true : mke_fail(x, "MRCONFIGID: Keccak-256 failed");
    }
    case MKE_MRCONFIG_V1:
    default:
        d->mrconfigid[0] = 1;
        memcpy(d->mrconfigid + 1, d->compose_hash, 32);
        return true;
    }
}

/* ---- Building the dstack values before the quote --------------------------------------------- */

bool mke_build_dstack(mke_ctx *x, mke_dstack *d)
{
    const mke_info_opts *in = &x->o->info;
    const char *compose = in->app_compose != NULL ? in->app_compose : "";
    mke_buf spki = { 0 };

    if (!mke_sha256(d->compose_hash, compose, strlen(compose))) {
        return mke_fail(x, "compose hash failed");
    }
    if (!add_boot_events(x, d) || !add_runtime(x, d, "system-preparing", NULL, 0) ||
        !add_runtime(x, d, "app-id", in->app_id, 20) ||
        !add_runtime(x, d, "compose-hash", d->compose_hash, 32) ||
        !add_runtime(x, d, "instance-id", in->instance_id, in->empty_instance_id ? 0 : 20) ||
        !add_runtime(x, d, "boot-mr-done", NULL, 0)) {
        return false;
    }
    if (in->kms_events && (!add_runtime(x, d, "mr-kms", in->mr_kms, 32) ||
                           !add_runtime(x, d, "os-image-hash", in->os_image_hash, 32))) {
        return false;
    }
    if (in->key_provider != NULL &&
        !add_runtime(x, d, "key-provider", in->key_provider, strlen(in->key_provider))) {
        return false;
    }
    if (!add_runtime(x, d, "storage-fs", "zfs", 3) ||
        !add_user_events(x, d, in->extra_events, in->num_extra_events)) {
        return false;
    }
    if (!in->omit_system_ready && !add_runtime(x, d, "system-ready", NULL, 0)) { return false; }
    if (!add_user_events(x, d, in->post_ready_events, in->num_post_ready_events)) { return false; }

    /* Replay (§6.4) with the true digests: what the hardware registers hold. */
    memset(d->rtmr, 0, sizeof d->rtmr);
    for (size_t i = 0; i < d->num_events; i++) {
        uint8_t cat[96];
        uint32_t r = d->events[i].imr;
        if (r > 3) { return mke_fail(x, "event %zu: imr %u is not 0..3", i, (unsigned)r); }
        memcpy(cat, d->rtmr[r], 48);
        memcpy(cat + 48, d->events[i].digest, 48);
        if (!mke_sha384(d->rtmr[r], cat, sizeof cat)) { return mke_fail(x, "replay failed"); }
    }
    if (!event_log_json(x, d) || !mrconfigid(x, d)) { return false; }

    /* RA-TLS: the app cert key is fixed, so the binding is known before the quote exists. */
    x->app_cert = mke_key_load("app-cert");
    x->app_ca = mke_key_load("app-ca");
    if (x->app_cert == NULL || x->app_ca == NULL) { return mke_fail(x, "cannot derive app keys"); }
    mke_der_spki(&spki, mke_key_xy(x->app_cert));
    if (spki.failed || spki.len > sizeof d->spki) {
        mke_buf_free(&spki);
        return mke_fail(x, "app cert key: out of memory");
    }
    memcpy(d->spki, spki.data, spki.len);
    d->spki_len = spki.len;
    mke_buf_free(&spki);
    if (x->o->quote.has_report_data) {
        memcpy(d->report_data, x->o->quote.report_data, 64);
    } else if (in->format == MKE_INFO_TAPPD || in->format == MKE_INFO_DSTACK) {
        uint8_t pre[11 + sizeof d->spki];
        memcpy(pre, "ratls-cert:", 11);
        memcpy(pre + 11, d->spki, d->spki_len);
        if (!mke_sha512(d->report_data, pre, 11 + d->spki_len)) { return mke_fail(x, "SHA-512 failed"); }
    } else {
        mke_seed(d->report_data, 64, "report-data");
    }
    return true;
}

/* ---- App certificate (§6.7) --------------------------------------------------------------- */

/* wrapped_ext appends a dstack extension whose extnValue holds one more OCTET STRING. */
static void wrapped_ext(mke_buf *ext, const uint8_t *oid, size_t oid_len, const void *v, size_t n)
{
    mke_buf inner = { 0 };
    mke_der_tlv(&inner, 0x04, v, n);
    mke_ext(ext, oid, oid_len, false, &inner);
    if (inner.failed) { ext->failed = true; }
    mke_buf_free(&inner);
}

static bool app_cert_chain(mke_ctx *x, const mke_dstack *d, mke_buf *pem)
{
    const mke_options *o = x->o;
    const mke_name ca_name = { "Dstack App CA", "Dstack", NULL, NULL, NULL };
    const mke_name leaf_name = { "crabbox-test-app", NULL, NULL, NULL, NULL };
    mke_cert_opts ca = { 0 }, leaf = { 0 };
    mke_buf ext = { 0 }, v = { 0 }, ca_der = { 0 }, leaf_der = { 0 };
    size_t m;
    bool ok;

    ca.not_before = 157766400;     /* 1975-01-01, as dstack's app certs */
    ca.not_after = INT64_C(2524607999); /* 2049-12-31T23:59:59Z */
    ca.is_ca = true;
    ca.path_len = -1;
    leaf = ca;
    leaf.is_ca = false;

    mke_der_bit_string_flags(&v, MKE_KU_KEY_CERT_SIGN | MKE_KU_CRL_SIGN);
    mke_ext(&ext, k_oid_ku, sizeof k_oid_ku, true, &v);
    v.len = 0;
    m = mke_der_open(&v);
    mke_der_bool(&v, true);
    mke_der_close(&v, m, 0x30);
    mke_ext(&ext, k_oid_bc, sizeof k_oid_bc, true, &v);
    ok = mke_make_cert(x, &ca_der, &ca, "app-ca", &ca_name, &ca_name, mke_key_xy(x->app_ca),
                       x->app_ca, &ext);

    ext.len = 0;
    v.len = 0;
    mke_der_bit_string_flags(&v, MKE_KU_DIGITAL_SIGNATURE);
    mke_ext(&ext, k_oid_ku, sizeof k_oid_ku, true, &v);
    v.len = 0;
    m = mke_der_open(&v);
    mke_der_oid(&v, k_oid_client_auth, sizeof k_oid_client_auth);
    mke_der_close(&v, m, 0x30);
    mke_ext(&ext, k_oid_eku, sizeof k_oid_eku, false, &v);
    wrapped_ext(&ext, k_oid_app_id, sizeof k_oid_app_id, o->info.app_id, 20);
    wrapped_ext(&ext, k_oid_usage, sizeof k_oid_usage, "app:custom", 10);
    wrapped_ext(&ext, k_oid_quote, sizeof k_oid_quote, x->ev->quote.data, x->ev->quote.len);
    if (o->info.event_log_at != MKE_ELOG_TCB_INFO) {
        wrapped_ext(&ext, k_oid_event_log, sizeof k_oid_event_log, d->event_log_json.data,
                    d->event_log_json.len);
    }
    ok = ok && mke_make_cert(x, &leaf_der, &leaf, "app-cert", &ca_name, &leaf_name,
                             mke_key_xy(x->app_cert), x->app_ca, &ext);
    if (ok) {
        mke_buf_pem(pem, leaf_der.data, leaf_der.len);
        mke_buf_pem(pem, ca_der.data, ca_der.len);
        mke_buf copy = { 0 };
        mke_buf_put(&copy, leaf_der.data, leaf_der.len);
        if (!mke_buf_take(&copy, &x->ev->app_cert_der)) { ok = mke_fail(x, "out of memory"); }
    }
    if (ok && (ext.failed || v.failed || pem->failed)) { ok = mke_fail(x, "app cert: out of memory"); }
    mke_buf_free(&ext);
    mke_buf_free(&v);
    mke_buf_free(&ca_der);
    mke_buf_free(&leaf_der);
    return ok;
}

/* ---- Responses ------------------------------------------------------------------------------ */

static void jhex(mke_buf *b, const char *key, const uint8_t *p, size_t n, const char *sep)
{
    mke_buf_printf(b, "%s\"%s\":\"", sep, key);
    mke_buf_hex(b, p, n, false);
    mke_buf_u8(b, '"');
}

typedef struct claims {
    uint8_t mrtd[48], rtmr[4][48], compose_hash[32], tcb_compose_hash[32], app_id[20];
    uint8_t mr_aggregated[32], device_id[32];
    const char *app_compose;
    char *app_compose_tampered; /* owned when tamper_claim = "app_compose" */
} claims;

static bool make_claims(mke_ctx *x, const mke_dstack *d, claims *c)
{
    const mke_options *o = x->o;
    const char *t = o->info.tamper_claim;
    mke_buf agg = { 0 };
    bool cfg;
    memset(c, 0, sizeof *c);
    memcpy(c->mrtd, o->quote.mrtd, 48);
    for (size_t i = 0; i < 4; i++) {
        memcpy(c->rtmr[i], o->quote.has_rtmr[i] ? o->quote.rtmr[i] : d->rtmr[i], 48);
    }
    memcpy(c->compose_hash, d->compose_hash, 32);
    memcpy(c->tcb_compose_hash, d->compose_hash, 32);
    memcpy(c->app_id, o->info.app_id, 20);
    c->app_compose = o->info.app_compose != NULL ? o->info.app_compose : "";

    /* mr_aggregated (§6.6): config MRs only when any of them is set. */
    mke_buf_put(&agg, c->mrtd, 48);
    for (size_t i = 0; i < 4; i++) { mke_buf_put(&agg, c->rtmr[i], 48); }
    cfg = false;
    for (size_t i = 0; i < 48; i++) {
        cfg = cfg || d->mrconfigid[i] || o->quote.mrowner[i] || o->quote.mrownerconfig[i];
    }
    if (cfg) {
        mke_buf_put(&agg, d->mrconfigid, 48);
        mke_buf_put(&agg, o->quote.mrowner, 48);
        mke_buf_put(&agg, o->quote.mrownerconfig, 48);
    }
    if (agg.failed || !mke_sha256(c->mr_aggregated, agg.data, agg.len) ||
        !mke_sha256(c->device_id, "", 0)) {
        mke_buf_free(&agg);
        return mke_fail(x, "claims: hash failed");
    }
    mke_buf_free(&agg);

    if (t == NULL) { return true; }
    if (strcmp(t, "mrtd") == 0) {
        c->mrtd[0] ^= 1;
    } else if (strncmp(t, "rtmr", 4) == 0 && t[4] >= '0' && t[4] <= '3' && t[5] == '\0') {
        c->rtmr[t[4] - '0'][0] ^= 1;
    } else if (strcmp(t, "compose_hash") == 0) {
        c->compose_hash[0] ^= 1;
    } else if (strcmp(t, "tcb_info.compose_hash") == 0) {
        c->tcb_compose_hash[0] ^= 1;
    } else if (strcmp(t, "app_id") == 0) {
        c->app_id[0] ^= 1;
    } else if (strcmp(t, "app_compose") == 0) {
        size_t n = strlen(c->app_compose);
        c->app_compose_tampered = malloc(n + 2);
        if (c->app_compose_tampered == NULL) { return mke_fail(x, "out of memory"); }
        memcpy(c->app_compose_tampered, c->app_compose, n);
        memcpy(c->app_compose_tampered + n, " ", 2); /* same JSON, different bytes and hash */
        c->app_compose = c->app_compose_tampered;
    } else {
        return mke_fail(x, "unknown tamper_claim \"%s\"", t);
    }
    return true;
}

/* tcb_info_string is the pretty-printed tcb_info JSON the agent puts in a string (§6.2). */
static void tcb_info_string(mke_buf *b, const mke_ctx *x, const mke_dstack *d, const claims *c)
{
    const mke_info_opts *in = &x->o->info;
    jhex(b, "mrtd", c->mrtd, 48, "{\n  ");
    for (size_t i = 0; i < 4; i++) {
        char key[8];
        snprintf(key, sizeof key, "rtmr%zu", i);
        jhex(b, key, c->rtmr[i], 48, ",\n  ");
    }
    jhex(b, "mr_aggregated", c->mr_aggregated, 32, ",\n  ");
    jhex(b, "os_image_hash", in->os_image_hash, 32, ",\n  ");
    jhex(b, "compose_hash", c->tcb_compose_hash, 32, ",\n  ");
    jhex(b, "device_id", c->device_id, 32, ",\n  ");
    if (in->event_log_at != MKE_ELOG_CERT) {
        mke_buf_str(b, ",\n  \"event_log\": ");
        mke_buf_put(b, d->event_log_json.data, d->event_log_json.len);
    }
    mke_buf_str(b, ",\n  \"app_compose\": ");
    mke_buf_json_str(b, (const uint8_t *)c->app_compose, strlen(c->app_compose));
    mke_buf_str(b, "\n}");
}

static void vm_config(mke_buf *b, const mke_info_opts *in)
{
    mke_buf_str(b, "{\"os_image_hash\":\"");
    mke_buf_hex(b, in->os_image_hash, 32, false);
    mke_buf_str(b, "\",\"cpu_count\":1,\"memory_size\":2147483648}");
}

bool mke_build_info(mke_ctx *x, const mke_dstack *d)
{
    const mke_options *o = x->o;
    const mke_info_opts *in = &o->info;
    mke_evidence *ev = x->ev;
    mke_buf j = { 0 }, s = { 0 };
    claims c;
    bool ok = false;

    if (in->format == MKE_INFO_NONE) { return true; }
    if (!make_claims(x, d, &c)) {
        free(c.app_compose_tampered);
        return false;
    }
    if (in->format == MKE_INFO_GETQUOTE) {
        jhex(&j, "quote", ev->quote.data, ev->quote.len, "{");
        mke_buf_str(&j, ",\"event_log\":");
        mke_buf_json_str(&j, d->event_log_json.data, d->event_log_json.len);
        jhex(&j, "report_data", d->report_data, 64, ",");
        vm_config(&s, in);
        mke_buf_str(&j, ",\"vm_config\":");
        mke_buf_json_str(&j, s.data, s.len);
        mke_buf_str(&j, "}");
    } else {
        jhex(&j, "app_id", c.app_id, 20, "{");
        if (in->empty_instance_id) {
            mke_buf_str(&j, ",\"instance_id\":\"\"");
        } else {
            jhex(&j, "instance_id", in->instance_id, 20, ",");
        }
        if (!app_cert_chain(x, d, &s)) { goto out; }
        mke_buf_str(&j, ",\"app_cert\":");
        mke_buf_json_str(&j, s.data, s.len);
        s.len = 0;
        if (!in->hide_tcb_info) { tcb_info_string(&s, x, d, &c); }
        mke_buf_str(&j, ",\"tcb_info\":");
        mke_buf_json_str(&j, s.data, s.len);
        mke_buf_str(&j, ",\"app_name\":\"crabbox-test\"");
        jhex(&j, "device_id", c.device_id, 32, ",");
        if (in->format == MKE_INFO_DSTACK) { jhex(&j, "mr_aggregated", c.mr_aggregated, 32, ","); }
        jhex(&j, "os_image_hash", in->os_image_hash, 32, ",");
        mke_buf_str(&j, ",\"key_provider_info\":");
        {
            const char *kp = in->key_provider != NULL ? in->key_provider : "";
            mke_buf_json_str(&j, (const uint8_t *)kp, strlen(kp));
        }
        jhex(&j, "compose_hash", c.compose_hash, 32, ",");
        if (in->format == MKE_INFO_DSTACK) {
            s.len = 0;
            vm_config(&s, in);
            mke_buf_str(&j, ",\"vm_config\":");
            mke_buf_json_str(&j, s.data, s.len);
            mke_buf_str(&j, ",\"cloud_vendor\":\"crabbox-test\",\"cloud_product\":\"mkevidence\"");
        }
        mke_buf_str(&j, "}");
    }
    if (s.failed) { j.failed = true; }
    if (!mke_buf_take(&j, &ev->info_json)) {
        mke_fail(x, "info: out of memory");
        goto out;
    }
    ok = true;
out:
    free(c.app_compose_tampered);
    mke_buf_free(&j);
    mke_buf_free(&s);
    return ok;
}
