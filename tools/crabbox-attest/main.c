/* main.c — crabbox-attest: standalone verification of captured TDX / dstack evidence. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "crabbox/verifier.h"
#include "sha2.h" /* the wolfSSL build, for --version */
#include "fetch.h"

static const char k_usage[] =
    "usage: crabbox-attest COMMAND [OPTIONS]\n"
    "\n"
    "Commands:\n"
    "  verify    verify a TDX quote, DCAP collateral and a dstack guest agent response\n"
    "  inspect   show what a quote, certificate chain, guest agent response or collateral holds\n"
    "  collateral fetch  download DCAP collateral for a quote from Intel PCS or a PCCS (verified, cached)\n"
    "\n"
    "Run 'crabbox-attest COMMAND --help' for a command's options. --version prints the version\n"
    "and the wolfSSL build.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(k_usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(k_usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("crabbox-attest %s\n%s\nwolfSSL options: %s\n", cba_version(), cba_crypto_library(),
               cba_crypto_config());
        return 0;
    }
    if (strcmp(argv[1], "verify") == 0) { return cmd_verify(argc - 1, argv + 1); }
    if (strcmp(argv[1], "inspect") == 0) { return cmd_inspect(argc - 1, argv + 1); }
    if (strcmp(argv[1], "collateral") == 0) { return cmd_collateral(argc - 1, argv + 1); }
    fprintf(stderr, "crabbox-attest: unknown command '%s'\n%s", argv[1], k_usage);
    return EXIT_USAGE;
}
