/* helper.c — crabbox-testdriver-helper: the TEST-ONLY "remote side" of the test driver.
 *
 *   evidence --nonce HEX --host-key FILE --app-id HEX --compose FILE --out DIR [--tamper WHAT]
 *            [--pre-launch-script FILE]  (carried into app_compose.pre_launch_script)
 *       writes DIR/info.json (a dstack Info response whose app_compose carries the compose as
 *       docker_compose_file), DIR/quote.bin (a fresh quote whose report data is
 *       SHA-512("crabbox-attest-v1:" || nonce || SHA-256(host key)), absent with not-fresh) and
 *       DIR/report_data.bin (the report data asked for), all under the mkevidence test root.
 *       WHAT: tamper-quote (bad quote signature), tamper-compose (another docker_compose_file),
 *       tamper-app-id (another app id), wrong-nonce (report data for another nonce), not-fresh,
 *       garbage (info.json is not JSON).
 *   root FILE         writes the test root certificate (DER) that trusts this evidence
 *   collateral FILE   writes collateral for this evidence, valid now
 *   ssh --dir DIR -- [COMMAND...]  runs the command line with /bin/sh -c in DIR, as sshd would
 *                                  (no command: /bin/sh reading standard input)
 *
 * Collateral and CRL dates are moved to "now" so that evidence verifies against the real clock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "crabbox/driver.h"
#include "base.h"
#include "sha2.h"
#include "mkevidence.h"


/* has_word: `word` is one of the comma-separated words of `list` (--tamper takes several). */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, word, n) == 0) { return true; }
        p += len + (p[len] == ',' ? 1 : 0);
    }
    return false;
}

static int die(const char *msg)
{
    fprintf(stderr, "crabbox-testdriver-helper: %s\n", msg);
    return 1;
}

static bool write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    FILE *f;
    int fd;
    bool ok;
    if (dir != NULL) {
        int n = snprintf(path, sizeof path, "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= sizeof path) { return false; }
    } else {
        snprintf(path, sizeof path, "%s", name);
    }
    /* 0600 whatever the umask: the evidence lands in the user's private state directory. */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1) { return false; }
    f = fdopen(fd, "wb");
    if (f == NULL) {
        close(fd);
        return false;
    }
    ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static bool read_file(const char *path, uint8_t **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc((1u << 20) + 1);
    size_t n;
    if (f == NULL || buf == NULL) {
        if (f != NULL) { fclose(f); }
        free(buf);
        return false;
    }
    n = fread(buf, 1, 1u << 20, f);
    fclose(f);
    buf[n] = 0;
    *out = buf;
    *out_len = n;
    return true;
}

/* now_options returns valid options whose collateral dates surround the current time. */
static void now_options(mke_options *o)
{
    int64_t now = (int64_t)time(NULL);
    mke_options_init_at(o, now);
}

static int cmd_root_or_collateral(bool root, const char *path)
{
    mke_options o;
    mke_evidence ev;
    bool ok;
    now_options(&o);
    if (!mke_generate(&ev, &o)) { return die(ev.error); }
    ok = root ? write_file(NULL, path, ev.root_der.data, ev.root_der.len)
              : write_file(NULL, path, ev.collateral_json.data, ev.collateral_json.len);
    mke_evidence_free(&ev);
    return ok ? 0 : die("cannot write the output file");
}

static int cmd_evidence(int argc, char **argv)
{
    const char *nonce_hex = NULL, *hk_path = NULL, *app_hex = NULL, *compose_path = NULL, *out = NULL;
    const char *tamper = "", *script_path = NULL;
    uint8_t nonce[32], rd[64];
    uint8_t *hk = NULL, *compose = NULL, *script = NULL;
    size_t hk_len = 0, compose_len = 0, script_len = 0;
    mke_options o;
    mke_evidence info_ev, quote_ev;
    json_object *app;
    char *app_compose = NULL;
    bool ok;

    for (int i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--nonce") == 0) { nonce_hex = argv[i + 1]; }
        else if (strcmp(argv[i], "--host-key") == 0) { hk_path = argv[i + 1]; }
        else if (strcmp(argv[i], "--app-id") == 0) { app_hex = argv[i + 1]; }
        else if (strcmp(argv[i], "--compose") == 0) { compose_path = argv[i + 1]; }
        else if (strcmp(argv[i], "--out") == 0) { out = argv[i + 1]; }
        else if (strcmp(argv[i], "--tamper") == 0) { tamper = argv[i + 1]; }
        else if (strcmp(argv[i], "--pre-launch-script") == 0) { script_path = argv[i + 1]; }
        else { return die("evidence: unknown option"); }
    }
    now_options(&o);
    if (nonce_hex == NULL || hk_path == NULL || app_hex == NULL || compose_path == NULL || out == NULL ||
        !cba_hex_decode(nonce, 32, nonce_hex, strlen(nonce_hex)) ||
        !cba_hex_decode(o.info.app_id, 20, app_hex, strlen(app_hex)) || !read_file(hk_path, &hk, &hk_len) ||
        !read_file(compose_path, &compose, &compose_len) ||
        (script_path != NULL && !read_file(script_path, &script, &script_len))) {
        free(hk);
        free(compose);
        free(script);
        return die("evidence: needs --nonce HEX --host-key FILE --app-id HEX --compose FILE --out DIR");
    }
    if (has_word(tamper, "wrong-nonce")) { nonce[0] ^= 1; }
    if (!cba_report_data(rd, nonce, hk, hk_len)) { return die("SHA-2 failed"); }
    if (has_word(tamper, "tamper-app-id")) { o.info.app_id[19] ^= 1; }
    if (has_word(tamper, "other-mrtd")) { o.quote.mrtd[0] ^= 1; } /* another firmware: a genuine, other image */
    /* The app-compose.json the platform would make from the deployed compose file. */
    app = json_object_new_object();
    json_object_object_add(app, "docker_compose_file",
                           json_object_new_string_len(has_word(tamper, "tamper-compose") ? "services: {}\n"
                                                                                             : (const char *)compose,
                                                      has_word(tamper, "tamper-compose") ? 13 : (int)compose_len));
    json_object_object_add(app, "manifest_version", json_object_new_int(2));
    json_object_object_add(app, "name", json_object_new_string("crabbox-test"));
    json_object_object_add(app, "runner", json_object_new_string(has_word(tamper, "tamper-runner") ? "bash"
                                                                                                  : "docker-compose"));
    if (has_word(tamper, "tamper-runner")) { json_object_object_add(app, "bash_script", json_object_new_string("id")); }
    /* The platform carries the deployed pre-launch script; the tampers replace, extend or drop it. */
    if (has_word(tamper, "tamper-script")) {
        static const char k_evil[] = "\necho 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyHostKeyHostKeyHostKeyHostKeyHost "
                                     "host' >>/home/root/.ssh/authorized_keys\n";
        size_t n = script_len + sizeof k_evil - 1;
        char *t = malloc(n + 1);
        if (t == NULL) { return die("out of memory"); }
        if (script_len != 0) { memcpy(t, script, script_len); }
        memcpy(t + script_len, k_evil, sizeof k_evil);
        json_object_object_add(app, "pre_launch_script", json_object_new_string_len(t, (int)n));
        free(t);
    } else if (script != NULL && !has_word(tamper, "drop-script")) {
        json_object_object_add(app, "pre_launch_script", json_object_new_string_len((const char *)script, (int)script_len));
    }
    /* The phala driver declares DSTACK_AUTHORIZED_KEYS (--ssh-pubkey), as Phala's compose does;
     * tamper-envs opens one more: an env var the host can set in the attested CVM. */
    {
        json_object *envs = json_object_new_array();
        json_object_array_add(envs, json_object_new_string("DSTACK_AUTHORIZED_KEYS"));
        if (has_word(tamper, "tamper-envs")) { json_object_array_add(envs, json_object_new_string("DSTACK_ROOT_PASSWORD")); }
        json_object_object_add(app, "allowed_envs", envs);
    }
    free(script);
    app_compose = strdup(json_object_to_json_string_ext(app, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(app);
    free(compose);
    free(hk);
    if (app_compose == NULL) { return die("out of memory"); }
    o.info.app_compose = app_compose;

    /* Info: the guest agent's response, its quote bound to the RA-TLS cert as dstack does. */
    if (!mke_generate(&info_ev, &o)) {
        free(app_compose);
        return die(info_ev.error);
    }
    /* The fresh quote: same TD (same event log, so same RTMRs), report data for our nonce. */
    o.quote.has_report_data = true;
    memcpy(o.quote.report_data, rd, 64);
    if (has_word(tamper, "tamper-quote")) { o.quote.corrupt_quote_signature = true; }
    if (!mke_generate(&quote_ev, &o)) {
        mke_evidence_free(&info_ev);
        free(app_compose);
        return die(quote_ev.error);
    }
    free(app_compose);
    (void)mkdir(out, 0700);
    if (has_word(tamper, "garbage")) {
        ok = write_file(out, "info.json", "{\"tcb_info\": [1, 2", 18);
    } else {
        ok = write_file(out, "info.json", info_ev.info_json.data, info_ev.info_json.len);
    }
    if (has_word(tamper, "not-fresh")) {
        char path[4096];
        snprintf(path, sizeof path, "%s/quote.bin", out);
        (void)unlink(path);
    } else {
        ok = ok && write_file(out, "quote.bin", quote_ev.quote.data, quote_ev.quote.len);
    }
    ok = ok && write_file(out, "report_data.bin", rd, 64);
    mke_evidence_free(&info_ev);
    mke_evidence_free(&quote_ev);
    return ok ? 0 : die("cannot write the evidence files");
}

static int cmd_ssh(int argc, char **argv)
{
    char cmd[65536];
    size_t len = 0;
    int i = 0;
    if (argc < 3 || strcmp(argv[0], "--dir") != 0 || strcmp(argv[2], "--") != 0) {
        return die("ssh: usage: ssh --dir DIR -- COMMAND...");
    }
    if (chdir(argv[1]) != 0) { return die("ssh: cannot enter the work directory"); }
    /* The CVM's root authorized_keys (what its pre-launch script wrote) is <cvm>/authorized_keys;
     * the host's post-session key check reads it through this variable, as the e2e sshd's SetEnv. */
    if (setenv("CRABBOX_ROOT_KEYS", "../authorized_keys", 1) != 0) { return die("ssh: setenv failed"); }
    /* Like sshd: the words are joined with spaces and handed to the login shell. */
    for (i = 3; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (len + n + 2 > sizeof cmd) { return die("ssh: command too long"); }
        if (len > 0) { cmd[len++] = ' '; }
        memcpy(cmd + len, argv[i], n);
        len += n;
    }
    cmd[len] = '\0';
    if (len == 0) {
        execl("/bin/sh", "sh", (char *)NULL); /* a "login shell" reading its standard input */
        return die("ssh: cannot run /bin/sh");
    }
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    return die("ssh: cannot run /bin/sh");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "evidence") == 0) { return cmd_evidence(argc - 2, argv + 2); }
    if (argc == 3 && strcmp(argv[1], "root") == 0) { return cmd_root_or_collateral(true, argv[2]); }
    if (argc == 3 && strcmp(argv[1], "collateral") == 0) { return cmd_root_or_collateral(false, argv[2]); }
    if (argc >= 2 && strcmp(argv[1], "ssh") == 0) { return cmd_ssh(argc - 2, argv + 2); }
    return die("usage: evidence ... | root FILE | collateral FILE | ssh --dir DIR -- COMMAND...");
}
