/* tunnel.c — TLS to the Phala SSH gateway (<app_id>-22.<gateway domain>:443) with wolfSSL, and a
 * byte pump between a local pair of file descriptors and that TLS stream.
 *
 * Trust: TLS 1.2 or newer, SNI = the gateway host, the chain verified against the system CA store
 * (or only the configured bundle when one is given) and the certificate's names checked against
 * the gateway host. The connect and the handshake each have a deadline (non-blocking socket +
 * poll). CRABBOX_PHALA_CONNECT_TO=host:port (test only) changes where the TCP connection goes,
 * never the name that is verified, so a loopback gateway must still present a certificate for the
 * real name. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "phala.h"

/* The suites offered to the gateway: AEAD with (EC)DHE only. Without a list, Debian's wolfSSL 5.5.4
 * also offers NULL (TLS13-SHA256-SHA256), anonymous (ADH), RC4, 3DES and CBC suites. ChaCha20-Poly1305
 * comes first when wolfSSL has no AES-NI code: its portable AES-GCM encrypts ~50-75 MB/s on the
 * benchmark machine, ChaCha20-Poly1305 ~130-170 MB/s, and the proxy carries every byte of an rsync
 * (bench/rsync_tunnel.py). Names this build lacks are skipped by wolfSSL_CTX_set_cipher_list. */
#define PHALA_TLS13_AES "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384"
#define PHALA_TLS13_CHACHA "TLS13-CHACHA20-POLY1305-SHA256"
#define PHALA_TLS12_AES \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
#define PHALA_TLS12_CHACHA "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#if defined(WOLFSSL_AESNI)
#define PHALA_TLS_SUITES \
    PHALA_TLS13_AES ":" PHALA_TLS13_CHACHA ":" PHALA_TLS12_AES ":" PHALA_TLS12_CHACHA
#else
#define PHALA_TLS_SUITES \
    PHALA_TLS13_CHACHA ":" PHALA_TLS13_AES ":" PHALA_TLS12_CHACHA ":" PHALA_TLS12_AES
#endif

struct phala_tls {
    WOLFSSL_CTX *ctx;
    WOLFSSL *ssl;
    int fd;
};

int64_t phala_mono_ms(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* remaining_ms: what is left until deadline, at least 0, at most INT32_MAX for poll. */
static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - phala_mono_ms();
    if (left < 0) { return 0; }
    return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

bool phala_parse_host_port(const char *s, char *host, size_t host_len, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    unsigned long v = 0;
    size_t hl;
    if (colon == NULL || colon == s || colon[1] == '\0') { return false; }
    hl = (size_t)(colon - s);
    if (s[0] == '[') { /* [v6]:port */
        if (hl < 3 || s[hl - 1] != ']') { return false; }
        s++;
        hl -= 2;
    }
    if (hl >= host_len) { return false; }
    for (const char *p = colon + 1; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > 65535) { return false; }
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535) { return false; }
    memcpy(host, s, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return true;
}

/* tcp_ready: the connected socket carries TLS records that ssh already sized; Nagle would only
 * hold back the last small segment of each burst (a keystroke, an rsync request) for an ACK. */
static int tcp_ready(int fd, int *out_fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* best effort */
    *out_fd = fd;
    return CRABBOX_OK;
}

/* tcp_connect tries each address of host:port with a non-blocking connect until the deadline. */
static int tcp_connect(const char *host, uint16_t port, int64_t deadline, int *out_fd, crabbox_err *err)
{
    struct addrinfo hints, *res = NULL;
    char service[8];
    int gai, last_errno = ETIMEDOUT;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        return phala_fail(err, CRABBOX_E_TRANSIENT, "cannot resolve %s: %s", host, gai_strerror(gai));
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return tcp_ready(fd, out_fd);
        }
        if (errno == EINPROGRESS) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            int n;
            do { n = poll(&p, 1, remaining_ms(deadline)); } while (n < 0 && errno == EINTR);
            if (n == 1) {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
                    freeaddrinfo(res);
                    return tcp_ready(fd, out_fd);
                }
                last_errno = soerr != 0 ? soerr : errno;
            } else {
                last_errno = n == 0 ? ETIMEDOUT : errno;
            }
        } else {
            last_errno = errno;
        }
        close(fd);
        if (remaining_ms(deadline) == 0) { break; }
    }
    freeaddrinfo(res);
    return phala_fail(err, last_errno == ETIMEDOUT ? CRABBOX_E_TIMEOUT : CRABBOX_E_TRANSIENT,
                      "TCP connect to %s:%u: %s", host, (unsigned)port, strerror(last_errno));
}

static void tls_free(phala_tls *t)
{
    if (t == NULL) { return; }
    if (t->ssl != NULL) { wolfSSL_free(t->ssl); }
    if (t->ctx != NULL) { wolfSSL_CTX_free(t->ctx); }
    if (t->fd >= 0) { close(t->fd); }
    free(t);
    wolfSSL_Cleanup(); /* reference-counted with wolfSSL_Init */
}

/* wait_io waits for the direction wolfSSL asked for; false at the deadline. */
static bool wait_io(int fd, int ssl_err, int64_t deadline)
{
    struct pollfd p = { .fd = fd, .events = ssl_err == WOLFSSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN };
    int n;
    do { n = poll(&p, 1, remaining_ms(deadline)); } while (n < 0 && errno == EINTR);
    return n == 1;
}

int phala_tls_connect(const phala_tls_opts *o, phala_tls **out, crabbox_err *err)
{
    phala_tls *t;
    char chost[256];
    uint16_t cport = o->port;
    int64_t t0 = phala_mono_ms();
    int rc;

    *out = NULL;
    if (o->host == NULL || o->host[0] == '\0' || strlen(o->host) >= 254) {
        return phala_fail(err, CRABBOX_E_USAGE, "no gateway host");
    }
    snprintf(chost, sizeof chost, "%s", o->host);
    if (o->connect_to != NULL && o->connect_to[0] != '\0' &&
        !phala_parse_host_port(o->connect_to, chost, sizeof chost, &cport)) {
        return phala_fail(err, CRABBOX_E_USAGE, "connect-to override must be host:port, not %.100s",
                          o->connect_to);
    }
    if (wolfSSL_Init() != WOLFSSL_SUCCESS) { return phala_fail(err, CRABBOX_E_FAILED, "wolfSSL_Init failed"); }
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        wolfSSL_Cleanup();
        return phala_fail(err, CRABBOX_E_FAILED, "out of memory");
    }
    t->fd = -1;
    t->ctx = wolfSSL_CTX_new(wolfSSLv23_client_method());
    if (t->ctx == NULL || wolfSSL_CTX_SetMinVersion(t->ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_set_cipher_list(t->ctx, PHALA_TLS_SUITES) != WOLFSSL_SUCCESS) {
        tls_free(t);
        return phala_fail(err, CRABBOX_E_FAILED, "cannot set up a TLS 1.2+ context");
    }
    if (o->ca_bundle != NULL && o->ca_bundle[0] != '\0') {
        /* A configured bundle replaces the system store: it is all that is trusted. */
        if (wolfSSL_CTX_load_verify_locations(t->ctx, o->ca_bundle, NULL) != WOLFSSL_SUCCESS) {
            tls_free(t);
            return phala_fail(err, CRABBOX_E_USAGE, "cannot load the CA bundle %.200s", o->ca_bundle);
        }
    } else if (wolfSSL_CTX_load_system_CA_certs(t->ctx) != WOLFSSL_SUCCESS) {
        tls_free(t);
        return phala_fail(err, CRABBOX_E_FAILED, "cannot load the system CA certificates");
    }
    wolfSSL_CTX_set_verify(t->ctx, WOLFSSL_VERIFY_PEER, NULL);
    rc = tcp_connect(chost, cport, t0 + o->connect_timeout_ms, &t->fd, err);
    if (rc != CRABBOX_OK) {
        tls_free(t);
        return rc;
    }
    t->ssl = wolfSSL_new(t->ctx);
    if (t->ssl == NULL || wolfSSL_set_fd(t->ssl, t->fd) != WOLFSSL_SUCCESS ||
        wolfSSL_UseSNI(t->ssl, WOLFSSL_SNI_HOST_NAME, o->host, (unsigned short)strlen(o->host)) !=
            WOLFSSL_SUCCESS ||
        wolfSSL_check_domain_name(t->ssl, o->host) != WOLFSSL_SUCCESS) {
        tls_free(t);
        return phala_fail(err, CRABBOX_E_FAILED, "cannot set up the TLS session");
    }
    {
        int64_t deadline = phala_mono_ms() + o->handshake_timeout_ms;
        for (;;) {
            int r = wolfSSL_connect(t->ssl), e;
            if (r == WOLFSSL_SUCCESS) { break; }
            e = wolfSSL_get_error(t->ssl, r);
            if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) {
                if (wait_io(t->fd, e, deadline)) { continue; }
                tls_free(t);
                return phala_fail(err, CRABBOX_E_TIMEOUT, "TLS handshake timed out after %lld ms",
                                  (long long)o->handshake_timeout_ms);
            }
            {
                char msg[WOLFSSL_MAX_ERROR_SZ];
                bool trust = e == DOMAIN_NAME_MISMATCH || e == ASN_NO_SIGNER_E ||
                             e == ASN_AFTER_DATE_E || e == ASN_BEFORE_DATE_E || e == ASN_SIG_CONFIRM_E ||
                             e == VERIFY_CERT_ERROR;
                wolfSSL_ERR_error_string_n((unsigned long)e, msg, sizeof msg);
                tls_free(t);
                return phala_fail(err, trust ? CRABBOX_E_AUTH : CRABBOX_E_TRANSIENT,
                                  "TLS handshake failed%s: %s (%d)",
                                  e == DOMAIN_NAME_MISMATCH ? " (certificate is for another name)"
                                  : trust ? " (certificate not trusted)" : "",
                                  msg, e);
            }
        }
    }
    *out = t;
    return CRABBOX_OK;
}

void phala_tls_close(phala_tls *t)
{
    if (t == NULL) { return; }
    if (t->ssl != NULL) { (void)wolfSSL_shutdown(t->ssl); } /* best effort close_notify */
    tls_free(t);
}

/* tls_write_all writes len bytes, waiting (bounded) whenever the socket is full. */
static int tls_write_all(phala_tls *t, const uint8_t *buf, size_t len, int64_t timeout_ms,
                         crabbox_err *err)
{
    size_t off = 0;
    int64_t deadline = phala_mono_ms() + timeout_ms;
    while (off < len) {
        size_t chunk = len - off > 16384 ? 16384 : len - off;
        int r = wolfSSL_write(t->ssl, buf + off, (int)chunk), e;
        if (r > 0) {
            off += (size_t)r;
            deadline = phala_mono_ms() + timeout_ms;
            continue;
        }
        e = wolfSSL_get_error(t->ssl, r);
        if ((e == WOLFSSL_ERROR_WANT_WRITE || e == WOLFSSL_ERROR_WANT_READ) && wait_io(t->fd, e, deadline)) {
            continue;
        }
        return phala_fail(err, CRABBOX_E_TRANSIENT, "TLS write failed (%d)", e);
    }
    return CRABBOX_OK;
}

static bool write_all_fd(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) { continue; }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            if (poll(&p, 1, 60000) <= 0) { return false; }
            continue;
        }
        if (n <= 0) { return false; }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

/* drain_tls moves everything wolfSSL can give now to out_fd. Returns 1 on progress or nothing to
 * do, 0 when the server ended the stream, -1 on error. */
static int drain_tls(phala_tls *t, int out_fd, uint8_t *buf, size_t buf_len)
{
    for (;;) {
        int r = wolfSSL_read(t->ssl, buf, (int)buf_len), e;
        if (r > 0) {
            if (!write_all_fd(out_fd, buf, (size_t)r)) { return -1; }
            continue;
        }
        e = wolfSSL_get_error(t->ssl, r);
        if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE) { return 1; }
        if (e == WOLFSSL_ERROR_ZERO_RETURN || e == SOCKET_PEER_CLOSED_E || r == 0) { return 0; }
        return -1;
    }
}

int phala_tls_pump(phala_tls *t, int in_fd, int out_fd, int stop_fd, crabbox_err *err)
{
    uint8_t buf[16384];
    bool in_open = true;
    int64_t linger_deadline = 0;
    for (;;) {
        struct pollfd p[3];
        nfds_t n = 0;
        int idx_in = -1, idx_stop = -1, r, timeout = -1;
        if (wolfSSL_pending(t->ssl) > 0) {
            r = drain_tls(t, out_fd, buf, sizeof buf);
            if (r <= 0) { break; }
        }
        p[n].fd = t->fd;
        p[n].events = POLLIN;
        p[n++].revents = 0;
        if (in_open) {
            idx_in = (int)n;
            p[n].fd = in_fd;
            p[n].events = POLLIN;
            p[n++].revents = 0;
        } else {
            /* The local side is done; give the server a bounded time to finish and close. */
            timeout = remaining_ms(linger_deadline);
        }
        if (stop_fd >= 0) {
            idx_stop = (int)n;
            p[n].fd = stop_fd;
            p[n].events = POLLIN;
            p[n++].revents = 0;
        }
        r = poll(p, n, timeout);
        if (r < 0 && errno == EINTR) { continue; }
        if (r < 0) { return phala_fail(err, CRABBOX_E_FAILED, "poll: %s", strerror(errno)); }
        if (r == 0) { break; } /* linger over */
        if (idx_stop >= 0 && p[idx_stop].revents != 0) { break; }
        if (p[0].revents != 0) {
            r = drain_tls(t, out_fd, buf, sizeof buf);
            if (r < 0) { return phala_fail(err, CRABBOX_E_TRANSIENT, "the TLS stream failed"); }
            if (r == 0) { break; } /* the server ended */
        }
        if (idx_in >= 0 && p[idx_in].revents != 0) {
            ssize_t got = read(in_fd, buf, sizeof buf);
            if (got < 0 && (errno == EINTR || errno == EAGAIN)) { continue; }
            if (got <= 0) {
                /* Half-close: close_notify tells the server we are done sending (TLS 1.3 keeps
                 * the other direction open); keep reading until it ends the stream. */
                (void)wolfSSL_shutdown(t->ssl);
                in_open = false;
                linger_deadline = phala_mono_ms() + 30000;
                continue;
            }
            r = tls_write_all(t, buf, (size_t)got, 60000, err);
            if (r != CRABBOX_OK) { return r; }
        }
    }
    /* Half-close towards the local side: the reader sees EOF. */
    (void)shutdown(out_fd, SHUT_WR);
    return CRABBOX_OK;
}
