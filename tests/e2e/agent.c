/* agent.c — crabbox-e2e-agent: a TEST-ONLY dstack guest agent for the loopback e2e harness.
 *
 *     crabbox-e2e-agent --socket PATH --cvm-dir DIR
 *
 * Serves HTTP/1.1 on a unix socket (one request per connection, as curl --unix-socket sends):
 *   GET  /Info      a dstack Info response built by the evidence generator (tools/mkevidence,
 *                   test PKI) for the app id in DIR/app_id and the compose in DIR/compose.yml
 *                   (written by the phala CLI double at deploy: PHALA_DOUBLE_CVM_DIR), or verbatim
 *                   the app compose in DIR/app_compose.json when the loopback Phala Cloud API
 *                   (tests/phala-api) wrote one;
 *   POST /GetQuote  {"report_data":"<128 hex>"} -> {"quote":"<hex>","event_log":"<JSON text>",
 *                   "report_data":...,"vm_config":...}: a fresh quote of the same TD carrying exactly
 *                   the requested report data, with the event log sent with it. As on a real CVM, a
 *                   runtime event ("app-started", after system-ready) was emitted after Info: the
 *                   quote's RTMR3 replays only from GetQuote's own log, not from Info's.
 * Errors are what the real agent's RPC server (dstack ra-rpc / prpc) sends: HTTP 400 with
 * {"error": "<message>"}, "NotFound" for a method it does not have.
 * DIR/agent_mode (re-read per request) injects faults: ok (default), tamper-quote (bad quote
 * signature), replay (ignores the requested report data: a quote recorded for another nonce),
 * no-quote (GetQuote is an unknown method: 400 {"error":"NotFound"}), quote-error (GetQuote fails:
 * 400 with the agent's message), stale-quote-log (GetQuote sends Info's log, which does not replay
 * to its quote), cert-pending (Info's app_cert is "", as while the agent still fetches it from the
 * KMS), tamper-compose (Info claims another compose); and for
 * tests/e2e/e2e_faults.py: hang / hang-quote (never answer: Info and GetQuote, or GetQuote only),
 * close / close-quote (close the connection without an answer), garbage / garbage-quote (200
 * with a body that is not JSON). Every request is logged as one line ("Info" or "GetQuote") to
 * DIR/agent.log before it is answered, so a test can tell that an evidence fetch is under way.
 * Each connection is served by a forked child, so a hanging answer blocks nobody else. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "internal.h"
#include "mkevidence.h"
#include "hold.h"

static char *read_small(const char *dir, const char *name, size_t *len)
{
    char path[4096], *buf;
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) { return NULL; }
    buf = malloc(256 * 1024 + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, 256 * 1024, f);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) { *len = n; }
    return buf;
}

static void options_for(mke_options *o, const char *dir, const char *mode, char **app_compose, bool *ok)
{
    int64_t now = (int64_t)time(NULL);
    size_t compose_len = 0;
    char *app_hex = read_small(dir, "app_id", NULL), *compose = read_small(dir, "compose.yml", &compose_len);
    json_object *app;
    mke_options_init_at(o, now);
    *ok = app_hex != NULL && compose != NULL && strlen(app_hex) >= 40 &&
          cba_hex_decode(o->info.app_id, 20, app_hex, 40);
    if (*ok && strcmp(mode, "tamper-compose") != 0 &&
        (*app_compose = read_small(dir, "app_compose.json", NULL)) != NULL) {
        /* The app compose the (fake) platform built from what the real phala CLI sent, exactly:
         * pre_launch_script, public_logs and allowed_envs included (tests/phala-api). */
        o->info.app_compose = *app_compose;
    } else if (*ok) {
        bool tc = strcmp(mode, "tamper-compose") == 0;
        app = json_object_new_object();
        json_object_object_add(app, "docker_compose_file",
                               json_object_new_string_len(tc ? "services: {}\n" : compose,
                                                          tc ? 13 : (int)compose_len));
        json_object_object_add(app, "manifest_version", json_object_new_int(2));
        json_object_object_add(app, "name", json_object_new_string("crabbox-e2e"));
        json_object_object_add(app, "runner", json_object_new_string("docker-compose"));
        *app_compose = strdup(json_object_to_json_string_ext(app, JSON_C_TO_STRING_PLAIN |
                                                                      JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(app);
        o->info.app_compose = *app_compose;
        *ok = *app_compose != NULL;
    }
    free(app_hex);
    free(compose);
}

static void reply(int fd, int status, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, status == 200 ? "OK" : status == 404 ? "Not Found" : "Error", len);
    if (write(fd, head, (size_t)n) != n) { return; }
    while (len > 0) {
        ssize_t w = write(fd, body, len);
        if (w <= 0) { return; }
        body += w;
        len -= (size_t)w;
    }
}

static void handle(int fd, const char *dir)
{
    char req[8192], mode[32] = "ok", *hdr_end, *body, *m;
    size_t got = 0, want;
    long clen = 0;
    mke_options o;
    mke_evidence ev;
    char *app_compose = NULL;
    bool ok;

    for (;;) {
        ssize_t n = read(fd, req + got, sizeof req - 1 - got);
        if (n <= 0) { return; }
        got += (size_t)n;
        req[got] = '\0';
        if ((hdr_end = strstr(req, "\r\n\r\n")) != NULL) { break; }
        if (got == sizeof req - 1) { return; }
    }
    {
        char *cl = strcasestr(req, "\r\nContent-Length:");
        if (cl != NULL && cl < hdr_end) { clen = strtol(cl + 17, NULL, 10); }
    }
    body = hdr_end + 4;
    want = (size_t)(body - req) + (size_t)(clen > 0 && clen < 4096 ? clen : 0);
    while (got < want) {
        ssize_t n = read(fd, req + got, sizeof req - 1 - got);
        if (n <= 0) { return; }
        got += (size_t)n;
    }
    req[got] = '\0';
    if ((m = read_small(dir, "agent_mode", NULL)) != NULL) {
        snprintf(mode, sizeof mode, "%.*s", (int)strcspn(m, "\r\n "), m);
        free(m);
    }
    {
        bool is_quote = strncmp(req, "POST /GetQuote ", 15) == 0;
        char path[4096];
        FILE *lf;
        snprintf(path, sizeof path, "%s/agent.log", dir);
        if ((lf = fopen(path, "a")) != NULL) {
            fprintf(lf, "%s\n", is_quote ? "GetQuote" : "Info");
            fclose(lf);
        }
        if (strcmp(mode, "hang") == 0 || (is_quote && strcmp(mode, "hang-quote") == 0)) {
            /* Never answer, but end with the client: a hang must not outlive the test that
             * provoked it (issue 17 §5). */
            hold_until_peer_closes(fd, 600);
            return;
        }
        if (strcmp(mode, "close") == 0 || (is_quote && strcmp(mode, "close-quote") == 0)) { return; }
        if (strcmp(mode, "garbage") == 0 || (is_quote && strcmp(mode, "garbage-quote") == 0)) {
            reply(fd, 200, "<html>not json\x01\x02</html>", 23);
            return;
        }
    }
    options_for(&o, dir, mode, &app_compose, &ok);
    if (!ok) {
        free(app_compose);
        reply(fd, 500, "{\"error\":\"no CVM identity\"}", 27);
        return;
    }
    if (strncmp(req, "GET /Info ", 10) == 0) {
        if (mke_generate(&ev, &o)) {
            json_object *doc = strcmp(mode, "cert-pending") == 0 ? json_tokener_parse((const char *)ev.info_json.data)
                                                                  : NULL;
            if (doc != NULL) {
                const char *t;
                json_object_object_add(doc, "app_cert", json_object_new_string(""));
                t = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                reply(fd, 200, t, strlen(t));
                json_object_put(doc);
            } else {
                reply(fd, 200, (const char *)ev.info_json.data, ev.info_json.len);
            }
            mke_evidence_free(&ev);
        } else {
            reply(fd, 500, "{}", 2);
        }
    } else if (strncmp(req, "POST /GetQuote ", 15) == 0 && strcmp(mode, "no-quote") == 0) {
        static const char e[] = "{\n  \"error\": \"NotFound\"\n}";
        reply(fd, 400, e, sizeof e - 1);
    } else if (strncmp(req, "POST /GetQuote ", 15) == 0 && strcmp(mode, "quote-error") == 0) {
        static const char e[] = "{\n  \"error\": \"Failed to get quote: tdx_attest_get_quote: device busy\"\n}";
        reply(fd, 400, e, sizeof e - 1);
    } else if (strncmp(req, "POST /GetQuote ", 15) == 0) {
        json_object *doc = json_tokener_parse(body), *rd = NULL;
        const char *hex = NULL;
        if (doc != NULL && json_object_object_get_ex(doc, "report_data", &rd)) { hex = json_object_get_string(rd); }
        o.quote.has_report_data = true;
        if (hex == NULL || strlen(hex) != 128 || !cba_hex_decode(o.quote.report_data, 64, hex, 128)) {
            json_object_put(doc);
            free(app_compose);
            reply(fd, 400, "{\"error\":\"bad report_data\"}", 27);
            return;
        }
        json_object_put(doc);
        if (strcmp(mode, "replay") == 0) { memset(o.quote.report_data, 0x42, 64); }
        if (strcmp(mode, "tamper-quote") == 0) { o.quote.corrupt_quote_signature = true; }
        o.info.format = MKE_INFO_GETQUOTE;
        {
            mke_evidence stale;
            bool stale_ok = true;
            json_object *resp = NULL, *log = NULL;
            if (strcmp(mode, "stale-quote-log") == 0) {
                /* The log of the TD before the runtime event, sent with the quote after it. */
                stale_ok = mke_generate(&stale, &o);
            }
            o.info.post_ready_events[0] =
                (mke_event){ 3, MKE_RUNTIME_EVENT_TYPE, "app-started", (const uint8_t *)"e2e", 3 };
            o.info.num_post_ready_events = 1;
            if (stale_ok && mke_generate(&ev, &o)) {
                resp = json_tokener_parse((const char *)ev.info_json.data);
                if (resp != NULL && strcmp(mode, "stale-quote-log") == 0) {
                    json_object *old = json_tokener_parse((const char *)stale.info_json.data);
                    if (old != NULL && json_object_object_get_ex(old, "event_log", &log)) {
                        json_object_object_add(resp, "event_log", json_object_get(log));
                    }
                    json_object_put(old);
                }
                mke_evidence_free(&ev);
            }
            if (strcmp(mode, "stale-quote-log") == 0 && stale_ok) { mke_evidence_free(&stale); }
            if (resp != NULL) {
                const char *t = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN |
                                                                         JSON_C_TO_STRING_NOSLASHESCAPE);
                reply(fd, 200, t, strlen(t));
                json_object_put(resp);
            } else {
                reply(fd, 500, "{}", 2);
            }
        }
    } else {
        reply(fd, 404, "{\"error\":\"not found\"}", 21);
    }
    free(app_compose);
}

int main(int argc, char **argv)
{
    const char *sock = NULL, *dir = NULL;
    struct sockaddr_un a;
    int lfd;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--socket") == 0) { sock = argv[i + 1]; }
        else if (strcmp(argv[i], "--cvm-dir") == 0) { dir = argv[i + 1]; }
    }
    if (sock == NULL || dir == NULL || strlen(sock) >= sizeof a.sun_path) {
        fprintf(stderr, "usage: crabbox-e2e-agent --socket PATH --cvm-dir DIR\n");
        return 2;
    }
    (void)signal(SIGPIPE, SIG_IGN);
    (void)signal(SIGCHLD, SIG_IGN); /* children are reaped automatically */
    (void)unlink(sock);
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, sock, strlen(sock));
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 16) != 0) {
        fprintf(stderr, "crabbox-e2e-agent: cannot listen on %s: %s\n", sock, strerror(errno));
        return 1;
    }
    (void)chmod(sock, 0666);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) { continue; }
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            handle(fd, dir);
            close(fd);
            _exit(0);
        }
        if (pid < 0) { handle(fd, dir); } /* cannot fork: serve it here */
        close(fd);
    }
}
