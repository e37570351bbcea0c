/* proxy.c — crabbox-phala-proxy, the OpenSSH ProxyCommand of phala sessions.
 *
 *     crabbox-phala-proxy --gateway-host HOST [--ca-bundle FILE] [--connect-to HOST:PORT] CVM_ID
 *
 * Opens TLS to HOST:443 (tunnel.c: SNI, chain and name verified) and copies stdin -> TLS and
 * TLS -> stdout until the server ends the stream. It is a separate small program next to the
 * driver plugin (the driver finds it beside its own .so) rather than a subcommand of the host,
 * so the host links neither TLS client code nor the driver's internals. The driver always passes
 * --gateway-host (the lease records it), so the proxy never runs the phala CLI; resolving a CVM
 * id through the CLI here is not supported. --connect-to (or CRABBOX_PHALA_CONNECT_TO) is for
 * tests only: it changes where TCP goes, never the verified name.
 *
 * Exit status: 0 when the server ended the stream, 1 on a connect/TLS/stream failure (message
 * `connect Phala SSH TLS gateway <host>: ...` on stderr), 2 on usage errors. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phala.h"

static int usage(const char *msg)
{
    fprintf(stderr, "crabbox-phala-proxy: %s\n"
                    "usage: crabbox-phala-proxy --gateway-host HOST [--ca-bundle FILE] "
                    "[--connect-to HOST:PORT] CVM_ID\n",
            msg);
    return 2;
}

int main(int argc, char **argv)
{
    const char *gateway = NULL, *ca = NULL, *connect_to = getenv(PHALA_CONNECT_TO_ENV), *id = NULL;
    char gw_host[256];
    phala_tls_opts o;
    phala_tls *t = NULL;
    crabbox_err err = { 0 };
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--gateway-host") == 0 || strcmp(a, "--ca-bundle") == 0 ||
            strcmp(a, "--connect-to") == 0) {
            if (i + 1 >= argc) { return usage("an option lacks its value"); }
            if (a[2] == 'g') {
                gateway = argv[++i];
            } else if (a[2] == 'c' && a[3] == 'a') {
                ca = argv[++i];
            } else {
                connect_to = argv[++i];
            }
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) {
                if (id != NULL) { return usage("exactly one CVM id is expected"); }
                id = argv[i];
            }
        } else if (a[0] == '-') {
            return usage("unknown option");
        } else {
            if (id != NULL) { return usage("exactly one CVM id is expected"); }
            id = a;
        }
    }
    if (id == NULL || id[0] == '\0') { return usage("exactly one CVM id is expected"); }
    if (gateway == NULL || gateway[0] == '\0') {
        return usage("--gateway-host is required (resolving the gateway through the phala CLI is "
                     "not supported by the proxy; crabbox passes the lease's gateway host)");
    }
    /* ssh closes our stdout when it is done; a write then must not kill us silently. */
    (void)signal(SIGPIPE, SIG_IGN);
    memset(&o, 0, sizeof o);
    if (!phala_gateway_split(gateway, gw_host, sizeof gw_host, &o.port)) {
        return usage("--gateway-host must be <name>[:<port>]");
    }
    o.host = gw_host;
    o.connect_to = connect_to;
    o.ca_bundle = ca;
    o.connect_timeout_ms = PHALA_T_TCP_CONNECT_MS;
    o.handshake_timeout_ms = PHALA_T_TLS_HANDSHAKE_MS;
    rc = phala_tls_connect(&o, &t, &err);
    if (rc == CRABBOX_OK) { rc = phala_tls_pump(t, 0, 1, -1, &err); }
    phala_tls_close(t);
    if (rc != CRABBOX_OK) {
        fprintf(stderr, "connect Phala SSH TLS gateway %s: %s\n", gateway, err.message);
        return 1;
    }
    return 0;
}
