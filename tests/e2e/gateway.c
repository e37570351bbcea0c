/* gateway.c — crabbox-e2e-gateway: a TEST-ONLY stand-in for the dstack TLS gateway.
 *
 *     crabbox-e2e-gateway --cert PEM --key PEM --routes FILE --port-file FILE
 *
 * Listens on 127.0.0.1 (ephemeral port written to --port-file), terminates TLS with the given
 * certificate (issued by the harness's test CA), reads the SNI of each ClientHello and forwards
 * the stream to the TCP address the routes file names for it. Routes file (re-read for every
 * connection, so a test can re-point a name): lines "<sni> <target>"; "*" matches any name; the
 * first matching line wins. Targets (faults for tests/e2e/e2e_faults.py):
 *   <host>:<port>                 forward the stream (no listener there: closed after the handshake)
 *   drop-after-handshake          complete the TLS handshake, then close the connection
 *   stall-after-handshake         complete the TLS handshake, then send nothing for 10 minutes
 *   drop-after:<N>@<host>:<port>  forward, but close both sides abruptly once N bytes went from
 *                                 the backend to the client (mid-way through the SSH stream)
 *   idle:<S>@<host>:<port>        forward, but close the connection after S seconds without data in
 *                                 either direction (the dstack gateway's idle timeout, 10 min there)
 * No route: the connection is closed before the handshake. One forked child per connection. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "hold.h"

static int die(const char *msg)
{
    fprintf(stderr, "crabbox-e2e-gateway: %s\n", msg);
    return 1;
}

enum route_kind { ROUTE_FORWARD, ROUTE_DROP_AFTER_HANDSHAKE, ROUTE_STALL, ROUTE_DROP_AFTER, ROUTE_IDLE };

typedef struct route {
    enum route_kind kind;
    unsigned long limit; /* ROUTE_DROP_AFTER: bytes backend -> client before the drop;
                            ROUTE_IDLE: seconds without data in either direction */
} route;

static int route_for(const char *routes, const char *sni, struct sockaddr_in *out, route *rt)
{
    char line[512], name[300], target[96];
    int found = -1;
    FILE *f = fopen(routes, "r");
    if (f == NULL) { return -1; }
    while (found != 0 && fgets(line, sizeof line, f) != NULL) {
        char *colon, *addr = target;
        unsigned port;
        if (sscanf(line, "%299s %95s", name, target) != 2) { continue; }
        if (strcmp(name, sni) != 0 && strcmp(name, "*") != 0) { continue; }
        memset(rt, 0, sizeof *rt);
        if (strcmp(target, "drop-after-handshake") == 0 || strcmp(target, "stall-after-handshake") == 0) {
            rt->kind = target[0] == 'd' ? ROUTE_DROP_AFTER_HANDSHAKE : ROUTE_STALL;
            found = 0;
            break;
        }
        if (strncmp(target, "drop-after:", 11) == 0) {
            char *at = strchr(target, '@');
            if (at == NULL) { continue; }
            rt->kind = ROUTE_DROP_AFTER;
            rt->limit = strtoul(target + 11, NULL, 10);
            addr = at + 1;
        }
        if (strncmp(target, "idle:", 5) == 0) {
            char *at = strchr(target, '@');
            if (at == NULL) { continue; }
            rt->kind = ROUTE_IDLE;
            rt->limit = strtoul(target + 5, NULL, 10);
            if (rt->limit == 0) { continue; }
            addr = at + 1;
        }
        colon = strrchr(addr, ':');
        if (colon == NULL || sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535) { continue; }
        *colon = '\0';
        memset(out, 0, sizeof *out);
        out->sin_family = AF_INET;
        out->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, addr, &out->sin_addr) != 1) { continue; }
        found = 0;
    }
    fclose(f);
    return found;
}

static bool write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) { continue; }
        if (w <= 0) { return false; }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static int serve(int fd, WOLFSSL_CTX *ctx, const char *routes)
{
    unsigned char hello[16384], sni[300], buf[16384];
    unsigned int sni_len = 0;
    unsigned long relayed = 0;
    struct sockaddr_in dst;
    route rt;
    struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
    WOLFSSL *ssl;
    int back, tries;
    bool tls_open = true;

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    /* Peek at the ClientHello until its SNI can be read. */
    for (tries = 0; tries < 100; tries++) {
        ssize_t n = recv(fd, hello, sizeof hello, MSG_PEEK);
        if (n <= 0) { return 1; }
        sni_len = sizeof sni - 1;
        if (wolfSSL_SNI_GetFromBuffer(hello, (unsigned int)n, WOLFSSL_SNI_HOST_NAME, sni, &sni_len) ==
                WOLFSSL_SUCCESS) {
            break;
        }
        sni_len = 0;
        usleep(50000);
    }
    if (sni_len == 0) { return die("no SNI in the ClientHello"); }
    sni[sni_len] = '\0';
    if (route_for(routes, (const char *)sni, &dst, &rt) != 0) {
        fprintf(stderr, "crabbox-e2e-gateway: no route for %s\n", sni);
        return 1;
    }
    ssl = wolfSSL_new(ctx);
    if (ssl == NULL || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS) { return die("wolfSSL_new"); }
    if (wolfSSL_accept(ssl) != WOLFSSL_SUCCESS) { return die("handshake failed"); }
    if (rt.kind == ROUTE_DROP_AFTER_HANDSHAKE) {
        fprintf(stderr, "crabbox-e2e-gateway: %s: dropping after the handshake (fault)\n", sni);
        close(fd); /* no close_notify: the connection just ends */
        return 0;
    }
    if (rt.kind == ROUTE_STALL) {
        fprintf(stderr, "crabbox-e2e-gateway: %s: stalling after the handshake (fault)\n", sni);
        hold_until_peer_closes(fd, 600); /* not a minute longer than the client (issue 17 §5) */
        return 0;
    }
    back = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (back < 0 || connect(back, (struct sockaddr *)&dst, sizeof dst) != 0) { return die("backend connect"); }
    tv.tv_sec = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = back, .events = POLLIN } };
        if (!tls_open) { p[0].fd = -1; }
        int pr = 0;
        if (wolfSSL_pending(ssl) == 0 &&
            (pr = poll(p, 2, rt.kind == ROUTE_IDLE ? (int)rt.limit * 1000 : -1)) < 0) {
            if (errno == EINTR) { continue; }
            break;
        }
        if (pr == 0 && rt.kind == ROUTE_IDLE && wolfSSL_pending(ssl) == 0) {
            /* dstack's gateway.toml [core.proxy.timeouts]: an idle connection is cut. */
            fprintf(stderr, "crabbox-e2e-gateway: %s: idle for %lu s, closing (like the dstack gateway)\n", sni,
                    rt.limit);
            break;
        }
        if (tls_open && (wolfSSL_pending(ssl) > 0 || p[0].revents != 0)) {
            int n = wolfSSL_read(ssl, buf, sizeof buf);
            if (n > 0) {
                if (!write_all(back, buf, (size_t)n)) { break; }
            } else {
                tls_open = false;
                (void)shutdown(back, SHUT_WR);
            }
        }
        if (p[1].revents != 0) {
            ssize_t n = read(back, buf, sizeof buf);
            if (n <= 0) { break; }
            if (rt.kind == ROUTE_DROP_AFTER && relayed + (unsigned long)n > rt.limit) {
                /* Send what fits, then cut both sides without a TLS close_notify. */
                if (rt.limit > relayed) { (void)wolfSSL_write(ssl, buf, (int)(rt.limit - relayed)); }
                fprintf(stderr, "crabbox-e2e-gateway: %s: dropping after %lu bytes (fault)\n", sni, rt.limit);
                close(back);
                close(fd);
                return 0;
            }
            relayed += (unsigned long)n;
            if (wolfSSL_write(ssl, buf, (int)n) != (int)n) { break; }
        }
    }
    (void)wolfSSL_shutdown(ssl);
    wolfSSL_free(ssl);
    close(back);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cert = NULL, *key = NULL, *routes = NULL, *port_file = NULL;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    WOLFSSL_CTX *ctx;
    FILE *pf;
    int lfd, one = 1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--cert") == 0) { cert = argv[i + 1]; }
        else if (strcmp(argv[i], "--key") == 0) { key = argv[i + 1]; }
        else if (strcmp(argv[i], "--routes") == 0) { routes = argv[i + 1]; }
        else if (strcmp(argv[i], "--port-file") == 0) { port_file = argv[i + 1]; }
        else { return die("unknown option"); }
    }
    if (cert == NULL || key == NULL || routes == NULL || port_file == NULL) {
        return die("usage: --cert PEM --key PEM --routes FILE --port-file FILE");
    }
    (void)signal(SIGCHLD, SIG_IGN); /* children are reaped automatically */
    (void)signal(SIGPIPE, SIG_IGN);
    if (wolfSSL_Init() != WOLFSSL_SUCCESS) { return die("wolfSSL_Init"); }
    ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());
    if (ctx == NULL || wolfSSL_CTX_use_certificate_chain_file(ctx, cert) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_file(ctx, key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
        return die("cannot load the certificate or key");
    }
    /* Like the real dstack gateway (rustls): the client's suite order wins. */
    if (wolfSSL_CTX_UseClientSuites(ctx) != 0) { return die("wolfSSL_CTX_UseClientSuites"); } /* 0 = done */
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0) {
        return die("cannot listen on 127.0.0.1");
    }
    pf = fopen(port_file, "w");
    if (pf == NULL) { return die("cannot write the port file"); }
    fprintf(pf, "%u\n", (unsigned)ntohs(a.sin_port));
    fclose(pf);
    for (;;) {
        pid_t pid;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) { continue; }
            return die("accept failed");
        }
        pid = fork();
        if (pid == 0) {
            close(lfd);
            _exit(serve(fd, ctx, routes));
        }
        close(fd);
    }
}
