/* ecdsa_table_gen.c — writes the build-time comb tables of Intel's fixed ECDSA-P256 keys
 * (docs/wolfssl.md, "Fixed-key tables") as a `static const` C file into the build directory.
 *
 *     ecdsa_table_gen TEETH COMBS OUT.c
 *
 * Runs at build time, linked with the same wolfSSL as the library (the bundled static SP build):
 * builds each table with ecdsa_table.c, checks every entry against wolfSSL's own scalar
 * multiplication (cba_p256_table_known_answer, all entries), and writes OUT.c atomically (a
 * temporary file in the same folder, then rename). Exit 1 with a message on any failure: the build
 * stops rather than link a table that was not checked.
 *
 * The keys: X||Y of the four Intel keys that sign the collateral of a DCAP verification, each
 * read from Intel's certificates in fixtures/real (dcap-qvl-tdx, dcap-qvl-sgx) and the shared
 * real crabbox capture, and cross-checked there by tests/cli/ecdsa_tables.py. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ecdsa_table.h"

typedef struct gen_key {
    const char *ident;
    const char *name;
    const char *hex; /* X||Y, 128 hex digits */
} gen_key;

static const gen_key KEYS[] = {
    {"sgx_root_ca", "Intel SGX Root CA",
     "0ba9c4c0c0c86193a3fe23d6b02cda10a8bbd4e88e48b4458561a36e705525f5"
     "67918e2edc88e40d860bd0cc4ee26aacc988e505a953558c453f6b0904ae7394"},
    {"pck_platform_ca", "Intel SGX PCK Platform CA",
     "35207feeddb595748ed82bb3a71c3be1e241ef61320c6816e6b5c2b71dad5532"
     "eaea12a4eb3f948916429ea47ba6c3af82a15e4b19664e52657939a2d96633de"},
    {"pck_processor_ca", "Intel SGX PCK Processor CA",
     "bf6af8d329d883a0b5d9756e4fee599e7e4c6426f1a0a2f33efc7ecf9f282437"
     "77eb83cd79d54c04f66610c289fc88b89c2f377c0d069f621c1492309309ac13"},
    {"tcb_signing", "Intel SGX TCB Signing",
     "43451bcc73c9d5917caf766e61af3fe98087dd4f13257b261e851897799dd13d"
     "6811fb47713803bb9bae587fccddc2e31be9a28b86962acc6daf96da58eeca96"},
};
#define NUM_KEYS (sizeof KEYS / sizeof KEYS[0])

static int hexval(char c)
{
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    return -1;
}

static int unhex64(uint8_t out[64], const char *hex)
{
    if (strlen(hex) != 128) { return -1; }
    for (size_t i = 0; i < 64; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) { return -1; }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static int emit(FILE *f, unsigned teeth, unsigned combs)
{
    uint8_t pub[64];
    size_t n = (size_t)combs << teeth;
    fprintf(f, "/* ecdsa_fixed_tables.c — GENERATED at build time by verifier/gen/ecdsa_table_gen.c "
               "(teeth %u, combs %u):\n * the comb tables of Intel's fixed ECDSA-P256 keys, each entry checked "
               "against\n * sp_ecc_mulmod_256. Do not edit; not committed. */\n",
            teeth, combs);
    fprintf(f, "#include \"ecdsa_table.h\"\n\n");
    for (size_t k = 0; k < NUM_KEYS; k++) {
        cba_crypto_rc rc;
        cba_p256_table *t;
        if (unhex64(pub, KEYS[k].hex) != 0) {
            fprintf(stderr, "ecdsa_table_gen: %s: bad key text\n", KEYS[k].name);
            return -1;
        }
        t = cba_p256_table_new_comb(pub, teeth, combs, &rc);
        if (t == NULL) {
            fprintf(stderr, "ecdsa_table_gen: %s: no table (rc %d)\n", KEYS[k].name, (int)rc);
            return -1;
        }
        rc = cba_p256_table_known_answer(t, pub, true);
        if (rc != CBA_CRYPTO_OK) {
            fprintf(stderr, "ecdsa_table_gen: %s: an entry differs from sp_ecc_mulmod_256 (rc %d)\n",
                    KEYS[k].name, (int)rc);
            cba_p256_table_free(t);
            return -1;
        }
        fprintf(f, "static const cba_p256_affine %s[%zu] = {\n", KEYS[k].ident, n);
        for (size_t i = 0; i < n; i++) {
            const cba_p256_affine *e = &t->pt[i];
            fprintf(f, "    {{0x%016llxULL, 0x%016llxULL, 0x%016llxULL, 0x%016llxULL},\n"
                       "     {0x%016llxULL, 0x%016llxULL, 0x%016llxULL, 0x%016llxULL}},\n",
                    (unsigned long long)e->x[0], (unsigned long long)e->x[1], (unsigned long long)e->x[2],
                    (unsigned long long)e->x[3], (unsigned long long)e->y[0], (unsigned long long)e->y[1],
                    (unsigned long long)e->y[2], (unsigned long long)e->y[3]);
        }
        fprintf(f, "};\n\n");
        cba_p256_table_free(t);
    }
    fprintf(f, "const cba_p256_fixed_key cba_p256_fixed_keys[] = {\n");
    for (size_t k = 0; k < NUM_KEYS; k++) {
        (void)unhex64(pub, KEYS[k].hex);
        fprintf(f, "    {\"%s\",\n     {", KEYS[k].name);
        for (size_t i = 0; i < 64; i++) {
            fprintf(f, "0x%02x%s", pub[i], i == 63 ? "" : (i % 16 == 15 ? ",\n      " : ", "));
        }
        fprintf(f, "},\n     {%uu, %uu, %uu, %s, NULL}},\n", teeth, (256 + teeth - 1) / teeth, combs,
                KEYS[k].ident);
    }
    fprintf(f, "};\nconst size_t cba_p256_num_fixed_keys = %zu;\n", NUM_KEYS);
    return 0;
}

int main(int argc, char **argv)
{
    char tmp[4096];
    char *end = NULL;
    unsigned long teeth, combs;
    FILE *f;
    int fd, rc;
    if (argc != 4) {
        fprintf(stderr, "usage: ecdsa_table_gen TEETH COMBS OUT.c\n");
        return 2;
    }
    errno = 0;
    teeth = strtoul(argv[1], &end, 10);
    if (errno != 0 || end == argv[1] || *end != '\0' || teeth < CBA_P256_TABLE_MIN_TEETH ||
        teeth > CBA_P256_TABLE_MAX_TEETH) {
        fprintf(stderr, "ecdsa_table_gen: TEETH must be %d..%d\n", CBA_P256_TABLE_MIN_TEETH,
                CBA_P256_TABLE_MAX_TEETH);
        return 2;
    }
    errno = 0;
    combs = strtoul(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0' || combs < 1 || combs > CBA_P256_TABLE_MAX_COMBS) {
        fprintf(stderr, "ecdsa_table_gen: COMBS must be 1..%d\n", CBA_P256_TABLE_MAX_COMBS);
        return 2;
    }
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", argv[3]) >= sizeof tmp) {
        fprintf(stderr, "ecdsa_table_gen: output path too long\n");
        return 1;
    }
    fd = mkstemp(tmp);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        fprintf(stderr, "ecdsa_table_gen: %s: %s\n", tmp, strerror(errno));
        if (fd >= 0) { close(fd); unlink(tmp); }
        return 1;
    }
    rc = fchmod(fd, 0644) == 0 ? emit(f, (unsigned)teeth, (unsigned)combs) : -1; /* a source file, like the others */
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) { rc = -1; }
    if (fclose(f) != 0) { rc = -1; }
    if (rc == 0 && rename(tmp, argv[3]) != 0) {
        fprintf(stderr, "ecdsa_table_gen: %s: %s\n", argv[3], strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(tmp);
        return 1;
    }
    return 0;
}
