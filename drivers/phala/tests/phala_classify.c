/* phala_classify.c — TEST ONLY: runs the driver's own interpretation of one CLI run (phala_interpret)
 * on captured output, for the contract test (tests/phala-api/contract_test.py) that feeds it the
 * same scenarios from the real phala CLI and from the CLI double.
 *
 *     phala-classify WHAT deploy|status|plain EXIT_STATUS STDOUT_FILE STDERR_FILE
 *
 * prints "<CODE>\t<message>" (CODE: OK, EMPTY for an accepted empty answer, or the crabbox code's
 * name) and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phala.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(4u << 20);
    *len = 0;
    if (f == NULL || buf == NULL) {
        if (f != NULL) { fclose(f); }
        free(buf);
        return NULL;
    }
    *len = fread(buf, 1, 4u << 20, f);
    fclose(f);
    return buf;
}

static const char *code_name(int code)
{
    switch (code) {
    case CRABBOX_OK: return "OK";
    case CRABBOX_E_AUTH: return "AUTH";
    case CRABBOX_E_QUOTA: return "QUOTA";
    case CRABBOX_E_NOT_FOUND: return "NOT_FOUND";
    case CRABBOX_E_USAGE: return "USAGE";
    case CRABBOX_E_TRANSIENT: return "TRANSIENT";
    case CRABBOX_E_MALFORMED: return "MALFORMED";
    case CRABBOX_E_TIMEOUT: return "TIMEOUT";
    case CRABBOX_E_FAILED: return "FAILED";
    default: return "OTHER";
    }
}

int main(int argc, char **argv)
{
    crabbox_output out;
    crabbox_err err;
    json_object *doc = NULL;
    unsigned flags = 0;
    int rc;
    if (argc != 6) {
        fprintf(stderr, "usage: phala-classify WHAT deploy|status|plain EXIT STDOUT STDERR\n");
        return 2;
    }
    if (strcmp(argv[2], "deploy") == 0) { flags = PHALA_DOC_ON_STDERR; }
    if (strcmp(argv[2], "status") == 0) { flags = PHALA_EMPTY_OK; }
    memset(&out, 0, sizeof out);
    memset(&err, 0, sizeof err);
    out.exit_status = atoi(argv[3]);
    out.out = slurp(argv[4], &out.out_len);
    out.err = slurp(argv[5], &out.err_len);
    if (out.out == NULL || out.err == NULL) {
        fprintf(stderr, "phala-classify: cannot read the captured output\n");
        return 2;
    }
    rc = phala_interpret(argv[1], &out, flags, &doc, &err);
    printf("%s\t%s\n", rc == CRABBOX_OK && doc == NULL ? "EMPTY" : code_name(rc), rc == CRABBOX_OK ? "" : err.message);
    json_object_put(doc);
    free(out.out);
    free(out.err);
    return 0;
}
