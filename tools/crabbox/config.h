/* config.h — crabbox configuration: YAML files (libyaml), environment and flags.
 *
 * Precedence (phala-provider.md §3), lowest first: built-in defaults < config files (the user
 * file $XDG_CONFIG_HOME/crabbox/config.yaml, then the repository's crabbox.yaml and
 * .crabbox.yaml in the current directory, then the file named by CRABBOX_CONFIG) < environment
 * (CRABBOX_*) < flags.
 *
 * Trust: the user file and a CRABBOX_CONFIG file outside the repository are trusted; repository
 * files (and a CRABBOX_CONFIG file inside it) are not. From an untrusted file the keys that choose
 * what runs or what gets deployed (a driver's CRABBOX_KEY_TRUSTED_ONLY keys such as cli and
 * nodeId, and `compose`) are ignored with a warning, and `attest` is taken only when it is true.
 *
 * Schema: top-level host keys (provider, class, ttl, idleTimeout, collateral,
 * requireCollateral) and one block per driver, `<driver name>:`, whose keys are the driver's
 * declared config_keys plus the host-owned `attest` and `compose`. Unknown keys, wrong types,
 * duplicate keys, anchors/aliases/tags and more than one document are errors naming file and
 * line. Blocks of other installed drivers are accepted unvalidated. */
#ifndef CRABBOX_HOST_CONFIG_H
#define CRABBOX_HOST_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "crabbox/driver.h"
#include "policy.h"
#include "util.h"

#define CONFIG_MAX_FILE (64u << 10)

enum { /* precedence levels, lowest first */
    CFG_LEVEL_DEFAULT = 0,
    CFG_LEVEL_USER_FILE,
    CFG_LEVEL_REPO_FILE,
    CFG_LEVEL_CONFIG_ENV_FILE,
    CFG_LEVEL_ENV,
    CFG_LEVEL_FLAG,
};

typedef struct cfg_item {
    char *block;    /* NULL: a top-level key */
    char *key;
    char *value;    /* booleans are normalised to "true"/"false" once validated */
    bool plain;     /* YAML plain scalar (typed values must be plain) */
    bool trusted;
    bool ignored;   /* dropped by the trust rule */
    int level;
    int argpos;     /* index in argv for flags, else -1 */
    char where[320]; /* "FILE:LINE", "environment CRABBOX_X", "flag --x" */
} cfg_item;

typedef struct config {
    cfg_item *items;
    size_t num, cap;
} config;

void config_init(config *c);
void config_free(config *c); /* NULL-safe */

/* config_add appends one setting (value copied). CRABBOX_E_FAILED on ENOMEM. */
CBX_MUST_USE int config_add(config *c, const char *block, const char *key, const char *value, int level,
                            bool trusted, int argpos, const char *where, crabbox_err *err);

/* config_load_yaml parses one YAML document (see the schema above) from memory; `name` is used
 * in messages. CRABBOX_E_USAGE for malformed YAML or a structural error. */
CBX_MUST_USE int config_load_yaml(config *c, const char *name, const uint8_t *data, size_t len, int level,
                                  bool trusted, crabbox_err *err);

/* config_load_files loads the user file, the repository files of cwd and CRABBOX_CONFIG (from
 * `env_config`, may be NULL) with their trust (a file that is missing is skipped, except the
 * CRABBOX_CONFIG one). A trusted file must be owned by us or root and not group/world-writable. */
CBX_MUST_USE int config_load_files(config *c, const char *xdg_config_home, const char *home, const char *cwd,
                                   const char *env_config, crabbox_err *err);

/* config_load_host_env adds the CRABBOX_* variables of the host keys from `getenv_fn`. */
CBX_MUST_USE int config_load_host_env(config *c, const char *(*getenv_fn)(const char *), crabbox_err *err);

/* config_load_driver_env adds CRABBOX_<NAME>_<KEY> for each key of the driver block (the declared
 * keys plus attest and compose). Booleans accept true/false/1/0. */
CBX_MUST_USE int config_load_driver_env(config *c, const char *driver_name, const crabbox_config_key *keys,
                                        const char *(*getenv_fn)(const char *), crabbox_err *err);

/* A raw driver flag as the command line gave it: --<name>-<kebab-key>[=VALUE]. */
typedef struct cfg_flag {
    const char *name;  /* without the leading "--" */
    const char *value; /* NULL for a flag without value */
    int argpos;
} cfg_flag;

/* config_add_driver_flags maps --<driver>-<kebab-key> flags to block keys: --X-attest sets
 * attest=true, --X-skip-attestation sets attest=false and beats --X-attest. An unknown flag is
 * CRABBOX_E_USAGE naming it. */
CBX_MUST_USE int config_add_driver_flags(config *c, const char *driver_name, const crabbox_config_key *keys,
                                         const cfg_flag *flags, size_t num_flags, crabbox_err *err);

/* config_validate checks every setting against the schema for `driver_name` and applies the
 * trust rule (warnings go to stderr). other_block_ok tells whether a block named after another
 * driver is acceptable (e.g. that driver is installed). */
CBX_MUST_USE int config_validate(config *c, const char *driver_name, const crabbox_config_key *keys,
                                 bool (*other_block_ok)(void *arg, const char *name), void *arg, crabbox_err *err);

/* config_get returns the effective value (highest level, then latest) of a key that the trust
 * rule did not drop, or NULL when unset or set to an empty value. block NULL = top level. The
 * string lives as long as c. `where` (optional) receives the source. */
const char *config_get(const config *c, const char *block, const char *key, const char **where);

/* config_get_bool returns the boolean value of a key or `def`. */
bool config_get_bool(const config *c, const char *block, const char *key, bool def);

/* config_flag_pos returns argv position of the effective setting when it came from a flag, else -1. */
int config_flag_pos(const config *c, const char *block, const char *key);

/* config_trusted_sets says whether a trusted source (user config, environment, flag) sets the
 * top-level key to a non-empty value; a repository file never counts. */
bool config_trusted_sets(const config *c, const char *key);
/* config_policy builds the verifier policy from the policy keys (policy.h): trusted settings
 * (user file, CRABBOX_CONFIG outside the repository, environment, flags) in precedence order,
 * then a repository file's, which only tighten (lists shrink, pins are added or narrowed,
 * minimums rise, the maximum age falls). CRABBOX_E_USAGE names the setting when a value is bad
 * or a repository pin excludes every trusted value. */
CBX_MUST_USE int config_policy(const config *c, tc_policy *out, crabbox_err *err);

/* config_builtin_keys returns the schema the host assumes for a driver that declares none
 * (phala: cli, instanceType, workRoot, nodeId), or NULL. */
const crabbox_config_key *config_builtin_keys(const char *driver_name);

/* The spelling helpers: instanceType -> INSTANCE_TYPE / instance-type (out_len >= 2*strlen+1). */
void config_snake_upper(char *out, size_t out_len, const char *camel);
void config_kebab(char *out, size_t out_len, const char *camel);

#endif
