/* policy.c — see policy.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "base.h"
#include "policy.h"

/* The pin keys, in cba_pin_field order. */
static const char *const k_pin_keys[CBA_PIN_COUNT] = {
    [CBA_PIN_MRTD] = "mrtd",
    [CBA_PIN_RTMR0] = "rtmr0",
    [CBA_PIN_RTMR1] = "rtmr1",
    [CBA_PIN_RTMR2] = "rtmr2",
    [CBA_PIN_RTMR3] = "rtmr3",
    [CBA_PIN_MRSEAM] = "mrseam",
    [CBA_PIN_MRSIGNERSEAM] = "mrsignerseam",
    [CBA_PIN_MRCONFIGID] = "mrconfigid",
    [CBA_PIN_MROWNER] = "mrowner",
    [CBA_PIN_MROWNERCONFIG] = "mrownerconfig",
    [CBA_PIN_XFAM] = "xfam",
    [CBA_PIN_TD_ATTRIBUTES] = "tdAttributes",
    [CBA_PIN_REPORT_DATA] = "reportData",
    [CBA_PIN_OS_IMAGE_HASH] = "osImageHash",
};

static const char *const k_other_keys[] = {
    "acceptTcbStatus", "allowedAdvisories", "minTcbEvaluationNumber", "maxCollateralAgeSeconds",
    "minTeeTcbSvn",    "minQeIsvsvn",       "minPcesvn",
};

void tc_policy_init(tc_policy *p)
{
    memset(p, 0, sizeof *p);
}

const char *tc_policy_pin_key(cba_pin_field field)
{
    return (unsigned)field < CBA_PIN_COUNT ? k_pin_keys[field] : "";
}

static int pin_index(const char *key)
{
    for (int i = 0; i < CBA_PIN_COUNT; i++) {
        if (strcmp(key, k_pin_keys[i]) == 0) { return i; }
    }
    return -1;
}

bool tc_policy_is_key(const char *key)
{
    if (pin_index(key) >= 0) { return true; }
    for (size_t i = 0; i < sizeof k_other_keys / sizeof k_other_keys[0]; i++) {
        if (strcmp(key, k_other_keys[i]) == 0) { return true; }
    }
    return false;
}

/* parse_hex_n decodes exactly n bytes of hex (optional 0x) from text[0..len). */
static bool parse_hex_n(uint8_t *out, size_t n, const char *text, size_t len)
{
    if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        text += 2;
        len -= 2;
    }
    return cba_hex_decode(out, n, text, len); /* base/base.c */
}

static bool parse_uint(const char *text, size_t len, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20) { return false; }
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') { return false; }
        if (v > (UINT64_MAX - (uint64_t)(text[i] - '0')) / 10) { return false; }
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    if (v > max) { return false; }
    *out = v;
    return true;
}

/* A token: one value out of a value string (split on commas and white space). */
typedef struct token {
    const char *s;
    size_t len;
} token;

#define MAX_TOKENS TC_POLICY_MAX_VALUES

/* tokenize splits every value; false when there are more than MAX_TOKENS. */
static bool tokenize(const char *const *values, size_t num_values, token *out, size_t *num_out)
{
    size_t n = 0;
    for (size_t v = 0; v < num_values; v++) {
        const char *s = values[v];
        while (*s != '\0') {
            size_t len;
            while (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') { s++; }
            if (*s == '\0') { break; }
            len = strcspn(s, ", \t\r\n");
            if (n == MAX_TOKENS) { return false; }
            out[n++] = (token){ s, len };
            s += len;
        }
    }
    *num_out = n;
    return true;
}

__attribute__((format(printf, 3, 4))) static bool fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return false;
}

/* The parsed form of one key's values, before it is set or merged. */
typedef struct parsed {
    uint32_t statuses;
    size_t num;
    char adv[TC_POLICY_MAX_VALUES][CBA_ADVISORY_ID_MAX];
    uint8_t pin[TC_POLICY_MAX_VALUES][64];
    uint64_t number;
    uint8_t svn[16];
} parsed;

static bool parse_key(parsed *out, const char *key, const token *t, size_t n, char *err, size_t err_len)
{
    int pin = pin_index(key);
    memset(out, 0, sizeof *out);
    if (n == 0) { return fail(err, err_len, "%s: no value", key); }
    if (pin >= 0) {
        size_t size = cba_pin_field_size((cba_pin_field)pin);
        for (size_t i = 0; i < n; i++) {
            if (!parse_hex_n(out->pin[i], size, t[i].s, t[i].len)) {
                return fail(err, err_len, "%s: \"%.*s\" is not %zu hex digits", key, (int)(t[i].len > 40 ? 40 : t[i].len),
                            t[i].s, 2 * size);
            }
        }
        out->num = n;
        return true;
    }
    if (strcmp(key, "acceptTcbStatus") == 0) {
        for (size_t i = 0; i < n; i++) {
            cba_tcb_status st;
            if (!cba_tcb_status_parse(t[i].s, t[i].len, &st) || st == CBA_TCB_UNKNOWN || st == CBA_TCB_REVOKED) {
                return fail(err, err_len, "%s: \"%.*s\" is not an acceptable TCB status (UpToDate, "
                            "SWHardeningNeeded, ConfigurationNeeded, OutOfDate, ...; never Revoked)",
                            key, (int)(t[i].len > 40 ? 40 : t[i].len), t[i].s);
            }
            out->statuses |= 1u << st;
        }
        return true;
    }
    if (strcmp(key, "allowedAdvisories") == 0) {
        for (size_t i = 0; i < n; i++) {
            if (t[i].len >= CBA_ADVISORY_ID_MAX) {
                return fail(err, err_len, "%s: \"%.40s...\" is too long for an advisory ID", key, t[i].s);
            }
            memcpy(out->adv[i], t[i].s, t[i].len);
            out->adv[i][t[i].len] = '\0';
        }
        out->num = n;
        return true;
    }
    if (n != 1) { return fail(err, err_len, "%s takes one value, not a list", key); }
    if (strcmp(key, "minTeeTcbSvn") == 0) {
        if (!parse_hex_n(out->svn, 16, t[0].s, t[0].len)) {
            return fail(err, err_len, "%s: \"%.*s\" is not 32 hex digits", key, (int)(t[0].len > 40 ? 40 : t[0].len),
                        t[0].s);
        }
        return true;
    }
    {
        uint64_t max = strcmp(key, "minTcbEvaluationNumber") == 0 ? UINT32_MAX
                       : strcmp(key, "maxCollateralAgeSeconds") == 0 ? (uint64_t)INT64_MAX
                                                                     : UINT16_MAX;
        if (!parse_uint(t[0].s, t[0].len, max, &out->number) ||
            (strcmp(key, "maxCollateralAgeSeconds") == 0 && out->number == 0)) {
            return fail(err, err_len, "%s: \"%.*s\" is not a %snumber up to %llu", key,
                        (int)(t[0].len > 40 ? 40 : t[0].len), t[0].s,
                        strcmp(key, "maxCollateralAgeSeconds") == 0 ? "positive " : "", (unsigned long long)max);
        }
        return true;
    }
}

static bool apply_key(tc_policy *p, const char *key, const parsed *v, bool tighten, char *err, size_t err_len)
{
    int pin = pin_index(key);
    if (pin >= 0) {
        size_t size = cba_pin_field_size((cba_pin_field)pin);
        if (!tighten || !p->has_pin[pin]) {
            for (size_t i = 0; i < v->num; i++) { memcpy(p->pin[pin][i], v->pin[i], size); }
            p->num_pin[pin] = v->num;
            p->has_pin[pin] = true;
            return true;
        }
        /* intersection, keeping the trusted order */
        size_t k = 0;
        for (size_t i = 0; i < p->num_pin[pin]; i++) {
            bool keep = false;
            for (size_t j = 0; j < v->num && !keep; j++) { keep = memcmp(p->pin[pin][i], v->pin[j], size) == 0; }
            if (keep) { memmove(p->pin[pin][k++], p->pin[pin][i], size); }
        }
        if (k == 0) {
            return fail(err, err_len, "%s: none of the repository's values is among the %zu trusted ones", key,
                        p->num_pin[pin]);
        }
        p->num_pin[pin] = k;
        return true;
    }
    if (strcmp(key, "acceptTcbStatus") == 0) {
        uint32_t base = p->has_accept ? p->accepted_statuses : 1u << CBA_TCB_UP_TO_DATE;
        uint32_t next = tighten ? base & v->statuses : v->statuses;
        if (next == 0) { return fail(err, err_len, "%s: would accept no TCB status at all", key); }
        p->accepted_statuses = next;
        p->has_accept = true;
        return true;
    }
    if (strcmp(key, "allowedAdvisories") == 0) {
        if (!tighten) {
            memcpy(p->advisories, v->adv, sizeof p->advisories);
            p->num_advisories = v->num;
        } else {
            size_t k = 0;
            for (size_t i = 0; i < p->num_advisories; i++) { /* none set = none allowed already */
                bool keep = false;
                for (size_t j = 0; j < v->num && !keep; j++) { keep = strcmp(p->advisories[i], v->adv[j]) == 0; }
                if (keep) { memmove(p->advisories[k++], p->advisories[i], CBA_ADVISORY_ID_MAX); }
            }
            p->num_advisories = k;
        }
        p->has_advisories = true;
        return true;
    }
    if (strcmp(key, "minTeeTcbSvn") == 0) {
        for (int i = 0; i < 16; i++) {
            uint8_t cur = p->has_min_tee_tcb_svn ? p->min_tee_tcb_svn[i] : 0;
            p->min_tee_tcb_svn[i] = tighten && cur > v->svn[i] ? cur : v->svn[i];
        }
        p->has_min_tee_tcb_svn = true;
        return true;
    }
    if (strcmp(key, "minTcbEvaluationNumber") == 0) {
        if (!tighten || !p->has_min_tcb_eval || v->number > p->min_tcb_eval) { p->min_tcb_eval = (uint32_t)v->number; }
        p->has_min_tcb_eval = true;
        return true;
    }
    if (strcmp(key, "maxCollateralAgeSeconds") == 0) {
        if (!tighten || !p->has_max_age || (int64_t)v->number < p->max_age) { p->max_age = (int64_t)v->number; }
        p->has_max_age = true;
        return true;
    }
    if (strcmp(key, "minQeIsvsvn") == 0) {
        if (!tighten || !p->has_min_qe_isvsvn || v->number > p->min_qe_isvsvn) {
            p->min_qe_isvsvn = (uint16_t)v->number;
        }
        p->has_min_qe_isvsvn = true;
        return true;
    }
    if (strcmp(key, "minPcesvn") == 0) {
        if (!tighten || !p->has_min_pcesvn || v->number > p->min_pcesvn) { p->min_pcesvn = (uint16_t)v->number; }
        p->has_min_pcesvn = true;
        return true;
    }
    return fail(err, err_len, "unknown policy key '%s'", key);
}

static bool set_or_tighten(tc_policy *p, const char *key, const char *const *values, size_t num_values,
                           bool tighten, char *err, size_t err_len)
{
    token t[MAX_TOKENS];
    size_t n;
    parsed *v;
    bool ok;
    if (!tc_policy_is_key(key)) { return fail(err, err_len, "unknown policy key '%s'", key); }
    if (!tokenize(values, num_values, t, &n)) {
        return fail(err, err_len, "%s: more than %d values", key, TC_POLICY_MAX_VALUES);
    }
    v = malloc(sizeof *v);
    if (v == NULL) { return fail(err, err_len, "out of memory"); }
    ok = parse_key(v, key, t, n, err, err_len) && apply_key(p, key, v, tighten, err, err_len);
    free(v);
    return ok;
}

bool tc_policy_set(tc_policy *p, const char *key, const char *const *values, size_t num_values, char *err,
                   size_t err_len)
{
    return set_or_tighten(p, key, values, num_values, false, err, err_len);
}

bool tc_policy_tighten(tc_policy *p, const char *key, const char *const *values, size_t num_values, char *err,
                       size_t err_len)
{
    return set_or_tighten(p, key, values, num_values, true, err, err_len);
}

/* ---- documents ------------------------------------------------------------------------------ */

typedef struct doc_ctx {
    yaml_parser_t parser;
    const char *name;
    char *err;
    size_t err_len;
} doc_ctx;

static bool doc_event(doc_ctx *d, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&d->parser, ev)) {
        return fail(d->err, d->err_len, "%s:%zu: not valid YAML or JSON: %s", d->name,
                    d->parser.problem_mark.line + 1, d->parser.problem != NULL ? d->parser.problem : "parse error");
    }
    if ((ev->type == YAML_SCALAR_EVENT && (ev->data.scalar.anchor != NULL ||
                                           (ev->data.scalar.tag != NULL && ev->data.scalar.plain_implicit == 0 &&
                                            ev->data.scalar.quoted_implicit == 0))) ||
        ev->type == YAML_ALIAS_EVENT ||
        (ev->type == YAML_SEQUENCE_START_EVENT && (ev->data.sequence_start.anchor != NULL ||
                                                    ev->data.sequence_start.tag != NULL)) ||
        (ev->type == YAML_MAPPING_START_EVENT && (ev->data.mapping_start.anchor != NULL ||
                                                   ev->data.mapping_start.tag != NULL))) {
        size_t line = ev->start_mark.line + 1;
        yaml_event_delete(ev);
        return fail(d->err, d->err_len, "%s:%zu: anchors, aliases and tags are not supported in a policy", d->name,
                    line);
    }
    return true;
}

#define MAX_KEYS 64

/* doc_values reads one key's value: a scalar or a flat sequence of scalars. */
static bool doc_values(doc_ctx *d, const char *key, char **vals, size_t *num)
{
    yaml_event_t ev;
    *num = 0;
    if (!doc_event(d, &ev)) { return false; }
    if (ev.type == YAML_SCALAR_EVENT) {
        vals[0] = strdup((const char *)ev.data.scalar.value);
        yaml_event_delete(&ev);
        if (vals[0] == NULL) { return fail(d->err, d->err_len, "out of memory"); }
        *num = 1;
        return true;
    }
    if (ev.type != YAML_SEQUENCE_START_EVENT) {
        size_t line = ev.start_mark.line + 1;
        yaml_event_delete(&ev);
        return fail(d->err, d->err_len, "%s:%zu: %s must be a value or a list of values", d->name, line, key);
    }
    yaml_event_delete(&ev);
    for (;;) {
        if (!doc_event(d, &ev)) { return false; }
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            if (*num == 0) { return fail(d->err, d->err_len, "%s: %s is an empty list", d->name, key); }
            return true;
        }
        if (ev.type != YAML_SCALAR_EVENT || *num == TC_POLICY_MAX_VALUES) {
            size_t line = ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            return fail(d->err, d->err_len, "%s:%zu: %s must be a list of at most %d plain values", d->name, line,
                        key, TC_POLICY_MAX_VALUES);
        }
        vals[*num] = strdup((const char *)ev.data.scalar.value);
        yaml_event_delete(&ev);
        if (vals[*num] == NULL) { return fail(d->err, d->err_len, "out of memory"); }
        (*num)++;
    }
}

static bool doc_mapping(doc_ctx *d, tc_policy *p, bool tighten)
{
    char seen[MAX_KEYS][32];
    size_t num_seen = 0;
    for (;;) {
        yaml_event_t k;
        char key[32], *vals[TC_POLICY_MAX_VALUES];
        size_t num = 0, line;
        bool ok;
        char msg[256];
        if (!doc_event(d, &k)) { return false; }
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return true;
        }
        line = k.start_mark.line + 1;
        if (k.type != YAML_SCALAR_EVENT || k.data.scalar.length >= sizeof key ||
            !tc_policy_is_key((const char *)k.data.scalar.value)) {
            ok = fail(d->err, d->err_len, "%s:%zu: unknown policy key '%.40s' (see 'crabbox-attest verify --help')",
                      d->name, line, k.type == YAML_SCALAR_EVENT ? (const char *)k.data.scalar.value : "?");
            yaml_event_delete(&k);
            return ok;
        }
        snprintf(key, sizeof key, "%s", (const char *)k.data.scalar.value);
        yaml_event_delete(&k);
        for (size_t i = 0; i < num_seen; i++) {
            if (strcmp(seen[i], key) == 0) { return fail(d->err, d->err_len, "%s:%zu: duplicate key '%s'", d->name, line, key); }
        }
        if (num_seen == MAX_KEYS) { return fail(d->err, d->err_len, "%s: too many keys", d->name); }
        snprintf(seen[num_seen++], sizeof seen[0], "%s", key);
        ok = doc_values(d, key, vals, &num);
        if (ok) {
            ok = (tighten ? tc_policy_tighten : tc_policy_set)(p, key, (const char *const *)vals, num, msg, sizeof msg);
            if (!ok) { (void)fail(d->err, d->err_len, "%s:%zu: %s", d->name, line, msg); }
        }
        for (size_t i = 0; i < num; i++) { free(vals[i]); }
        if (!ok) { return false; }
    }
}

static bool doc_expect(doc_ctx *d, yaml_event_type_t type, const char *what)
{
    yaml_event_t ev;
    bool ok;
    if (!doc_event(d, &ev)) { return false; }
    ok = ev.type == type;
    if (!ok) { (void)fail(d->err, d->err_len, "%s:%zu: %s", d->name, ev.start_mark.line + 1, what); }
    yaml_event_delete(&ev);
    return ok;
}

bool tc_policy_load(tc_policy *p, const char *name, const uint8_t *data, size_t len, bool tighten, char *err,
                    size_t err_len)
{
    doc_ctx d = { .name = name, .err = err, .err_len = err_len };
    tc_policy *work;
    bool ok;
    if (len > TC_POLICY_MAX_FILE) { return fail(err, err_len, "%s: larger than %u bytes", name, TC_POLICY_MAX_FILE); }
    /* All or nothing: parse into a copy, commit on success. */
    work = malloc(sizeof *work);
    if (work == NULL) { return fail(err, err_len, "out of memory"); }
    *work = *p;
    if (!yaml_parser_initialize(&d.parser)) {
        free(work);
        return fail(err, err_len, "out of memory");
    }
    yaml_parser_set_input_string(&d.parser, data, len);
    ok = doc_expect(&d, YAML_STREAM_START_EVENT, "invalid YAML stream") &&
         doc_expect(&d, YAML_DOCUMENT_START_EVENT, "empty policy: expected a mapping of policy keys") &&
         doc_expect(&d, YAML_MAPPING_START_EVENT, "a policy must be a mapping of keys to values") &&
         doc_mapping(&d, work, tighten) &&
         doc_expect(&d, YAML_DOCUMENT_END_EVENT, "only one document is allowed") &&
         doc_expect(&d, YAML_STREAM_END_EVENT, "only one document is allowed");
    yaml_parser_delete(&d.parser);
    if (ok) { *p = *work; }
    free(work);
    return ok;
}

void tc_policy_apply(tc_policy *p, cba_policy *out)
{
    if (p->has_accept) { out->accepted_statuses = p->accepted_statuses; }
    if (p->has_advisories) {
        for (size_t i = 0; i < p->num_advisories; i++) { p->advisory_ptrs[i] = p->advisories[i]; }
        p->advisory_ptrs[p->num_advisories] = NULL;
        out->allowed_advisories = p->advisory_ptrs;
    }
    if (p->has_min_tcb_eval) { out->min_tcb_evaluation_data_number = p->min_tcb_eval; }
    if (p->has_max_age) { out->max_collateral_age = p->max_age; }
    for (int f = 0; f < CBA_PIN_COUNT; f++) {
        size_t size = cba_pin_field_size((cba_pin_field)f);
        if (!p->has_pin[f]) { continue; }
        for (size_t i = 0; i < p->num_pin[f]; i++) { memcpy(p->pin_flat[f] + i * size, p->pin[f][i], size); }
        out->pins[f].values = p->pin_flat[f];
        out->pins[f].num_values = p->num_pin[f];
    }
    if (p->has_min_tee_tcb_svn) {
        out->has_min_tee_tcb_svn = true;
        memcpy(out->min_tee_tcb_svn, p->min_tee_tcb_svn, 16);
    }
    if (p->has_min_qe_isvsvn) { out->min_qe_isvsvn = p->min_qe_isvsvn; }
    if (p->has_min_pcesvn) { out->min_pcesvn = p->min_pcesvn; }
}

/* append adds " piece" (no space first) to out, dropping what does not fit. */
static void append(char *out, size_t out_len, size_t *n, const char *piece)
{
    size_t len = strlen(piece), sep = *n > 0 ? 1 : 0;
    if (out_len == 0 || *n + sep + len >= out_len) { return; }
    if (sep) { out[(*n)++] = ' '; }
    memcpy(out + *n, piece, len);
    *n += len;
    out[*n] = '\0';
}

void tc_policy_describe(const tc_policy *p, char *out, size_t out_len)
{
    char piece[64];
    size_t n = 0;
    if (out_len == 0) { return; }
    out[0] = '\0';
    if (p->has_accept) { append(out, out_len, &n, "acceptTcbStatus"); }
    if (p->has_advisories) {
        snprintf(piece, sizeof piece, "allowedAdvisories(%zu)", p->num_advisories);
        append(out, out_len, &n, piece);
    }
    if (p->has_min_tcb_eval) {
        snprintf(piece, sizeof piece, "minTcbEvaluationNumber=%u", p->min_tcb_eval);
        append(out, out_len, &n, piece);
    }
    if (p->has_max_age) {
        snprintf(piece, sizeof piece, "maxCollateralAgeSeconds=%lld", (long long)p->max_age);
        append(out, out_len, &n, piece);
    }
    for (int f = 0; f < CBA_PIN_COUNT; f++) {
        if (!p->has_pin[f]) { continue; }
        snprintf(piece, sizeof piece, "%s(%zu)", k_pin_keys[f], p->num_pin[f]);
        append(out, out_len, &n, piece);
    }
    if (p->has_min_tee_tcb_svn) { append(out, out_len, &n, "minTeeTcbSvn"); }
    if (p->has_min_qe_isvsvn) {
        snprintf(piece, sizeof piece, "minQeIsvsvn=%u", (unsigned)p->min_qe_isvsvn);
        append(out, out_len, &n, piece);
    }
    if (p->has_min_pcesvn) {
        snprintf(piece, sizeof piece, "minPcesvn=%u", (unsigned)p->min_pcesvn);
        append(out, out_len, &n, piece);
    }
}
