/* fuzz/host_config.c. Target: config_load_yaml + config_validate (the crabbox host's
 * YAML configuration). Seeds: fuzz/corpus/host_config/.
 * Properties: a rejected file adds nothing (all or nothing) and its error names the file; an
 * accepted untrusted file never makes a trusted-only key effective, nor attest anything but true. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const crabbox_config_key k_keys[] = {
    { "mode", 0 },
    { "helper", CRABBOX_KEY_TRUSTED_ONLY },
    { "nodeId", CRABBOX_KEY_TRUSTED_ONLY },
    { "verbose", CRABBOX_KEY_BOOL },
    { NULL, 0 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    config c;
    crabbox_err err = { 0 };
    const char *v;
    config_init(&c);
    if (config_add(&c, NULL, "class", "seeded", CFG_LEVEL_DEFAULT, true, -1, "seed", &err) != CRABBOX_OK) {
        abort();
    }
    if (config_load_yaml(&c, "fuzz.yaml", data, size, CFG_LEVEL_REPO_FILE, false, &err) != CRABBOX_OK) {
        if (c.num != 1 || strncmp(err.message, "fuzz.yaml:", 10) != 0) { abort(); }
    } else if (config_validate(&c, "test", k_keys, NULL, NULL, &err) == CRABBOX_OK) {
        if (config_get(&c, "test", "helper", NULL) != NULL || config_get(&c, "test", "nodeId", NULL) != NULL ||
            config_get(&c, "test", "compose", NULL) != NULL) {
            abort(); /* the trust rule */
        }
        v = config_get(&c, "test", "attest", NULL);
        if (v != NULL && strcmp(v, "true") != 0) { abort(); }
        v = config_get(&c, "test", "verbose", NULL);
        if (v != NULL && strcmp(v, "true") != 0 && strcmp(v, "false") != 0) { abort(); }
    } else if (strncmp(err.message, "fuzz.yaml:", 10) != 0) {
        abort();
    }
    config_free(&c);
    return 0;
}
