/* main.c — crabbox-mkevidence: writes test evidence for a named preset (TEST ONLY).
 *
 *     crabbox-mkevidence -o DIR [--preset NAME]      quote.bin collateral.json root.der info.json
 *     crabbox-mkevidence --list
 *
 * Verify it with the test root at the fixed time:
 *     crabbox-attest verify --quote DIR/quote.bin --collateral DIR/collateral.json \
 *         --info DIR/info.json --trust-root DIR/root.der --at 1767225600 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "mkevidence.h"

static int put(const char *dir, const char *name, const mke_blob *b)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    int err;
    if (n < 0 || (size_t)n >= sizeof path) {
        fprintf(stderr, "crabbox-mkevidence: path too long: %s/%s\n", dir, name);
        return 1;
    }
    err = tc_write_file_atomic(path, b->data, b->len, 0644); /* base/fileio.c */
    if (err != 0) {
        fprintf(stderr, "crabbox-mkevidence: cannot write %s: %s\n", path, strerror(err));
        return 1;
    }
    printf("%s (%zu bytes)\n", path, b->len);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: crabbox-mkevidence -o DIR [--preset NAME]\n"
               "       crabbox-mkevidence --list\n"
               "Writes TEST evidence signed by the Crabbox test root (never Intel's): quote.bin,\n"
               "collateral.json, root.der and info.json (when the preset has one).\n"
               "Verify at %lld (2026-01-01T00:00:00Z) with the test root.\n",
            (long long)MKE_DEFAULT_NOW);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *name = "valid-v4";
    mke_options o;
    mke_evidence ev;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else if (strcmp(argv[i], "--list") == 0) {
            for (size_t p = 0; mke_preset_name(p) != NULL; p++) {
                printf("%-20s %s\n", mke_preset_name(p), mke_preset_about(p));
            }
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (dir == NULL) {
        usage(stderr);
        return 2;
    }
    if (!mke_preset(&o, name)) {
        fprintf(stderr, "crabbox-mkevidence: unknown preset \"%s\" (see --list)\n", name);
        return 2;
    }
    if (!mke_generate(&ev, &o)) {
        fprintf(stderr, "crabbox-mkevidence: %s\n", ev.error);
        return 1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "crabbox-mkevidence: cannot create %s: %s\n", dir, strerror(errno));
        mke_evidence_free(&ev);
        return 1;
    }
    rc |= put(dir, "quote.bin", &ev.quote);
    rc |= put(dir, "collateral.json", &ev.collateral_json);
    rc |= put(dir, "root.der", &ev.root_der);
    if (ev.info_json.data != NULL) { rc |= put(dir, "info.json", &ev.info_json); }
    if (rc == 0) {
        printf("preset %s: verify at %lld with root.der as the (test) trust root\n", name,
               (long long)MKE_DEFAULT_NOW);
    }
    mke_evidence_free(&ev);
    return rc;
}
