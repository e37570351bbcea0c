/* threads.c — one verified cba_collateral shared by 8 threads, each verifying the dcap-qvl sample
 * quote (and a tampered twin) concurrently; built with -fsanitize=thread (tests/tsan), where
 * Criterion cannot run. Every result must equal the single-threaded one, and TSan must stay quiet.
 *     threads QUOTE COLLATERAL_JSON */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crabbox/verifier.h"
#include "testutil.h"

#define DCAP_QVL_AT 1752919234
#define NUM_THREADS 8
#define ROUNDS 6

typedef struct worker {
    int *race; /* run.sh's self-test: an unsynchronised counter TSan must report */
    const cba_collateral *coll;
    const cba_policy *policy;
    const tu_buf *good, *bad;
    int ok, rejected, wrong;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    cba_evidence ev;
    cba_report *r = malloc(sizeof *r);
    if (r == NULL) {
        w->wrong = ROUNDS;
        return NULL;
    }
    if (w->race != NULL) { ++*w->race; }
    for (int i = 0; i < ROUNDS; i++) {
        const tu_buf *q = i % 3 == 2 ? w->bad : w->good;
        cba_err rc;
        cba_evidence_init(&ev);
        ev.quote = q->data;
        ev.quote_len = q->len;
        cba_report_init(r);
        rc = cba_verify_with(r, w->policy, w->coll, &ev, DCAP_QVL_AT);
        if (q == w->good && rc == CBA_OK && r->tcb_status == CBA_TCB_UP_TO_DATE) {
            w->ok++;
        } else if (q == w->bad && rc == CBA_E_QUOTE_SIGNATURE) {
            w->rejected++;
        } else {
            w->wrong++;
        }
    }
    free(r);
    cba_thread_cleanup();
    return NULL;
}

int main(int argc, char **argv)
{
    tu_buf quote, bad, coll;
    cba_policy p;
    cba_report r;
    cba_collateral *c = NULL;
    pthread_t th[NUM_THREADS];
    worker w[NUM_THREADS];
    int failures = 0, counter = 0;
    bool self_test = getenv("CBA_TSAN_SELF_TEST") != NULL;

    if (argc != 3 || !tu_read_file(argv[1], &quote) || !tu_read_file(argv[1], &bad) ||
        !tu_read_file(argv[2], &coll)) {
        fprintf(stderr, "usage: threads QUOTE COLLATERAL_JSON (readable files)\n");
        return 2;
    }
    bad.data[200] ^= 1;
    cba_policy_init(&p);
    p.one_shot = false;
    cba_report_init(&r);
    if (cba_collateral_verify(&c, &r, &p, coll.data, coll.len, DCAP_QVL_AT) != CBA_OK) {
        fprintf(stderr, "collateral: %s\n", r.error.detail);
        return 1;
    }
    for (int i = 0; i < NUM_THREADS; i++) {
        w[i] = (worker){ .race = self_test ? &counter : NULL, .coll = c, .policy = &p, .good = &quote,
                         .bad = &bad };
        if (pthread_create(&th[i], NULL, work, &w[i]) != 0) { return 1; }
    }
    for (int i = 0; i < NUM_THREADS; i++) {
        if (pthread_join(th[i], NULL) != 0) { return 1; }
        if (w[i].wrong != 0 || w[i].ok != ROUNDS - ROUNDS / 3 || w[i].rejected != ROUNDS / 3) {
            fprintf(stderr, "thread %d: %d verified, %d rejected, %d wrong\n", i, w[i].ok, w[i].rejected,
                    w[i].wrong);
            failures++;
        }
    }
    cba_collateral_free(c);
    cba_thread_cleanup();
    tu_buf_free(&quote);
    tu_buf_free(&bad);
    tu_buf_free(&coll);
    printf("%d threads x %d verifications against one collateral: %s\n", NUM_THREADS, ROUNDS,
           failures == 0 ? "all as expected" : "WRONG RESULTS");
    return failures == 0 ? 0 : 1;
}
