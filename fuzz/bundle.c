/* fuzz/bundle.c. Target: bundle_parse (a crabbox evidence bundle, the file
 * `crabbox-attest verify --bundle` reads: whoever hands you a bundle controls every byte).
 * Seeds: fuzz/corpus/bundle/.
 * Properties: a refusal always says why; an accepted bundle has its strings NUL-terminated within
 * their fields and round-trips: bundle_to_json, serialised and parsed again, is accepted and
 * serialises to the same text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bundle a, b;
    char err[512] = "";
    json_object *oa, *ob;
    const char *ta, *tb;
    if (bundle_parse(data, size, "fuzz.json", &a, err, sizeof err) != 0) {
        if (err[0] == '\0') { abort(); }
        return 0;
    }
#define TERM(f) if (memchr(a.f, '\0', sizeof a.f) == NULL) { abort(); }
    TERM(lease) TERM(provider) TERM(cloud_id) TERM(collateral_source) TERM(verdict)
    TERM(failed_check) TERM(error) TERM(detail)
#undef TERM
    oa = bundle_to_json(&a);
    if (oa == NULL) {
        bundle_free(&a);
        return 0; /* out of memory */
    }
    ta = json_object_to_json_string_ext(oa, JSON_C_TO_STRING_PLAIN);
    if (ta == NULL || bundle_parse((const uint8_t *)ta, strlen(ta), "again.json", &b, err, sizeof err) != 0) {
        fprintf(stderr, "bundle: the serialised bundle does not parse: %s\n", err);
        abort();
    }
    ob = bundle_to_json(&b);
    tb = ob != NULL ? json_object_to_json_string_ext(ob, JSON_C_TO_STRING_PLAIN) : NULL;
    if (tb != NULL && strcmp(ta, tb) != 0) {
        fprintf(stderr, "bundle: does not round-trip\n");
        abort();
    }
    json_object_put(ob);
    json_object_put(oa);
    bundle_free(&b);
    bundle_free(&a);
    return 0;
}
