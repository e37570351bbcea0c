/* phala.h — internals of the phala lease driver (control plane).
 *
 * The driver talks to Phala Cloud only through the user's `phala` CLI, run by the host's spawn
 * service (argv vector, deadline, capped output). Everything the CLI prints is untrusted: it is
 * located and parsed strictly (verifier/src/json.h) and failures are classified from the exit
 * status plus the CLI's structured {"success":false,"error":...} document. The pure helpers here
 * (names, JSON location, classification, inventory parsing) are built into the static library
 * phala_core so the unit tests reach them without dlopen. */
#ifndef CRABBOX_PHALA_H
#define CRABBOX_PHALA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "cbs.h"
#include "crabbox/driver.h"

#define PHALA_LEASE_ID_LEN 16u /* "cbx_" + 12 lowercase hex */
#define PHALA_APP_ID_HEX 40u   /* app id: 20 bytes, lowercase hex, no "app_" prefix */
#define PHALA_NAME_MAX 63u     /* Phala CVM names are 5..63 characters */
#define PHALA_NAME_PREFIX "crabbox-"
#define PHALA_DEFAULT_INSTANCE_TYPE "tdx.small"
#define PHALA_PAGE_SIZE 100u
/* Compose plus pre-launch script are limited to 200 KiB together by the platform. */
#define PHALA_COMPOSE_MAX (200u * 1024u)

#if defined(__GNUC__)
#define PHALA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PHALA_MUST_USE __attribute__((warn_unused_result))
#else
#define PHALA_PRINTF(a, b)
#define PHALA_MUST_USE
#endif

/* ---- util.c ------------------------------------------------------------------------------- */

/* phala_fail stores code and a formatted message in err (which may be NULL) and returns code.
 * Unlike cba_fail it overwrites: callers add context by formatting the previous message in. */
PHALA_PRINTF(3, 4) int phala_fail(crabbox_err *err, int code, const char *fmt, ...);

/* phala_excerpt writes a one-line, printable, bounded copy of untrusted CLI text into out: control
 * bytes become spaces, runs of spaces collapse, invalid UTF-8 becomes '?', API keys (`phak_...`
 * and the value of PHALA_CLOUD_API_KEY) are redacted, and text beyond out_len is cut with "...".
 * out_len must be at least 8. */
void phala_excerpt(char *out, size_t out_len, cbs text);

/* phala_write_file_atomic writes data to path through a temp file in the same directory (fsync,
 * rename, directory fsync), with `mode`. Returns 0 or an errno value. */
PHALA_MUST_USE int phala_write_file_atomic(const char *path, const uint8_t *data, size_t len,
                                           unsigned mode);

/* phala_private_dir checks that path is a real directory (not a symlink) owned by us with no
 * group/other access; with `create` a missing one is made 0700. Returns 0 or an errno value
 * (EPERM for wrong owner or mode, ELOOP for a symlink). */
PHALA_MUST_USE int phala_private_dir(const char *path, bool create);

/* phala_cli_dir_make creates the private working directory of one CLI run: a new, empty 0700
 * directory "<record_dir>/cli-XXXXXX". The CLI reads ./phala.toml from its working directory (a
 * file naming a CVM turns `deploy` into an update of that CVM, its `profile` switches accounts),
 * so it never runs in the user's folder. *lock_fd is an flock'ed descriptor of the directory, to
 * close after phala_cli_dir_remove. Returns 0 or an errno value. */
PHALA_MUST_USE int phala_cli_dir_make(const char *record_dir, char *out, size_t out_len, int *lock_fd);

/* phala_cli_dirs_sweep removes the cli-* directories in record_dir that no live run holds (left
 * by a crabbox killed with SIGKILL); every CLI call sweeps before it makes its own. */
void phala_cli_dirs_sweep(const char *record_dir);

/* phala_cli_dir_remove removes such a directory with whatever the CLI left in it (depth first,
 * symlinks not followed, one file system). Returns 0, or EEXIST when it could not. */
int phala_cli_dir_remove(const char *path);

/* phala_utf8_valid: strict UTF-8 (no overlong forms, surrogates or code points above U+10FFFF)
 * and no NUL byte. The CLI reads the compose and pre-launch script files as UTF-8 text, so only
 * such bytes reach the platform unchanged. */
bool phala_utf8_valid(const uint8_t *p, size_t len);

/* phala_bool_parse reads a configured boolean: exactly "true" or "false". */
PHALA_MUST_USE bool phala_bool_parse(const char *s, bool *out);

/* phala_sleep_ms sleeps for ms milliseconds (EINTR resumes). */
void phala_sleep_ms(int64_t ms);

/* phala_wall_seconds returns the wall clock in Unix seconds (record timestamps only; deadlines
 * use the host's monotonic now_ms). */
int64_t phala_wall_seconds(void);

/* ---- names.c ------------------------------------------------------------------------------ */

/* phala_lease_id_valid: exactly "cbx_" followed by 12 lowercase hex digits. */
bool phala_lease_id_valid(const char *s);

/* phala_name_for_lease writes "crabbox-" + lease id with '_' turned into '-' (NUL-terminated,
 * out_len >= 64). False for an invalid lease id. */
PHALA_MUST_USE bool phala_name_for_lease(char *out, size_t out_len, const char *lease_id);

/* phala_lease_for_name decodes a CVM name back to its lease id (strip the prefix, turn the first
 * '-' back into '_', then the lease id must be valid); out_len >= PHALA_LEASE_ID_LEN + 1. */
PHALA_MUST_USE bool phala_lease_for_name(char *out, size_t out_len, cbs name);

/* phala_name_valid applies Phala's naming rule: 5..63 characters, a letter first, then letters,
 * digits and single hyphens (no trailing hyphen). */
bool phala_name_valid(cbs name);

/* phala_class_type maps a lease class to an instance type (tiny/small/standard -> tdx.small,
 * fast -> tdx.medium, large -> tdx.large, beast -> tdx.xlarge); NULL for an unknown class, which
 * callers use verbatim as an instance type. */
const char *phala_class_type(const char *class_name);

/* phala_instance_type_normalize validates an instance type and writes the shape the CLI takes:
 * "tdx.small" stays, "linux/<arch>:tdx.small" becomes "tdx.small", any other "os/..." form is
 * refused. Shapes are [a-z0-9][a-z0-9._-]{0,30}: never an option-looking word. */
PHALA_MUST_USE bool phala_instance_type_normalize(char *out, size_t out_len, const char *in);

/* phala_work_root_valid (§3): absolute, already normalised (no empty, "." or ".." parts, no
 * trailing '/'), no blanks, quotes or backslashes (it ends up in remote commands), and not "/",
 * "/var/volatile" or one of the top-level system directories (bin, dev, etc, home, lib, lib64,
 * opt, proc, root, sbin, sys, tmp, usr, var, work) themselves. */
bool phala_work_root_valid(const char *p);

/* phala_node_id_valid: 1..10 decimal digits (the CLI's --node-id is numeric). */
bool phala_node_id_valid(const char *s);

/* phala_seconds_parse reads a configured duration in whole seconds: 1..10 decimal digits (no
 * sign, blanks or suffix) whose value is in lo..hi; *out_ms gets it in milliseconds. False
 * otherwise (*out_ms untouched). */
PHALA_MUST_USE bool phala_seconds_parse(const char *s, int64_t lo, int64_t hi, int64_t *out_ms);

/* phala_app_id_normalize accepts 40 hex digits with an optional "app_" prefix and writes the
 * lowercase form without the prefix (out_len >= 41). */
PHALA_MUST_USE bool phala_app_id_normalize(char *out, size_t out_len, cbs in);

/* phala_status_normalize maps a provider status word to running | provisioning | stopped, or
 * copies an unknown word (sanitised, lowercased, at most out_len - 1 bytes; "unknown" if
 * empty). */
void phala_status_normalize(char *out, size_t out_len, cbs raw);

/* ---- cli.c -------------------------------------------------------------------------------- */

typedef struct phala_ctx {
    const crabbox_host *host;
    const char *cli; /* argv[0]: configured `cli` or "phala"; the host resolves it */
    int64_t cli_timeout_cap_ms; /* `cliTimeoutSeconds`: caps every call's deadline; 0 = none */
} phala_ctx;

/* phala_locate_json finds the JSON object in CLI output: the first line whose first non-blank
 * byte is '{', up to its matching '}' found by a string-aware scan (braces inside strings and
 * escapes do not count). Lines before it are ignored (the `Provisioning CVM <name>...` line).
 * With strict_trailer, what follows may only be whitespace and lines mentioning libuv's
 * `Assertion failed`; otherwise anything may follow. False when no complete object is found. */
PHALA_MUST_USE bool phala_locate_json(cbs text, bool strict_trailer, cbs *out);

/* phala_classify_message maps the CLI's structured error message to a crabbox_code:
 * CRABBOX_E_NOT_FOUND ("CVM not found"), _AUTH, _QUOTA, _TRANSIENT, _USAGE, else _FAILED. */
int phala_classify_message(cbs msg);

/* phala_reason names a crabbox_code in failure messages ("not logged in", "quota or balance"). */
const char *phala_reason(int code);

enum {
    PHALA_DOC_ON_STDERR = 0x1u, /* deploy writes its failure document to stderr */
    PHALA_EMPTY_OK = 0x2u,      /* exit 0 with empty stdout is a valid (NULL) answer */
    PHALA_NO_CANCEL = 0x4u,     /* run even after the host was cancelled (rollback deletes) */
};

/* phala_interpret decides the outcome of one CLI run from its captured output. On success
 * (exit 0, a JSON object with "success": true) *out_doc is a new reference the caller puts; it
 * stays NULL for an accepted empty answer (PHALA_EMPTY_OK). Otherwise it returns the
 * classified code with `phala <what> failed: <reason>: <excerpt>` in err: TIMEOUT for a killed
 * run, MALFORMED for truncated or unparsable output, the message class for a structured
 * failure, FAILED for a non-zero exit without one. */
PHALA_MUST_USE int phala_interpret(const char *what, const crabbox_output *out, unsigned flags,
                                   json_object **out_doc, crabbox_err *err);

typedef struct phala_call {
    const char *what;         /* "cvms list": names the subcommand in messages */
    const char *const *args;  /* argv after argv[0], NULL-terminated */
    int64_t timeout_ms;       /* relative; turned into the host's absolute deadline */
    size_t max_output;        /* per stream */
    bool stderr_to_user;
    unsigned flags;           /* PHALA_DOC_ON_STDERR | PHALA_EMPTY_OK */
} phala_call;

/* phala_run runs the CLI once through host->spawn and interprets the result (see above).
 * CANCELLED when the host asked to stop before the run. The deadline is call->timeout_ms, or
 * px->cli_timeout_cap_ms when that is set and shorter. */
PHALA_MUST_USE int phala_run(const phala_ctx *px, const phala_call *call, json_object **out_doc,
                             crabbox_err *err);

/* phala_doc_success: the document's "success" member is the boolean true. */
bool phala_doc_success(const json_object *doc);

/* phala_parse_version takes the first word of `phala --version` output ("v1.1.18+d27a321"):
 * an optional 'v', a digit, then [A-Za-z0-9.+-]. MALFORMED otherwise. */
PHALA_MUST_USE int phala_parse_version(cbs text, char *out, size_t out_len);

/* phala_cli_version runs `phala --version` and returns the version word. */
PHALA_MUST_USE int phala_cli_version(const phala_ctx *px, char *out, size_t out_len,
                                     crabbox_err *err);

/* ---- inventory.c -------------------------------------------------------------------------- */

typedef struct phala_cvm {
    char app_id[PHALA_APP_ID_HEX + 1];
    char name[PHALA_NAME_MAX + 1];
    char status[32];
} phala_cvm;

typedef struct phala_inventory { /* caller storage; phala_inventory_cleanup frees */
    phala_cvm *items;
    size_t num, cap;
} phala_inventory;

void phala_inventory_cleanup(phala_inventory *inv); /* NULL-safe */

typedef struct phala_page_info {
    size_t num_items;
    uint64_t total;        /* apps, including apps without a current CVM */
    uint64_t total_pages;  /* 0 when absent */
} phala_page_info;

/* phala_inventory_add_page appends the items of one `cvms list --json` page. Each item needs an
 * app id (40 hex, "app_" tolerated) and a cvmName; an app id already in inv is a pagination
 * inconsistency (MALFORMED); `total` may exceed the items (apps without a current CVM). */
PHALA_MUST_USE int phala_inventory_add_page(phala_inventory *inv, const json_object *doc,
                                            uint64_t page, phala_page_info *out,
                                            crabbox_err *err);

/* phala_inventory_more: should the walk fetch the page after `page`? With totalPages, while
 * page < totalPages (a page may be short because apps without a CVM are left out); without it,
 * while the page was full. */
bool phala_inventory_more(const phala_page_info *info, uint64_t page, size_t page_size);

/* phala_inventory_fetch walks every page of `cvms list` (bounded to PHALA_MAX_PAGES). */
#define PHALA_MAX_PAGES 1000u
PHALA_MUST_USE int phala_inventory_fetch(const phala_ctx *px, phala_inventory *out,
                                         crabbox_err *err);

typedef struct phala_cvm_detail {
    char app_id[PHALA_APP_ID_HEX + 1];
    char name[PHALA_NAME_MAX + 1];
    char status[32];
    char instance_type[32];
    char gateway_host[256]; /* "<app_id>-22.<domain>", empty when the CLI gave no domain */
} phala_cvm_detail;

/* phala_parse_get reads a `cvms get --json` document: app_id required (40 hex), name, status,
 * resource.instance_type, and the gateway domain (first non-empty of gateway.gateway_domain,
 * gateway.base_domain, gateway.domain, gateway_domain) which must be a plausible host name. */
PHALA_MUST_USE int phala_parse_get(const json_object *doc, phala_cvm_detail *out,
                                   crabbox_err *err);

/* phala_gateway_host builds "<app_id>-22.<domain>" after checking the domain is a DNS name
 * (labels of [A-Za-z0-9-], no leading/trailing hyphen, total under out_len), optionally followed
 * by ":<port>" (1..65535, kept: the gateway then listens there instead of 443). */
PHALA_MUST_USE bool phala_gateway_host(char *out, size_t out_len, const char *app_id, cbs domain);

/* phala_cvm_get runs `cvms get --cvm-id <id> --json`; NOT_FOUND when the CVM is gone. flags:
 * PHALA_NO_CANCEL for rollback paths. */
PHALA_MUST_USE int phala_cvm_get(const phala_ctx *px, const char *id, unsigned flags,
                                 phala_cvm_detail *out, crabbox_err *err);

/* ---- record.c: the driver's own per-lease records ----------------------------------------- */

/* Phala has no labels, so before `deploy` runs the driver writes an intent record naming the
 * lease and the CVM name it is about to create; a crash can then never leave an unowned, billed
 * CVM. The record is updated with the CVM id and a state, held under a lock while a warmup is in
 * progress, and removed once the CVM is deleted or proved absent. */
typedef enum phala_rec_state {
    PHALA_REC_DEPLOYING,        /* deploy about to run or running */
    PHALA_REC_READY,            /* warmup returned the lease */
    PHALA_REC_AMBIGUOUS,        /* deploy failed ambiguously and no CVM was found */
    PHALA_REC_ROLLBACK,         /* a rollback delete failed: cleanup retries */
    PHALA_REC_KEPT,             /* kept after a failure (--keep): cleanup never deletes */
} phala_rec_state;

typedef struct phala_record {
    char lease_id[PHALA_LEASE_ID_LEN + 1];
    char name[PHALA_NAME_MAX + 1];
    char app_id[PHALA_APP_ID_HEX + 1]; /* empty until known */
    phala_rec_state state;
    int64_t created_at; /* Unix seconds */
} phala_record;

const char *phala_rec_state_name(phala_rec_state s);

/* phala_record_dir writes "<state_dir>/phala" into out, creating it 0700. */
PHALA_MUST_USE int phala_record_dir(const phala_ctx *px, char *out, size_t out_len,
                                    crabbox_err *err);
PHALA_MUST_USE int phala_record_write(const char *dir, const phala_record *rec, crabbox_err *err);
/* phala_record_read: NOT_FOUND when there is no record for the lease. */
PHALA_MUST_USE int phala_record_read(const char *dir, const char *lease_id, phala_record *out,
                                     crabbox_err *err);
PHALA_MUST_USE int phala_record_parse(cbs text, phala_record *out, crabbox_err *err);
void phala_record_remove(const char *dir, const char *lease_id);
/* phala_record_lock takes the lease's lock without waiting; returns the fd, or -1 when another
 * process holds it (errno EWOULDBLOCK) or it cannot be opened. */
int phala_record_lock(const char *dir, const char *lease_id);
void phala_record_unlock(int fd); /* -1 is fine */
/* phala_record_list returns the lease ids with a record in dir (malloc'd array of
 * PHALA_LEASE_ID_LEN + 1 strings). */
PHALA_MUST_USE int phala_record_list(const char *dir, char (**out)[PHALA_LEASE_ID_LEN + 1],
                                     size_t *out_num, crabbox_err *err);

/* ---- lease.c / ops.c ---------------------------------------------------------------------- */

typedef struct phala_drv {
    phala_ctx px;
    const char *instance_type; /* configured default, or NULL */
    const char *node_id;       /* configured node, or NULL */
    const char *work_root;     /* where sessions sync and run (data plane) */
    int64_t adopt_window_ms;   /* how long to look for a CVM after an ambiguous deploy */
    int64_t adopt_step_ms;
    const char *ca_bundle;     /* trusted-only `caBundle`: PEM trusted instead of the system store */
    const char *proxy;         /* trusted-only `proxy`: crabbox-phala-proxy path (default: beside the .so) */
    int64_t ssh_wait_ms;       /* how long fetch_evidence waits for SSH (§5 step 7: 20 min) */
    int64_t ssh_step_ms;       /* between attempts (10 s) */
    int64_t evidence_ms;       /* `evidenceTimeoutSeconds`: the Info + quote exchange (120 s) */
    int64_t ssh_op_ms;         /* one blocking SSH / TLS operation (30 s; capped by evidence_ms) */
    int64_t ssh_keepalive_ms;  /* `sshKeepaliveSeconds`: ServerAliveInterval of sessions (60 s) */
    bool public_logs;          /* trusted-only `publicLogs`: deploy with --public-logs (default off) */
    bool public_sysinfo;       /* trusted-only `publicSysinfo`: --public-sysinfo (default off) */
} phala_drv;

/* Bounds of the duration keys (seconds). */
#define PHALA_CFG_MAX_SECONDS 86400

/* Timeouts of single CLI runs. They cover the real CLI's own worst case (1.1.18, read in its
 * bundled ofetch 1.5.1): every HTTP request times out after 30 s, and a GET is retried once after
 * a timeout, a network error or a 408/409/425/429/5xx answer (POST and DELETE are not), so a GET
 * costs up to 60 s. status = GET /auth/me; cvms get = GET /cvms/app_<id>; cvms list (one page) =
 * GET /apps + POST /status/batch; cvms delete = GET + DELETE. Plus node's start-up and slack. */
#define PHALA_CLI_REQUEST_MS 30000
#define PHALA_CLI_GET_MS (2 * PHALA_CLI_REQUEST_MS)
#define PHALA_CLI_SLACK_MS 15000
#define PHALA_T_VERSION_MS 15000
#define PHALA_T_STATUS_MS (PHALA_CLI_GET_MS + PHALA_CLI_SLACK_MS)
#define PHALA_T_LIST_MS (PHALA_CLI_GET_MS + PHALA_CLI_REQUEST_MS + PHALA_CLI_SLACK_MS)
#define PHALA_T_GET_MS (PHALA_CLI_GET_MS + PHALA_CLI_SLACK_MS)
#define PHALA_T_DELETE_MS (PHALA_CLI_GET_MS + PHALA_CLI_REQUEST_MS + PHALA_CLI_SLACK_MS)
#define PHALA_T_DEPLOY_MS (15 * 60 * 1000)
_Static_assert(PHALA_T_GET_MS > 2 * PHALA_CLI_REQUEST_MS, "cvms get: a GET and its retry");
_Static_assert(PHALA_T_DELETE_MS > 3 * PHALA_CLI_REQUEST_MS, "cvms delete: GET, retry, DELETE");
_Static_assert(PHALA_T_LIST_MS > 3 * PHALA_CLI_REQUEST_MS, "cvms list: GET, retry, POST");

PHALA_MUST_USE int phala_warmup(phala_drv *d, const crabbox_lease_spec *spec, crabbox_lease **out,
                                crabbox_err *err);
PHALA_MUST_USE int phala_destroy(phala_drv *d, const crabbox_lease *lease, crabbox_err *err);
/* phala_destroy_for_cleanup: the ownership-checked delete of one CVM of lease_id (gone = OK,
 * someone else's = NOT_FOUND), without touching records. */
PHALA_MUST_USE int phala_destroy_for_cleanup(phala_drv *d, const char *lease_id,
                                             const char *app_id, crabbox_err *err);
PHALA_MUST_USE int phala_list(phala_drv *d, crabbox_lease_list **out, crabbox_err *err);
PHALA_MUST_USE int phala_doctor(phala_drv *d, char *summary, size_t summary_len,
                                crabbox_err *err);
PHALA_MUST_USE int phala_cleanup(phala_drv *d, bool dry_run, crabbox_err *err);

/* phala_log formats one line to the host's log. */
PHALA_PRINTF(3, 4) void phala_log(const phala_ctx *px, int level, const char *fmt, ...);

/* ---- tunnel.c: TLS to the SSH gateway ----------------------------------------------------- */

#define PHALA_GATEWAY_PORT 443
#define PHALA_T_TCP_CONNECT_MS 5000
#define PHALA_T_TLS_HANDSHAKE_MS 10000
/* Test only: "host:port" where the TCP connection goes instead of <gateway host>:443. SNI and
 * the certificate name check still use the gateway host. */
#define PHALA_CONNECT_TO_ENV "CRABBOX_PHALA_CONNECT_TO"

typedef struct phala_tls phala_tls;

typedef struct phala_tls_opts {
    const char *host;        /* gateway host: SNI and the name the certificate must carry */
    uint16_t port;           /* normally PHALA_GATEWAY_PORT */
    const char *connect_to;  /* test-only "host:port" override, or NULL */
    const char *ca_bundle;   /* PEM file trusted instead of the system store, or NULL */
    int64_t connect_timeout_ms;
    int64_t handshake_timeout_ms;
} phala_tls_opts;

/* phala_gateway_split splits a gateway host "<name>[:<port>]" into the DNS name (SNI, certificate
 * name, ssh destination) and the TCP port (PHALA_GATEWAY_PORT without one). False for anything
 * else (an IPv6 literal, a port 0 or > 65535, a name that is not DNS). */
PHALA_MUST_USE bool phala_gateway_split(const char *gw, char *host, size_t host_len, uint16_t *port);

/* phala_mono_ms: CLOCK_MONOTONIC in milliseconds (deadlines outside the host's spawn). */
int64_t phala_mono_ms(void);

/* phala_parse_host_port splits "host:port" / "[v6]:port" (port 1..65535). */
PHALA_MUST_USE bool phala_parse_host_port(const char *s, char *host, size_t host_len, uint16_t *port);

/* phala_tls_connect: TCP (non-blocking connect, deadline) then a TLS 1.2+ handshake (deadline)
 * with SNI and chain + host name verification. AUTH for an untrusted certificate or one for
 * another name, TIMEOUT, TRANSIENT for network failures, USAGE for a bad bundle or override. */
PHALA_MUST_USE int phala_tls_connect(const phala_tls_opts *o, phala_tls **out, crabbox_err *err);

/* phala_tls_pump copies in_fd -> TLS and TLS -> out_fd until the server ends the stream (then
 * out_fd is half-closed with shutdown(SHUT_WR) when it is a socket), an error, or stop_fd (>= 0)
 * becomes readable. After in_fd reaches EOF the server gets 30 s to finish. */
PHALA_MUST_USE int phala_tls_pump(phala_tls *t, int in_fd, int out_fd, int stop_fd, crabbox_err *err);

void phala_tls_close(phala_tls *t); /* NULL-safe; sends close_notify best effort */

/* ---- sshev.c: evidence over SSH and sessions ---------------------------------------------- */

#define PHALA_T_SSH_OP_MS 30000     /* one blocking libssh2 operation */
#define PHALA_T_EVIDENCE_MS 120000  /* the whole Info + quote exchange */
#define PHALA_SSH_WAIT_MS (20 * 60 * 1000)
#define PHALA_SSH_STEP_MS 10000

/* phala_report_data: SHA-512(CRABBOX_REPORT_DATA_DOMAIN || nonce || SHA-256(host_key)). */
void phala_report_data(uint8_t out[64], const uint8_t nonce[32], const uint8_t *host_key, size_t host_key_len);

/* phala_fetch_evidence: TLS to the lease's gateway, SSH as root with the lease key, Info and a
 * fresh quote for the report data above from the guest agent (dstack.sock, else tappd.sock). */
PHALA_MUST_USE int phala_fetch_evidence(phala_drv *d, const crabbox_lease *lease, const uint8_t nonce[32],
                                        crabbox_evidence **out, crabbox_err *err);
/* phala_open_session: token_check against the host key pinned in <lease_dir>/known_hosts, then
 * the ssh argv (ProxyCommand = crabbox-phala-proxy, pinned host key, lease key only). */
PHALA_MUST_USE int phala_open_session(phala_drv *d, const crabbox_lease *lease, const crabbox_attest_token *token,
                                      crabbox_session **out, crabbox_err *err);
void phala_session_free(crabbox_session *s); /* NULL-safe */

/* phala_quote_from_response: the hex "quote" member of a GetQuote / Tappd quote response (strict
 * JSON), decoded (1..64 KiB). MALFORMED otherwise. */
PHALA_MUST_USE int phala_quote_from_response(const uint8_t *resp, size_t len, uint8_t **out, size_t *out_len,
                                             crabbox_err *err);
/* phala_quote_log_from_response: the "event_log" string of a GetQuote response (strict JSON),
 * copied NUL-terminated into *out (NULL when absent or "": the Info's log is used then).
 * MALFORMED when it is not a string or over 4 MiB. */
PHALA_MUST_USE int phala_quote_log_from_response(const uint8_t *resp, size_t len, uint8_t **out, size_t *out_len,
                                                 crabbox_err *err);
/* phala_agent_answer splits what `curl -w '\n%{http_code}'` printed into the body (NUL-terminated
 * in place, *body_len) and the HTTP status; false when the status line is missing. */
PHALA_MUST_USE bool phala_agent_answer(uint8_t *buf, size_t len, size_t *body_len, int *http);
/* phala_agent_error: the guest agent's error for a failed call. Its RPC server (dstack ra-rpc /
 * prpc) answers every failure with HTTP 400 and {"error": "<message>"}; an unknown method is the
 * message "NotFound", a path outside the RPC routes a 404. Writes the message (printable ASCII,
 * bounded; a note when the body is not that JSON) to out and returns true when the method does
 * not exist. */
bool phala_agent_error(int http, const uint8_t *body, size_t body_len, char *out, size_t out_len);
/* phala_base64_decode: strict, padded, canonical RFC 4648 base64. */
PHALA_MUST_USE bool phala_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap,
                                        size_t *out_len);
/* phala_known_hosts_key: the key blob of the first "<name> <type> <base64>" line of path. */
PHALA_MUST_USE int phala_known_hosts_key(const char *path, const char *name, uint8_t **out, size_t *out_len,
                                         crabbox_err *err);
/* phala_self_dir: the directory of the loaded plugin (dladdr). */
PHALA_MUST_USE bool phala_self_dir(char *out, size_t out_len);

/* Lease key directories: the host passes lease_dir only to warmup, so the driver remembers it in
 * <record dir>/<lease>.keydir (0600, one absolute path). phala_record_remove removes it. */
PHALA_MUST_USE int phala_keydir_write(const char *dir, const char *lease_id, const char *lease_dir,
                                      crabbox_err *err);
PHALA_MUST_USE int phala_keydir_read(const char *dir, const char *lease_id, char *out, size_t out_len,
                                     crabbox_err *err);

#endif
