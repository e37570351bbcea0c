/* fuzz/claim_file.c. Target: claim_parse (a lease claim file of the host's state
 * directory: written by crabbox itself, but anything that can write there, or a disk error, can
 * change it, so it is untrusted input). Seeds: fuzz/corpus/claim_file/.
 * Properties: an accepted claim has every string NUL-terminated within its field, and it
 * round-trips: claim_to_json, serialised and parsed again, gives the same claim. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void strings_terminated(const claim *c)
{
#define TERM(f) if (memchr(c->f, '\0', sizeof c->f) == NULL) { abort(); }
    TERM(lease) TERM(slug) TERM(provider) TERM(class_name) TERM(server_type) TERM(state)
    TERM(cloud_id) TERM(name) TERM(app_id) TERM(gateway_host) TERM(status) TERM(recovery)
    TERM(tdx_app_id) TERM(tdx_compose_hash) TERM(tdx_mrtd) TERM(tdx_rtmr3) TERM(tdx_os_image_hash)
    TERM(scope) TERM(lease_dir) TERM(compose_sha256) TERM(bundle)
#undef TERM
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    claim a, b;
    crabbox_err err = { 0 };
    json_object *o;
    const char *text;
    if (claim_parse(data, size, "fuzz.json", &a, &err) != CRABBOX_OK) {
        if (err.message[0] == '\0') { abort(); } /* every refusal says why */
        return 0;
    }
    strings_terminated(&a);
    o = claim_to_json(&a);
    if (o == NULL) { return 0; } /* out of memory */
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (text == NULL) {
        json_object_put(o);
        return 0;
    }
    if (claim_parse((const uint8_t *)text, strlen(text), "again.json", &b, &err) != CRABBOX_OK) {
        fprintf(stderr, "claim_file: the serialised claim does not parse: %s\n", err.message);
        abort();
    }
    json_object_put(o);
    if (memcmp(&a, &b, sizeof a) != 0) {
        fprintf(stderr, "claim_file: the claim does not round-trip\n");
        abort();
    }
    return 0;
}
