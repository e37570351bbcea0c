/* crabbox/driver.h — the lease-driver plugin ABI (version 1).
 *
 * A driver is a shared object exporting one symbol, crabbox_driver_entry, that returns a const
 * descriptor. The host hands the driver a table of services; neither side keeps globals. All
 * structs start with (abi_version, struct_size); new members are only ever appended. Everything
 * a function returns through an out-pointer is owned by the caller and released with the
 * matching *_free member of the side that allocated it. Errors cross as a code plus a message in
 * caller storage (crabbox_err); messages never contain secrets.
 *
 * The gate: open_session needs a crabbox_attest_token that only the host's verifier mints, for
 * this lease, after the driver's evidence verified. A driver validates the token through the
 * host's token_check service before it exposes anything (ssh target, exec, proxy).
 *
 * Files: a driver named N is the file crabbox-driver-N.so in ${libdir}/crabbox/drivers or in a
 * directory of CRABBOX_DRIVER_PATH. Leases: the host may hand back a lease it rebuilt from its
 * claim (driver_data NULL): a driver re-resolves it by cloud_id and, before destroying, checks
 * that the CVM's name still belongs to lease_id. Host key: after verification the host writes
 * <lease_dir>/known_hosts with the attested key under the name <lease_id>; ssh_argv pins it with
 * -o HostKeyAlias=<lease_id> -o UserKnownHostsFile=<lease_dir>/known_hosts
 * -o StrictHostKeyChecking=yes. docs/driver-abi.md is the guide. */
#ifndef CRABBOX_DRIVER_H
#define CRABBOX_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRABBOX_DRIVER_ABI_VERSION 1u

typedef enum crabbox_code { /* append only; values double as exit codes where they fit */
    CRABBOX_OK = 0,
    CRABBOX_E_FAILED = 1,      /* general failure */
    CRABBOX_E_USAGE = 2,       /* bad usage or configuration */
    CRABBOX_E_ATTESTATION = 3, /* evidence missing or rejected */
    CRABBOX_E_NOT_FOUND = 4,   /* lease/CVM not found, or ownership refused */
    CRABBOX_E_MALFORMED = 5,   /* malformed provider output, pagination inconsistency */
    CRABBOX_E_TIMEOUT = 6,
    CRABBOX_E_CANCELLED = 7,
    CRABBOX_E_AUTH = 8,        /* not logged in, key rejected */
    CRABBOX_E_QUOTA = 9,       /* balance, quota, rate limit */
    CRABBOX_E_TRANSIENT = 10,  /* network, unavailable: may be retried */
    CRABBOX_E_UNSUPPORTED = 11,
    CRABBOX_E_ABI = 12         /* version or struct size mismatch */
} crabbox_code;

typedef struct crabbox_err {
    int code; /* crabbox_code */
    char message[512];
} crabbox_err;

enum { CRABBOX_LOG_DEBUG = 0, CRABBOX_LOG_INFO = 1, CRABBOX_LOG_WARN = 2, CRABBOX_LOG_ERROR = 3 };

typedef struct crabbox_output { /* captured by the host's spawn; free with host->output_free */
    uint8_t *out;
    size_t out_len;
    uint8_t *err;
    size_t err_len;
    int exit_status;  /* exit code, or 128 + signal */
    bool timed_out;   /* killed at the deadline */
    bool truncated;   /* output beyond the cap was dropped */
} crabbox_output;

typedef struct crabbox_spawn_opts {
    uint32_t struct_size;
    int64_t deadline_ms;    /* absolute, host clock (now_ms); 0 = host default */
    size_t max_output;      /* per stream; 0 = host default (1 MiB) */
    bool stderr_to_user;    /* also pass stderr through to the user, line by line */
    const uint8_t *stdin_data; /* NULL = /dev/null */
    size_t stdin_len;
    /* appended in ABI v1 (check with CRABBOX_HAS_MEMBER): */
    const char *cwd;        /* working directory of the child (absolute); NULL = the host's */
} crabbox_spawn_opts;

typedef struct crabbox_attest_token { /* opaque to drivers; minted by the host's gate */
    uint32_t struct_size;
    uint8_t bytes[64];
} crabbox_attest_token;

typedef struct crabbox_host { /* host -> driver services; ctx is handed back on every call */
    uint32_t abi_version, struct_size;
    void *ctx;
    void (*log)(void *ctx, int level, const char *msg);
    void (*progress)(void *ctx, const char *msg); /* one line on long waits */
    /* config: the effective value of a key of this driver's config block ("cli", "nodeId", ...)
     * after precedence and the trust rule, or NULL. The string lives until close. */
    const char *(*config)(void *ctx, const char *key);
    const char *(*state_dir)(void *ctx); /* per-user crabbox state dir (0700) */
    int64_t (*now_ms)(void *ctx);        /* monotonic milliseconds */
    bool (*cancelled)(void *ctx);        /* true after SIGINT/SIGTERM: stop soon */
    /* spawn: argv[0] is resolved by the host to an absolute path; never a shell; the
     * environment is the host's minimal one plus variables the driver's config allows. */
    int (*spawn)(void *ctx, const char *const argv[], const crabbox_spawn_opts *opts,
                 crabbox_output *out, crabbox_err *err);
    void (*output_free)(void *ctx, crabbox_output *out); /* NULL-safe */
    /* token_check: true only for a token the host minted for this lease and host key. */
    bool (*token_check)(void *ctx, const char *lease_id, const uint8_t *host_key, size_t host_key_len,
                        const crabbox_attest_token *token);
} crabbox_host;

typedef struct crabbox_lease_spec { /* host -> driver, for warmup */
    uint32_t struct_size;
    const char *lease_id;         /* "cbx_" + 12 hex */
    const char *slug;
    const char *class_name;       /* standard | fast | large | beast | ... */
    const char *instance_type;    /* explicit type, or NULL */
    const char *lease_dir;        /* per-lease dir (0700) with id_ed25519(.pub), known_hosts */
    const uint8_t *compose;       /* exact compose bytes to deploy (attestation must find them) */
    size_t compose_len;
    bool keep;                    /* keep the CVM after a failure */
    /* appended in ABI v1 (check with CRABBOX_HAS_MEMBER): the exact pre-launch script the host
     * generated for this lease (it installs only the lease's SSH key); the driver deploys it
     * byte for byte and the gate requires it in the attested app-compose. NULL = none. */
    const uint8_t *pre_launch_script;
    size_t pre_launch_script_len;
} crabbox_lease_spec;

typedef struct crabbox_lease { /* driver -> host; free with driver->lease_free */
    uint32_t struct_size;
    char lease_id[32];
    char cloud_id[128];       /* e.g. the phala app id */
    char name[128];           /* e.g. crabbox-cbx-... */
    char status[32];          /* running | provisioning | stopped | ... */
    char app_id[41];          /* hex, for attestation binding; may be empty */
    char gateway_host[256];
    void *driver_data;        /* owned by the driver */
} crabbox_lease;

typedef struct crabbox_evidence { /* driver -> host; free with driver->evidence_free */
    uint32_t struct_size;
    uint8_t *info_json;       /* guest agent Info / Tappd.Info response */
    size_t info_json_len;
    uint8_t *quote;           /* fresh quote (GetQuote) or NULL */
    size_t quote_len;
    uint8_t *host_key;        /* SSH host key blob of the session the evidence came through */
    size_t host_key_len;
    uint8_t report_data[64];  /* what the driver asked the quote to carry */
    bool fresh;               /* quote made for the host's nonce (false: Info quote only) */
    /* appended in ABI v1 (check with CRABBOX_HAS_MEMBER): the event log the guest agent sent
     * WITH `quote` (dstack GetQuote's "event_log" text), or NULL. The Info log is a snapshot of
     * when Info was made: a runtime event emitted before the quote extends RTMR3, and only this
     * log replays to the quote's. */
    uint8_t *quote_event_log;
    size_t quote_event_log_len;
} crabbox_evidence;

typedef struct crabbox_session { /* driver -> host; free with driver->session_free */
    uint32_t struct_size;
    char *const *ssh_argv;    /* ssh argv prefix (ends before the remote command), NULL-terminated */
    char *const *proxy_argv;  /* ProxyCommand argv or NULL */
    char user[64];
    char work_root[256];
} crabbox_session;

typedef struct crabbox_lease_list {
    uint32_t struct_size;
    size_t num;
    crabbox_lease *items;
} crabbox_lease_list;

/* A key of the driver's YAML block (`<driver name>:`), also settable as the flag
 * --<name>-<kebab-key> and the environment variable CRABBOX_<NAME>_<UPPER_SNAKE_KEY>
 * (instanceType: --phala-instance-type, CRABBOX_PHALA_INSTANCE_TYPE). The host owns the keys
 * `attest` and `compose` of every block; a driver does not declare them. */
typedef struct crabbox_config_key {
    const char *name;  /* camelCase YAML key */
    uint32_t flags;    /* CRABBOX_KEY_* */
} crabbox_config_key;
#define CRABBOX_KEY_TRUSTED_ONLY 0x1u /* ignored (with a warning) in repository config files: it
                                         chooses what runs locally or what gets deployed */
#define CRABBOX_KEY_BOOL 0x2u         /* true | false (the effective value is "true"/"false") */

typedef struct crabbox_driver { /* driver -> host vtable */
    uint32_t abi_version, struct_size;
    const char *name;                 /* "phala" */
    const char *const *aliases;       /* NULL-terminated: "phala-cloud", "dstack" */
    uint32_t capabilities;            /* CRABBOX_CAP_* */
    int (*open)(const crabbox_host *host, void **out_drv, crabbox_err *err);
    void (*close)(void *drv);         /* NULL-safe */
    int (*warmup)(void *drv, const crabbox_lease_spec *spec, crabbox_lease **out, crabbox_err *err);
    int (*fetch_evidence)(void *drv, const crabbox_lease *lease, const uint8_t nonce[32],
                          crabbox_evidence **out, crabbox_err *err);
    int (*open_session)(void *drv, const crabbox_lease *lease, const crabbox_attest_token *token,
                        crabbox_session **out, crabbox_err *err);
    int (*list)(void *drv, crabbox_lease_list **out, crabbox_err *err);
    int (*destroy)(void *drv, const crabbox_lease *lease, crabbox_err *err); /* gone = success */
    int (*doctor)(void *drv, char *summary, size_t summary_len, crabbox_err *err);
    int (*cleanup)(void *drv, bool dry_run, crabbox_err *err);
    void (*lease_free)(void *drv, crabbox_lease *lease);          /* NULL-safe */
    void (*lease_list_free)(void *drv, crabbox_lease_list *list); /* NULL-safe */
    void (*evidence_free)(void *drv, crabbox_evidence *ev);       /* NULL-safe, wipes */
    void (*session_free)(void *drv, crabbox_session *s);          /* NULL-safe */
    /* ---- appended in ABI 1 (optional: check with CRABBOX_HAS_MEMBER; NULL = none) ---- */
    const crabbox_config_key *config_keys; /* this driver's config block schema, ended by an
                                              entry with name NULL */
    const char *const *env_passthrough; /* NULL-terminated names of environment variables the
                                           host passes through to programs it spawns for the
                                           driver (e.g. "PHALA_CLOUD_API_KEY") */
} crabbox_driver;

/* The report data a fresh quote must carry (CRABBOX_CAP_FRESH_QUOTE):
 *     report_data = SHA-512("crabbox-attest-v1:" || nonce[32] || SHA-256(host_key))
 * where nonce is the host's 32 random bytes given to fetch_evidence and host_key is the SSH host
 * key blob (RFC 4253 wire format, e.g. string "ssh-ed25519" || string key) of the connection
 * the evidence came through. The domain string has no NUL; the result is the full 64 bytes. */
#define CRABBOX_REPORT_DATA_DOMAIN "crabbox-attest-v1:"

#define CRABBOX_CAP_FRESH_QUOTE 0x1u /* fetch_evidence can bind a nonce (GetQuote) */
#define CRABBOX_CAP_PROXY 0x2u       /* sessions go through a ProxyCommand */

/* The only export (version script: global: crabbox_driver_entry; local: *;). Returns NULL when the
 * driver cannot serve a host of that ABI version. */
typedef const crabbox_driver *crabbox_driver_entry_fn(uint32_t host_abi_version);
#define CRABBOX_DRIVER_ENTRY "crabbox_driver_entry"
/* Drivers build with -fvisibility=hidden and mark only the entry point:
 *     CRABBOX_DRIVER_EXPORT const crabbox_driver *crabbox_driver_entry(uint32_t v) { ... } */
#define CRABBOX_DRIVER_EXPORT __attribute__((visibility("default")))

/* CRABBOX_HAS_MEMBER: does a struct of the other side's struct_size contain member m? */
#define CRABBOX_HAS_MEMBER(type, p, m) \
    ((p)->struct_size >= offsetof(type, m) + sizeof(((type *)0)->m))

#ifdef __cplusplus
}
#endif
#endif
