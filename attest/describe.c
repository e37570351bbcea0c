/* describe.c — "describe a piece of evidence" (describe.h): what `crabbox-attest inspect` shows.
 * The verifier's public cba_inspect_json parses (strictly, verifying nothing); this adds its
 * members to the caller's object. */
#include <stdlib.h>

#include <json-c/json.h>

#include "crabbox/verifier.h"
#include "describe.h"

/* inspect runs cba_inspect_json and sets *out to the object it returned. */
static cba_err inspect(json_object **out, cba_inspect_kind kind, cbs in, char *why, size_t why_len)
{
    char *text = NULL;
    cba_err rc = cba_inspect_json(&text, why, why_len, kind, in.data, in.len);
    if (rc != CBA_OK) { return rc; }
    *out = json_tokener_parse(text);
    cba_free(text);
    return *out != NULL ? CBA_OK : CBA_E_NOMEM;
}

static cba_err add_members(json_object *o, cba_inspect_kind kind, cbs in, char *why, size_t why_len)
{
    json_object *got = NULL;
    cba_err rc = inspect(&got, kind, in, why, why_len);
    if (rc != CBA_OK) { return rc; }
    json_object_object_foreach(got, key, val) { json_object_object_add(o, key, json_object_get(val)); }
    json_object_put(got);
    return CBA_OK;
}

cba_err attest_describe_quote(json_object *o, cbs in, char *why, size_t why_len)
{
    return add_members(o, CBA_INSPECT_QUOTE, in, why, why_len);
}

cba_err attest_describe_info(json_object *o, cbs in, char *why, size_t why_len)
{
    return add_members(o, CBA_INSPECT_INFO, in, why, why_len);
}

cba_err attest_describe_collateral(json_object *o, cbs in, char *why, size_t why_len)
{
    return add_members(o, CBA_INSPECT_COLLATERAL, in, why, why_len);
}

cba_err attest_describe_der(json_object *o, cbs in, char *why, size_t why_len)
{
    return add_members(o, CBA_INSPECT_DER, in, why, why_len);
}

cba_err attest_describe_chain(json_object **out, cbs pem, char *why, size_t why_len)
{
    json_object *got = NULL, *certs = NULL;
    cba_err rc = inspect(&got, CBA_INSPECT_PEM_CHAIN, pem, why, why_len);
    if (rc != CBA_OK) { return rc; }
    if (!json_object_object_get_ex(got, "certificates", &certs)) {
        json_object_put(got);
        return CBA_E_INTERNAL;
    }
    *out = json_object_get(certs);
    json_object_put(got);
    return CBA_OK;
}
