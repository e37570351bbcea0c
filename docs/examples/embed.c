/* embed.c — embedding libcrabbox-verifier (docs/api.md): describe a TDX quote, verify its DCAP
 * collateral once, verify the quote against it, print the report as JSON.
 *
 *     cc embed.c $(pkg-config --cflags --libs crabbox-verifier) -o embed
 *     ./embed QUOTE [COLLATERAL_JSON|-] [UNIX_TIME]
 *
 * Exit status: 0 verified, 1 rejected, 2 usage or I/O error. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <crabbox/verifier.h>

/* read_all reads a whole file (at most 8 MiB) into a new buffer. */
static uint8_t *read_all(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    if (f == NULL) { return NULL; }
    for (;;) {
        if (len == cap) {
            uint8_t *bigger = cap < (8u << 20) ? realloc(buf, cap = cap ? 2 * cap : 65536) : NULL;
            if (bigger == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = bigger;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) { break; }
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *out_len = len;
    return buf;
}

int main(int argc, char **argv)
{
    uint8_t *quote = NULL, *coll = NULL;
    size_t quote_len = 0, coll_len = 0;
    int64_t now = argc > 3 ? (int64_t)strtoll(argv[3], NULL, 10) : (int64_t)time(NULL);
    cba_evidence ev;
    cba_description d;
    cba_policy pol;
    cba_report *rep = NULL;
    cba_collateral *c = NULL;
    cba_error err;
    char *json;
    int rc = 2;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: embed QUOTE [COLLATERAL_JSON|-] [UNIX_TIME]\n");
        return 2;
    }
    quote = read_all(argv[1], &quote_len);
    if (argc > 2 && strcmp(argv[2], "-") != 0) { coll = read_all(argv[2], &coll_len); }
    if (quote == NULL || (argc > 2 && strcmp(argv[2], "-") != 0 && coll == NULL)) {
        fprintf(stderr, "embed: cannot read the input\n");
        goto out;
    }

    /* 1. The evidence. Every struct the library reads or fills is set up by its init function. */
    cba_evidence_init(&ev);
    ev.quote = quote;
    ev.quote_len = quote_len;

    /* 2. Which collateral does it need? Nothing is verified yet: this only picks what to fetch
     *    (Intel PCS: /tdx/certification/v4/tcb?fmspc=..., /pckcrl?ca=platform|processor). */
    cba_description_init(&d);
    if (cba_describe(&d, &err, &ev) != CBA_OK) {
        fprintf(stderr, "embed: not a TDX quote: %s (%s): %s\n", cba_err_message(err.code), err.where, err.detail);
        rc = 1;
        goto out;
    }
    printf("quote v%u, FMSPC %02x%02x%02x%02x%02x%02x, PCK %s CA\n", (unsigned)d.quote_version, d.fmspc[0],
           d.fmspc[1], d.fmspc[2], d.fmspc[3], d.fmspc[4], d.fmspc[5],
           d.pck_ca == CBA_PCK_CA_PROCESSOR ? "Processor" : "Platform");

    /* 3. The policy: the strict default (UpToDate only, no debug TD). Without collateral, the DCAP
     *    checks are skipped explicitly (the signatures and the chain to Intel's root still run). */
    cba_policy_init(&pol);
    pol.skip_dcap = coll == NULL;

    /* 4. Collateral verified once; the object is immutable and may be shared by any number of
     *    threads calling cba_verify_with. Then the quote. The report is large: not on the stack. */
    rep = malloc(sizeof *rep);
    if (rep == NULL) { goto out; }
    cba_report_init(rep);
    if ((coll == NULL || cba_collateral_verify(&c, rep, &pol, coll, coll_len, now) == CBA_OK) &&
        cba_verify_with(rep, &pol, c, &ev, now) != CBA_OK) {
        fprintf(stderr, "embed: rejected at %s\n", cba_check_name(rep->failed_check));
    }

    /* 5. The verdict: the report names the failed check; as JSON, the verify --json object. */
    json = cba_report_json(rep, &pol, now);
    if (json == NULL) { goto out; }
    puts(json);
    cba_free(json);
    printf("verdict: %s\n", rep->verdict == CBA_VERDICT_VERIFIED ? "verified" : "rejected");
    rc = rep->verdict == CBA_VERDICT_VERIFIED ? 0 : 1;
out:
    cba_collateral_free(c);
    free(rep);
    free(quote);
    free(coll);
    return rc;
}
