/* sshev.c — the phala data plane: evidence over SSH (libssh2 over the TLS gateway) and the
 * session the host runs ssh/rsync through.
 *
 * Design: libssh2 needs a socket, the gateway is a TLS stream. fetch_evidence makes a
 * socketpair, hands one end to libssh2 and runs a pump thread (tunnel.c, phala_tls_pump) between
 * the other end and the TLS session; the thread owns the TLS session exclusively, libssh2 owns its
 * socket exclusively, and a stop pipe ends the pump when we are done. ssh sessions of the host go
 * through crabbox-phala-proxy (proxy.c), the same TLS code as an OpenSSH ProxyCommand.
 *
 * Trust: the SSH host key is NOT trusted here (libssh2 has no known_hosts check on this path on
 * purpose): its blob is returned as evidence.host_key, the fresh quote carries
 * SHA-512(CRABBOX_REPORT_DATA_DOMAIN || nonce || SHA-256(blob)), and the host's verifier accepts
 * the evidence only when that binding holds. A man-in-the-middle SSH endpoint therefore cannot
 * present a quote for its own key, and a replayed quote carries another nonce. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "json.h"
#include "phala.h"
#include "sha2.h"

#define EV_INFO_MAX (4u << 20)     /* Info responses are a few KiB to ~100 KiB */
#define EV_QUOTE_RESP_MAX (1u << 20)
#define EV_QUOTE_MAX (64u << 10)   /* GATE_MAX_QUOTE */
#define EV_STDERR_MAX (16u << 10)

void phala_report_data(uint8_t out[64], const uint8_t nonce[32], const uint8_t *host_key, size_t host_key_len)
{
    if (!cba_report_data(out, nonce, host_key, host_key_len)) { return; } /* base/sha2.c: zeroed */
}

/* ---- the SSH connection ------------------------------------------------------------------- */

typedef struct ssh_conn {
    phala_tls *tls;
    int sv[2];       /* [0] libssh2, [1] pump */
    int stop[2];     /* pipe: writing ends the pump */
    pthread_t pump;
    bool pump_running;
    crabbox_err pump_err;
    int pump_rc;
    LIBSSH2_SESSION *ssh;
    uint8_t *host_key;
    size_t host_key_len;
} ssh_conn;

static void *pump_main(void *arg)
{
    ssh_conn *c = arg;
    c->pump_rc = phala_tls_pump(c->tls, c->sv[1], c->sv[1], c->stop[0], &c->pump_err);
    return NULL;
}

static void conn_close(ssh_conn *c)
{
    if (c->ssh != NULL) {
        (void)libssh2_session_disconnect(c->ssh, "crabbox done");
        libssh2_session_free(c->ssh);
        c->ssh = NULL;
    }
    if (c->pump_running) {
        ssize_t w;
        do { w = write(c->stop[1], "x", 1); } while (w < 0 && errno == EINTR);
        (void)pthread_join(c->pump, NULL);
        c->pump_running = false;
    }
    for (int i = 0; i < 2; i++) {
        if (c->sv[i] >= 0) { close(c->sv[i]); }
        if (c->stop[i] >= 0) { close(c->stop[i]); }
        c->sv[i] = c->stop[i] = -1;
    }
    phala_tls_close(c->tls);
    c->tls = NULL;
    free(c->host_key);
    c->host_key = NULL;
    c->host_key_len = 0;
}

/* conn_open: TLS to the gateway, then SSH (handshake, host key, public key auth as root). */
static int conn_open(phala_drv *d, const char *gateway, const char *lease_dir, ssh_conn *c, crabbox_err *err)
{
    phala_tls_opts o;
    char pub[PATH_MAX], priv[PATH_MAX], gw_host[256];
    const char *hk;
    size_t hk_len = 0;
    int hk_type = 0, rc;

    memset(c, 0, sizeof *c);
    c->sv[0] = c->sv[1] = c->stop[0] = c->stop[1] = -1;
    memset(&o, 0, sizeof o);
    if (!phala_gateway_split(gateway, gw_host, sizeof gw_host, &o.port)) {
        return phala_fail(err, CRABBOX_E_MALFORMED, "phala: the gateway host %.200s is not <name>[:<port>]", gateway);
    }
    o.host = gw_host;
    o.connect_to = getenv(PHALA_CONNECT_TO_ENV);
    o.ca_bundle = d->ca_bundle;
    o.connect_timeout_ms = PHALA_T_TCP_CONNECT_MS < d->ssh_op_ms ? PHALA_T_TCP_CONNECT_MS : d->ssh_op_ms;
    o.handshake_timeout_ms = PHALA_T_TLS_HANDSHAKE_MS < d->ssh_op_ms ? PHALA_T_TLS_HANDSHAKE_MS : d->ssh_op_ms;
    rc = phala_tls_connect(&o, &c->tls, err);
    if (rc != CRABBOX_OK) {
        char m[sizeof err->message];
        snprintf(m, sizeof m, "%s", err->message);
        return phala_fail(err, rc, "connect Phala SSH TLS gateway %s: %s", gateway, m);
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->sv) != 0 || pipe2(c->stop, O_CLOEXEC) != 0) {
        conn_close(c);
        return phala_fail(err, CRABBOX_E_FAILED, "socketpair: %s", strerror(errno));
    }
    if (pthread_create(&c->pump, NULL, pump_main, c) != 0) {
        conn_close(c);
        return phala_fail(err, CRABBOX_E_FAILED, "cannot start the gateway pump thread");
    }
    c->pump_running = true;
    c->ssh = libssh2_session_init();
    if (c->ssh == NULL) {
        conn_close(c);
        return phala_fail(err, CRABBOX_E_FAILED, "libssh2_session_init failed");
    }
    libssh2_session_set_blocking(c->ssh, 1);
    libssh2_session_set_timeout(c->ssh, (long)d->ssh_op_ms);
    if (libssh2_session_handshake(c->ssh, c->sv[0]) != 0) {
        char *msg = NULL;
        (void)libssh2_session_last_error(c->ssh, &msg, NULL, 0);
        rc = phala_fail(err, CRABBOX_E_TRANSIENT, "SSH handshake through %s failed: %.200s", gateway,
                        msg != NULL ? msg : "?");
        conn_close(c);
        return rc;
    }
    /* The host key is evidence, not trust: it is checked only through the quote's binding. */
    hk = libssh2_session_hostkey(c->ssh, &hk_len, &hk_type);
    if (hk == NULL || hk_len == 0 || hk_len > (16u << 10) || (c->host_key = malloc(hk_len)) == NULL) {
        conn_close(c);
        return phala_fail(err, CRABBOX_E_FAILED, "no SSH host key from %s", gateway);
    }
    memcpy(c->host_key, hk, hk_len);
    c->host_key_len = hk_len;
    if (snprintf(pub, sizeof pub, "%s/id_ed25519.pub", lease_dir) >= (int)sizeof pub ||
        snprintf(priv, sizeof priv, "%s/id_ed25519", lease_dir) >= (int)sizeof priv) {
        conn_close(c);
        return phala_fail(err, CRABBOX_E_USAGE, "lease directory path too long");
    }
    if (libssh2_userauth_publickey_fromfile(c->ssh, "root", pub, priv, "") != 0) {
        char *msg = NULL;
        (void)libssh2_session_last_error(c->ssh, &msg, NULL, 0);
        rc = phala_fail(err, CRABBOX_E_AUTH, "SSH login as root with the lease key failed: %.200s",
                        msg != NULL ? msg : "?");
        conn_close(c);
        return rc;
    }
    return CRABBOX_OK;
}

/* READ_SLICE_MS: while waiting for the guest agent's answer, libssh2 blocks at most this long at
 * a time so that a Ctrl-C (host->cancelled) and the exchange deadline are seen promptly. A
 * timed-out blocking read leaves libssh2's state intact (it is its non-blocking read plus a
 * poll), so the read is simply resumed. */
#define READ_SLICE_MS 250

static bool cancelled(const phala_drv *d)
{
    const crabbox_host *h = d->px.host;
    return h->cancelled != NULL && h->cancelled(h->ctx);
}

/* ssh_exec runs one fixed command; stdout (at most cap bytes, else MALFORMED) goes to *out
 * (NUL-terminated), the exit status to *status. CANCELLED when the host is cancelled meanwhile,
 * TIMEOUT at the deadline or after d->ssh_op_ms without any data. */
static int ssh_exec(phala_drv *d, ssh_conn *c, const char *cmd, size_t cap, int64_t deadline, uint8_t **out,
                    size_t *out_len, int *status, crabbox_err *err)
{
    LIBSSH2_CHANNEL *ch;
    uint8_t *buf = NULL, scratch[4096];
    size_t len = 0, alloc = 0, err_len = 0;
    int rc = CRABBOX_OK;
    int64_t last_data;
    *out = NULL;
    *out_len = 0;
    *status = -1;
    ch = libssh2_channel_open_session(c->ssh);
    if (ch == NULL) { return phala_fail(err, CRABBOX_E_TRANSIENT, "cannot open an SSH channel"); }
    if (libssh2_channel_exec(ch, cmd) != 0) {
        libssh2_channel_free(ch);
        return phala_fail(err, CRABBOX_E_TRANSIENT, "cannot run a command over SSH");
    }
    last_data = phala_mono_ms();
    libssh2_session_set_timeout(c->ssh, d->ssh_op_ms < READ_SLICE_MS ? (long)d->ssh_op_ms : READ_SLICE_MS);
    for (;;) {
        ssize_t n;
        int64_t now = phala_mono_ms();
        if (cancelled(d)) {
            rc = phala_fail(err, CRABBOX_E_CANCELLED, "cancelled while waiting for the guest agent");
            break;
        }
        if (now > deadline || now - last_data > d->ssh_op_ms) {
            rc = phala_fail(err, CRABBOX_E_TIMEOUT, "the guest agent did not answer within %lld s",
                            (long long)((now > deadline ? d->evidence_ms : d->ssh_op_ms) / 1000));
            break;
        }
        n = libssh2_channel_read(ch, (char *)scratch, sizeof scratch);
        if (n == LIBSSH2_ERROR_TIMEOUT) { continue; } /* one slice without data */
        if (n > 0) {
            last_data = phala_mono_ms();
            if (len + (size_t)n > cap) {
                rc = phala_fail(err, CRABBOX_E_MALFORMED, "the guest agent's answer is over %zu bytes", cap);
                break;
            }
            if (len + (size_t)n + 1 > alloc) {
                size_t na = alloc == 0 ? 65536 : alloc * 2;
                uint8_t *nb;
                while (na < len + (size_t)n + 1) { na *= 2; }
                if ((nb = realloc(buf, na)) == NULL) {
                    rc = phala_fail(err, CRABBOX_E_FAILED, "out of memory");
                    break;
                }
                buf = nb;
                alloc = na;
            }
            memcpy(buf + len, scratch, (size_t)n);
            len += (size_t)n;
            continue;
        }
        if (n < 0) {
            rc = phala_fail(err, n == LIBSSH2_ERROR_TIMEOUT ? CRABBOX_E_TIMEOUT : CRABBOX_E_TRANSIENT,
                            "reading from the CVM over SSH failed (%zd)", n);
            break;
        }
        /* Drain stderr (bounded, discarded) so the remote side never blocks on it. */
        while ((n = libssh2_channel_read_stderr(ch, (char *)scratch, sizeof scratch)) > 0 &&
               err_len < EV_STDERR_MAX) {
            err_len += (size_t)n;
        }
        if (libssh2_channel_eof(ch)) { break; }
    }
    libssh2_session_set_timeout(c->ssh, (long)d->ssh_op_ms);
    if (rc == CRABBOX_OK) {
        (void)libssh2_channel_close(ch);
        (void)libssh2_channel_wait_closed(ch);
        *status = libssh2_channel_get_exit_status(ch);
    }
    libssh2_channel_free(ch);
    if (rc != CRABBOX_OK) {
        free(buf);
        return rc;
    }
    if (buf == NULL && (buf = malloc(1)) == NULL) { return phala_fail(err, CRABBOX_E_FAILED, "out of memory"); }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return CRABBOX_OK;
}

/* ---- the lease's key directory ------------------------------------------------------------ */

static int lease_key_dir(phala_drv *d, const char *lease_id, char *out, size_t out_len, crabbox_err *err)
{
    char dir[4096];
    int rc, e;
    if ((rc = phala_record_dir(&d->px, dir, sizeof dir, err)) != CRABBOX_OK) { return rc; }
    if ((rc = phala_keydir_read(dir, lease_id, out, out_len, err)) != CRABBOX_OK) { return rc; }
    if ((e = phala_private_dir(out, false)) != 0) {
        return phala_fail(err, CRABBOX_E_USAGE, "lease directory %s is unusable: %s", out, strerror(e));
    }
    return CRABBOX_OK;
}

static int lease_gateway(phala_drv *d, const crabbox_lease *lease, char *out, size_t out_len, crabbox_err *err)
{
    phala_cvm_detail det;
    int rc;
    if (lease->gateway_host[0] != '\0') {
        snprintf(out, out_len, "%s", lease->gateway_host);
        return CRABBOX_OK;
    }
    if ((rc = phala_cvm_get(&d->px, lease->cloud_id, 0, &det, err)) != CRABBOX_OK) { return rc; }
    if (det.gateway_host[0] == '\0') {
        return phala_fail(err, CRABBOX_E_MALFORMED, "phala: the CLI gave no gateway domain for %s", lease->cloud_id);
    }
    snprintf(out, out_len, "%s", det.gateway_host);
    return CRABBOX_OK;
}

/* ---- evidence ----------------------------------------------------------------------------- */

/* phala_quote_from_response takes the hex "quote" member of a GetQuote / Tappd quote response. */
int phala_quote_from_response(const uint8_t *resp, size_t len, uint8_t **out, size_t *out_len, crabbox_err *err)
{
    json_object *doc = NULL;
    cba_error e;
    cbs hex;
    uint8_t *q;
    cba_error_clear(&e);
    if (cba_json_parse(&e, &doc, cbs_make(resp, len), 8, CBA_E_JSON, "quote response") != CBA_OK) {
        return phala_fail(err, CRABBOX_E_MALFORMED, "the guest agent's quote response is not strict JSON: %.200s",
                          e.detail);
    }
    if (!json_object_is_type(doc, json_type_object) || !cba_json_get_string(doc, "quote", &hex) ||
        hex.len == 0 || hex.len % 2 != 0 || hex.len / 2 > EV_QUOTE_MAX) {
        json_object_put(doc);
        return phala_fail(err, CRABBOX_E_MALFORMED, "the guest agent's quote response has no usable quote");
    }
    if ((q = malloc(hex.len / 2)) == NULL) {
        json_object_put(doc);
        return phala_fail(err, CRABBOX_E_FAILED, "out of memory");
    }
    if (!cba_hex_decode(q, hex.len / 2, (const char *)hex.data, hex.len)) {
        free(q);
        json_object_put(doc);
        return phala_fail(err, CRABBOX_E_MALFORMED, "the guest agent's quote is not hex");
    }
    *out_len = hex.len / 2;
    *out = q;
    json_object_put(doc);
    return CRABBOX_OK;
}

int phala_quote_log_from_response(const uint8_t *resp, size_t len, uint8_t **out, size_t *out_len, crabbox_err *err)
{
    json_object *doc = NULL;
    cba_error e;
    cbs log;
    *out = NULL;
    *out_len = 0;
    cba_error_clear(&e);
    if (cba_json_parse(&e, &doc, cbs_make(resp, len), 8, CBA_E_JSON, "quote response") != CBA_OK) {
        return phala_fail(err, CRABBOX_E_MALFORMED, "the guest agent's quote response is not strict JSON: %.200s",
                          e.detail);
    }
    if (!json_object_is_type(doc, json_type_object) || !json_object_object_get_ex(doc, "event_log", NULL)) {
        json_object_put(doc);
        return CRABBOX_OK; /* an agent that sends no log with its quote: the Info's serves */
    }
    if (!cba_json_get_string(doc, "event_log", &log) || log.len > EV_INFO_MAX) {
        json_object_put(doc);
        return phala_fail(err, CRABBOX_E_MALFORMED, "the guest agent's quote response has an unusable event_log");
    }
    if (log.len != 0) {
        if ((*out = malloc(log.len + 1)) == NULL) {
            json_object_put(doc);
            return phala_fail(err, CRABBOX_E_FAILED, "out of memory");
        }
        memcpy(*out, log.data, log.len);
        (*out)[log.len] = 0;
        *out_len = log.len;
    }
    json_object_put(doc);
    return CRABBOX_OK;
}

bool phala_agent_answer(uint8_t *buf, size_t len, size_t *body_len, int *http)
{
    int v = 0;
    if (buf == NULL || len < 4 || buf[len - 4] != '\n') { return false; }
    for (size_t i = len - 3; i < len; i++) {
        if (buf[i] < '0' || buf[i] > '9') { return false; }
        v = v * 10 + (buf[i] - '0');
    }
    buf[len - 4] = 0;
    *body_len = len - 4;
    *http = v;
    return true;
}

bool phala_agent_error(int http, const uint8_t *body, size_t body_len, char *out, size_t out_len)
{
    json_object *doc = NULL;
    cba_error e;
    cbs msg;
    size_t o = 0;
    bool absent = http == 404;
    if (out_len == 0) { return absent; }
    out[0] = 0;
    cba_error_clear(&e);
    if (body_len == 0 || cba_json_parse(&e, &doc, cbs_make(body, body_len), 4, CBA_E_JSON, "agent error") != CBA_OK ||
        !json_object_is_type(doc, json_type_object) || !cba_json_get_string(doc, "error", &msg)) {
        json_object_put(doc);
        snprintf(out, out_len, "%s", body_len == 0 ? "no error message" : "no JSON error message");
        return absent;
    }
    /* prpc's "method not recognized" (server::Error::NotFound, displayed by its name). */
    if (http == 400 && msg.len == 8 && memcmp(msg.data, "NotFound", 8) == 0) { absent = true; }
    for (size_t i = 0; i < msg.len && o + 1 < out_len && o < 200; i++) {
        uint8_t ch = msg.data[i];
        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?'; /* untrusted: no control characters */
    }
    out[o] = 0;
    json_object_put(doc);
    return absent;
}

/* The remote commands are fixed strings; the only variable parts are our own hex report data and
 * one of the socket paths below (our constant, chosen by the probe's answer). Newer dstack images
 * put the sockets in /var/run/dstack/ (the SDKs try it first), older ones in /var/run/. */
static const char *const k_agent_sockets[] = {
    "/var/run/dstack/dstack.sock", "/var/run/dstack.sock", "/var/run/dstack/tappd.sock", "/var/run/tappd.sock",
};
/* No -f: a failed call's body names the agent's error (HTTP 400 for every RPC failure); the
 * status follows the body on a line of its own. */
#define AGENT_CURL "curl -sS -w '\\n%%{http_code}' --max-time 30 --unix-socket "
#define PROBE_CMD                                                                                  \
    "for s in /var/run/dstack/dstack.sock /var/run/dstack.sock /var/run/dstack/tappd.sock "         \
    "/var/run/tappd.sock; do if test -S $s; then echo $s; exit 0; fi; done; echo none"

/* exchange runs the Info and quote calls over one connection. A failing agent call is a fetch
 * failure (FAILED, with the reason), not CRABBOX_E_ATTESTATION: that code means "the verifier
 * refused the evidence", and the host then reports the verifier's failed check, of which there is
 * none here (the message came out as "verification failed ...: (null): "). */
static int exchange(phala_drv *d, ssh_conn *c, const uint8_t report_data[64], crabbox_evidence *ev,
                    crabbox_err *err)
{
    char rd_hex[129], cmd[512], curl[128], agent_err[208];
    const char *sock = NULL;
    uint8_t *out = NULL, *qresp = NULL;
    size_t out_len = 0, qlen = 0;
    int status, rc, http = 0;
    bool dstack;
    int64_t deadline = phala_mono_ms() + d->evidence_ms;

    cba_hex_encode(rd_hex, report_data, 64);
    if ((rc = ssh_exec(d, c, PROBE_CMD, 64, deadline, &out, &out_len, &status, err)) != CRABBOX_OK) { return rc; }
    for (size_t i = 0; status == 0 && i < sizeof k_agent_sockets / sizeof k_agent_sockets[0]; i++) {
        size_t n = strlen(k_agent_sockets[i]);
        if (out_len == n + 1 && memcmp(out, k_agent_sockets[i], n) == 0 && out[n] == '\n') { sock = k_agent_sockets[i]; }
    }
    free(out);
    if (sock == NULL) {
        return phala_fail(err, CRABBOX_E_FAILED,
                          "no guest agent socket on the CVM (dstack.sock or tappd.sock in /var/run/dstack or "
                          "/var/run)");
    }
    dstack = strstr(sock, "/dstack.sock") != NULL;
    snprintf(curl, sizeof curl, AGENT_CURL "%s ", sock);
    snprintf(cmd, sizeof cmd, "%s%s", curl, dstack ? "http://dstack/Info" : "http://localhost/prpc/Tappd.Info");
    rc = ssh_exec(d, c, cmd, EV_INFO_MAX, deadline, &ev->info_json, &ev->info_json_len, &status, err);
    if (rc != CRABBOX_OK) { return rc; }
    if (status != 0 || !phala_agent_answer(ev->info_json, ev->info_json_len, &ev->info_json_len, &http)) {
        return phala_fail(err, CRABBOX_E_FAILED, "the guest agent's Info call failed (curl status %d)", status);
    }
    if (http != 200 || ev->info_json_len == 0) {
        (void)phala_agent_error(http, ev->info_json, ev->info_json_len, agent_err, sizeof agent_err);
        return phala_fail(err, CRABBOX_E_FAILED, "the guest agent's Info call failed (HTTP %d: %s)", http,
                          http == 200 ? "empty answer" : agent_err);
    }
    /* dstack GetQuote takes the 64 raw bytes; tappd's RawQuote does too (TdxQuote would hash them
     * again with an "app-data:" prefix, which the verifier's binding does not expect). */
    snprintf(cmd, sizeof cmd, "%s-X POST -H 'Content-Type: application/json' -d '{\"report_data\":\"%s\"}' %s",
             curl, rd_hex,
             dstack ? "http://dstack/GetQuote" : "http://localhost/prpc/Tappd.RawQuote");
    rc = ssh_exec(d, c, cmd, EV_QUOTE_RESP_MAX, deadline, &qresp, &qlen, &status, err);
    if (rc != CRABBOX_OK) { return rc; }
    if (status != 0 || !phala_agent_answer(qresp, qlen, &qlen, &http)) {
        free(qresp);
        return phala_fail(err, CRABBOX_E_FAILED, "the guest agent's quote call failed (curl status %d)", status);
    }
    if (http != 200) {
        /* Every RPC failure is HTTP 400: only the agent's own "no such method" means there is no
         * quote call. Then only the Info quote is left; it is not bound to our nonce or this
         * session (the host refuses it unless allowInfoOnlyAttestation). */
        bool absent = phala_agent_error(http, qresp, qlen, agent_err, sizeof agent_err);
        free(qresp);
        if (!absent) {
            return phala_fail(err, CRABBOX_E_FAILED, "the guest agent's quote call failed (HTTP %d: %s)", http,
                              agent_err);
        }
        phala_log(&d->px, CRABBOX_LOG_WARN,
                  "phala: the guest agent offers no quote call (HTTP %d: %s); only its Info quote is available "
                  "(attestation_fresh=false)", http, agent_err);
        ev->fresh = false;
        return CRABBOX_OK;
    }
    rc = phala_quote_from_response(qresp, qlen, &ev->quote, &ev->quote_len, err);
    /* The log sent WITH the quote: a runtime event after Info extended RTMR3, and only this log
     * replays to the quote's (the Info's log stays the source of nothing but its claims). */
    if (rc == CRABBOX_OK) {
        rc = phala_quote_log_from_response(qresp, qlen, &ev->quote_event_log, &ev->quote_event_log_len, err);
    }
    free(qresp);
    if (rc != CRABBOX_OK) { return rc; }
    ev->fresh = true;
    return CRABBOX_OK;
}

int phala_fetch_evidence(phala_drv *d, const crabbox_lease *lease, const uint8_t nonce[32], crabbox_evidence **out,
                         crabbox_err *err)
{
    char gateway[256], keydir[PATH_MAX];
    crabbox_evidence *ev;
    ssh_conn c;
    int64_t wait_deadline;
    int rc, attempt = 0;

    *out = NULL;
    if (lease == NULL || !phala_lease_id_valid(lease->lease_id)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: invalid lease");
    }
    if ((rc = lease_key_dir(d, lease->lease_id, keydir, sizeof keydir, err)) != CRABBOX_OK) { return rc; }
    if ((rc = lease_gateway(d, lease, gateway, sizeof gateway, err)) != CRABBOX_OK) { return rc; }

    /* §5 step 7: SSH may take a while to come up after deploy; network-level failures are
     * retried every PHALA_SSH_STEP_MS until ssh_wait_ms. Certificate and login failures are not. */
    wait_deadline = phala_mono_ms() + d->ssh_wait_ms;
    for (;;) {
        rc = conn_open(d, gateway, keydir, &c, err);
        if (rc == CRABBOX_OK) { break; }
        if (cancelled(d)) {
            /* A Ctrl-C while connecting: whatever failed after it, the user asked to stop. */
            char m[sizeof err->message];
            snprintf(m, sizeof m, "%s", err->message);
            return phala_fail(err, CRABBOX_E_CANCELLED, "phala: cancelled while waiting for SSH (%s)", m);
        }
        if ((rc != CRABBOX_E_TRANSIENT && rc != CRABBOX_E_TIMEOUT) || phala_mono_ms() + d->ssh_step_ms > wait_deadline) {
            return rc;
        }
        if (d->px.host->cancelled != NULL && d->px.host->cancelled(d->px.host->ctx)) {
            return phala_fail(err, CRABBOX_E_CANCELLED, "phala: cancelled while waiting for SSH");
        }
        attempt++;
        if (d->px.host->progress != NULL) {
            char line[1024];
            snprintf(line, sizeof line, "waiting for SSH on %s (attempt %d): %.400s", gateway, attempt, err->message);
            d->px.host->progress(d->px.host->ctx, line);
        }
        phala_sleep_ms(d->ssh_step_ms);
    }
    ev = calloc(1, sizeof *ev);
    if (ev == NULL) {
        conn_close(&c);
        return phala_fail(err, CRABBOX_E_FAILED, "out of memory");
    }
    ev->struct_size = sizeof *ev;
    phala_report_data(ev->report_data, nonce, c.host_key, c.host_key_len);
    rc = exchange(d, &c, ev->report_data, ev, err);
    if (rc == CRABBOX_OK) {
        ev->host_key = c.host_key;
        ev->host_key_len = c.host_key_len;
        c.host_key = NULL;
        c.host_key_len = 0;
    }
    conn_close(&c);
    if (rc != CRABBOX_OK) {
        free(ev->info_json);
        free(ev->quote);
        free(ev->quote_event_log);
        free(ev);
        return rc;
    }
    *out = ev;
    return CRABBOX_OK;
}

/* ---- sessions ----------------------------------------------------------------------------- */

/* proxy_path: crabbox-phala-proxy beside this plugin (or the configured `proxy`). */
static int proxy_path(phala_drv *d, char *out, size_t out_len, crabbox_err *err)
{
    struct stat st;
    if (d->proxy != NULL) {
        snprintf(out, out_len, "%s", d->proxy);
    } else if (!phala_self_dir(out, out_len) || strlen(out) + sizeof "/crabbox-phala-proxy" > out_len) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala: cannot locate the driver's directory");
    } else {
        strcat(out, "/crabbox-phala-proxy");
    }
    if (out[0] != '/' || stat(out, &st) != 0 || !S_ISREG(st.st_mode) || access(out, X_OK) != 0) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala: the SSH proxy %s is missing or not executable", out);
    }
    return CRABBOX_OK;
}

/* proxy_word checks a word that goes into the ProxyCommand string (run by the user's shell):
 * absolute paths and host names we produced ourselves, still refused when they hold anything
 * a shell would interpret. */
static bool proxy_word_safe(const char *s)
{
    if (s[0] == '\0') { return false; }
    for (const char *p = s; *p != '\0'; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '/' ||
              ch == '.' || ch == '_' || ch == '-' || ch == ':' || ch == '+' || ch == '[' || ch == ']')) {
            return false;
        }
    }
    return true;
}

static char *xstrdup(const char *s, bool *ok)
{
    char *r = strdup(s);
    if (r == NULL) { *ok = false; }
    return r;
}

/* What a session's ssh and proxy argv are made of. */
typedef struct session_words {
    char gateway[256], gw_name[256], keydir[PATH_MAX], proxy[PATH_MAX], known[PATH_MAX + 64], key[PATH_MAX + 16];
    char pc[4 * PATH_MAX], opt_known[PATH_MAX + 128], opt_alias[64], opt_pc[4 * PATH_MAX + 32], opt_alive[48];
    const char *connect_to;
} session_words;

/* check_token: the token names the attested host key; the host pinned that key in known_hosts.
 * Check the token against the key we will pin ssh to, before anything is exposed. */
static int check_token(phala_drv *d, const crabbox_lease *lease, const crabbox_attest_token *token,
                       session_words *w, crabbox_err *err)
{
    uint8_t *kh_blob = NULL;
    size_t kh_len = 0;
    int rc;
    if ((rc = lease_key_dir(d, lease->lease_id, w->keydir, sizeof w->keydir, err)) != CRABBOX_OK) { return rc; }
    snprintf(w->known, sizeof w->known, "%s/known_hosts", w->keydir);
    if ((rc = phala_known_hosts_key(w->known, lease->lease_id, &kh_blob, &kh_len, err)) != CRABBOX_OK) { return rc; }
    if (d->px.host->token_check == NULL ||
        !d->px.host->token_check(d->px.host->ctx, lease->lease_id, kh_blob, kh_len, token)) {
        free(kh_blob);
        return phala_fail(err, CRABBOX_E_ATTESTATION,
                          "phala: no valid attestation token for lease %s and its pinned host key", lease->lease_id);
    }
    free(kh_blob);
    return CRABBOX_OK;
}

/* proxy_words resolves the gateway and the proxy, refuses words unsafe in a ProxyCommand, and
 * writes ssh's options. */
static int proxy_words(phala_drv *d, const crabbox_lease *lease, session_words *w, crabbox_err *err)
{
    const char *ct = w->connect_to;
    bool has_ct = ct != NULL && ct[0] != '\0';
    uint16_t gw_port;
    int rc;
    if ((rc = lease_gateway(d, lease, w->gateway, sizeof w->gateway, err)) != CRABBOX_OK) { return rc; }
    if ((rc = proxy_path(d, w->proxy, sizeof w->proxy, err)) != CRABBOX_OK) { return rc; }
    if (!proxy_word_safe(w->proxy) || !proxy_word_safe(w->gateway) || !proxy_word_safe(lease->cloud_id) ||
        (d->ca_bundle != NULL && !proxy_word_safe(d->ca_bundle)) || (has_ct && !proxy_word_safe(ct))) {
        return phala_fail(err, CRABBOX_E_USAGE,
                          "phala: the proxy path, CA bundle or gateway has characters unsafe in a ProxyCommand");
    }
    if (!phala_gateway_split(w->gateway, w->gw_name, sizeof w->gw_name, &gw_port)) {
        return phala_fail(err, CRABBOX_E_MALFORMED, "phala: the gateway host %.200s is not <name>[:<port>]",
                          w->gateway);
    }
    snprintf(w->pc, sizeof w->pc, "%s --gateway-host %s%s%s%s%s %s", w->proxy, w->gateway,
             d->ca_bundle != NULL ? " --ca-bundle " : "", d->ca_bundle != NULL ? d->ca_bundle : "",
             has_ct ? " --connect-to " : "", has_ct ? ct : "", lease->cloud_id);
    snprintf(w->opt_pc, sizeof w->opt_pc, "ProxyCommand=%s", w->pc);
    snprintf(w->opt_alive, sizeof w->opt_alive, "ServerAliveInterval=%lld", (long long)(d->ssh_keepalive_ms / 1000));
    snprintf(w->opt_known, sizeof w->opt_known, "UserKnownHostsFile=%s", w->known);
    snprintf(w->opt_alias, sizeof w->opt_alias, "HostKeyAlias=%s", lease->lease_id);
    snprintf(w->key, sizeof w->key, "%s/id_ed25519", w->keydir);
    return CRABBOX_OK;
}

/* fill_ssh_argv copies ssh's argv into sv (48 slots); a failed copy clears *ok. */
static void fill_ssh_argv(const session_words *w, char **sv, bool *ok)
{
    const char *words[] = { "ssh", "-i", w->key, "-l", "root", "-p", "22",
                            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                            "-o", "ForwardAgent=no", "-o", "ForwardX11=no", "-o", "ClearAllForwardings=yes",
                            "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
                            "-o", "StrictHostKeyChecking=yes", "-o", w->opt_known, "-o", "GlobalKnownHostsFile=/dev/null",
                            "-o", w->opt_alias, "-o", "ConnectTimeout=30",
                            /* The dstack gateway drops a connection after 10 minutes without data
                             * (gateway.toml [core.proxy.timeouts]): a keepalive (every 60 s by
                             * default) keeps a silent `crabbox run` alive; 3 unanswered ones end
                             * a dead session. */
                            "-o", w->opt_alive, "-o", "ServerAliveCountMax=3",
                            "-o", w->opt_pc, w->gw_name, NULL };
    for (size_t i = 0; words[i] != NULL; i++) { sv[i] = xstrdup(words[i], ok); }
}

/* fill_proxy_argv copies the proxy's argv into pv (12 slots); a failed copy clears *ok. */
static void fill_proxy_argv(const phala_drv *d, const crabbox_lease *lease, const session_words *w, char **pv,
                            bool *ok)
{
    const char *pw[] = { w->proxy, "--gateway-host", w->gateway, NULL, NULL, NULL, NULL, NULL, NULL };
    size_t k = 3;
    if (d->ca_bundle != NULL) {
        pw[k++] = "--ca-bundle";
        pw[k++] = d->ca_bundle;
    }
    if (w->connect_to != NULL && w->connect_to[0] != '\0') {
        pw[k++] = "--connect-to";
        pw[k++] = w->connect_to;
    }
    pw[k++] = lease->cloud_id;
    for (size_t j = 0; pw[j] != NULL; j++) { pv[j] = xstrdup(pw[j], ok); }
}

int phala_open_session(phala_drv *d, const crabbox_lease *lease, const crabbox_attest_token *token,
                       crabbox_session **out, crabbox_err *err)
{
    session_words w;
    crabbox_session *s;
    char **sv, **pv;
    bool ok = true;
    int rc;

    *out = NULL;
    if (lease == NULL || token == NULL || !phala_lease_id_valid(lease->lease_id)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: invalid lease or token");
    }
    memset(&w, 0, sizeof w);
    w.connect_to = getenv(PHALA_CONNECT_TO_ENV);
    if ((rc = check_token(d, lease, token, &w, err)) != CRABBOX_OK) { return rc; }
    if ((rc = proxy_words(d, lease, &w, err)) != CRABBOX_OK) { return rc; }
    s = calloc(1, sizeof *s);
    sv = calloc(48, sizeof *sv);
    pv = calloc(12, sizeof *pv);
    if (s == NULL || sv == NULL || pv == NULL) {
        free(s);
        free(sv);
        free(pv);
        return phala_fail(err, CRABBOX_E_FAILED, "out of memory");
    }
    s->struct_size = sizeof *s;
    fill_ssh_argv(&w, sv, &ok);
    fill_proxy_argv(d, lease, &w, pv, &ok);
    s->ssh_argv = sv;
    s->proxy_argv = pv;
    snprintf(s->user, sizeof s->user, "root");
    snprintf(s->work_root, sizeof s->work_root, "%s", d->work_root);
    if (!ok) {
        /* A failed strdup left a NULL gap: free every slot, not up to the first NULL. */
        for (size_t k = 0; k < 40; k++) { free(sv[k]); }
        for (size_t k = 0; k < 12; k++) { free(pv[k]); }
        free(sv);
        free(pv);
        free(s);
        return phala_fail(err, CRABBOX_E_FAILED, "out of memory");
    }
    *out = s;
    return CRABBOX_OK;
}

void phala_session_free(crabbox_session *s)
{
    if (s == NULL) { return; }
    for (int k = 0; k < 2; k++) {
        char *const *v = k == 0 ? s->ssh_argv : s->proxy_argv;
        for (size_t i = 0; v != NULL && v[i] != NULL; i++) { free(v[i]); }
        free((void *)v);
    }
    free(s);
}

/* ---- helpers ------------------------------------------------------------------------------ */

bool phala_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    return in_len != 0 && cba_base64_decode(out, out_cap, out_len, in, in_len); /* base/base.c */
}

int phala_known_hosts_key(const char *path, const char *name, uint8_t **out, size_t *out_len, crabbox_err *err)
{
    char line[24576];
    FILE *f;
    bool found = false;
    *out = NULL;
    *out_len = 0;
    f = fopen(path, "re");
    if (f == NULL) {
        return phala_fail(err, CRABBOX_E_ATTESTATION, "phala: no pinned host key (%s: %s): attest the lease first",
                          path, strerror(errno));
    }
    while (!found && fgets(line, sizeof line, f) != NULL) {
        char *sp1 = strchr(line, ' '), *sp2, *end;
        uint8_t *blob;
        size_t blen = 0;
        if (sp1 == NULL || (size_t)(sp1 - line) != strlen(name) || strncmp(line, name, strlen(name)) != 0) { continue; }
        sp2 = strchr(sp1 + 1, ' ');
        if (sp2 == NULL) { continue; }
        end = sp2 + 1 + strcspn(sp2 + 1, " \r\n");
        if ((blob = malloc(16384)) == NULL) {
            fclose(f);
            return phala_fail(err, CRABBOX_E_FAILED, "out of memory");
        }
        if (!phala_base64_decode(sp2 + 1, (size_t)(end - (sp2 + 1)), blob, 16384, &blen)) {
            free(blob);
            continue;
        }
        *out = blob;
        *out_len = blen;
        found = true;
    }
    fclose(f);
    if (!found) { return phala_fail(err, CRABBOX_E_ATTESTATION, "phala: %s has no key for %s", path, name); }
    return CRABBOX_OK;
}

/* phala_self_dir: the directory of the file this code was loaded from (the plugin). */
static void self_anchor(void) {}

bool phala_self_dir(char *out, size_t out_len)
{
    Dl_info info;
    char *slash;
    if (dladdr((void *)(uintptr_t)self_anchor, &info) == 0 || info.dli_fname == NULL ||
        info.dli_fname[0] != '/' || strlen(info.dli_fname) >= out_len) {
        return false;
    }
    snprintf(out, out_len, "%s", info.dli_fname);
    slash = strrchr(out, '/');
    if (slash == NULL) { return false; }
    *slash = '\0';
    return true;
}
