/* test_phala_data.c — the data plane's pure helpers: report data, base64, known_hosts lines,
 * host:port overrides. The network paths are covered by integration.phala_tunnel and
 * e2e.phala_loopback (tests/e2e). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha2.h"
#include "phala.h"

TestSuite(phala_data, .timeout = 30);

Test(phala_data, report_data_is_the_abi_formula)
{
    const uint8_t key[] = { 0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 1, 7 };
    uint8_t nonce[32], rd[64], rd2[64], kh[32], want[64];
    const cbs kp = cbs_make(key, sizeof key);
    cbs parts[3];
    for (int i = 0; i < 32; i++) { nonce[i] = (uint8_t)(i * 7 + 1); }
    cr_assert(cba_sha256(kh, &kp, 1));
    parts[0] = cbs_make((const uint8_t *)"crabbox-attest-v1:", 18);
    parts[1] = cbs_make(nonce, 32);
    parts[2] = cbs_make(kh, 32);
    cr_assert(cba_sha512(want, parts, 3));
    phala_report_data(rd, nonce, key, sizeof key);
    cr_assert_arr_eq(rd, want, 64);
    /* Another host key or another nonce gives other report data. */
    phala_report_data(rd2, nonce, key, sizeof key - 1);
    cr_assert_arr_neq(rd, rd2, 64);
    nonce[31] ^= 1;
    phala_report_data(rd2, nonce, key, sizeof key);
    cr_assert_arr_neq(rd, rd2, 64);
}

Test(phala_data, base64_is_strict)
{
    uint8_t out[16];
    size_t n = 0;
    cr_assert(phala_base64_decode("aGVsbG8=", 8, out, sizeof out, &n));
    cr_assert_eq(n, 5);
    cr_assert_arr_eq(out, "hello", 5);
    cr_assert(phala_base64_decode("aGk=", 4, out, sizeof out, &n) && n == 2);
    cr_assert(phala_base64_decode("aA==", 4, out, sizeof out, &n) && n == 1 && out[0] == 'h');
    cr_assert(phala_base64_decode("YWJj", 4, out, sizeof out, &n) && n == 3);
    cr_assert_not(phala_base64_decode("", 0, out, sizeof out, &n));
    cr_assert_not(phala_base64_decode("aGVsbG8", 7, out, sizeof out, &n));   /* unpadded */
    cr_assert_not(phala_base64_decode("aGV*bG8=", 8, out, sizeof out, &n));  /* bad char */
    cr_assert_not(phala_base64_decode("aGk9", 4, out, 2, &n));                 /* over cap */
    cr_assert_not(phala_base64_decode("aGl=", 4, out, sizeof out, &n));      /* non-canonical */
    cr_assert_not(phala_base64_decode("a===", 4, out, sizeof out, &n));
    cr_assert_not(phala_base64_decode("aA==aA==", 8, out, sizeof out, &n));  /* pad inside */
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(phala_data, known_hosts_key_by_name)
{
    char path[] = "/tmp/phala-kh-XXXXXX";
    int fd = mkstemp(path);
    uint8_t *blob = NULL;
    size_t len = 0;
    crabbox_err err;
    cr_assert(fd >= 0);
    close(fd);
    write_text(path, "cbx_000000000000 ssh-ed25519 AAAA\n"
                     "cbx_0123456789ab ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n");
    cr_assert_eq(phala_known_hosts_key(path, "cbx_0123456789ab", &blob, &len, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_eq(len, 51);
    cr_assert_arr_eq(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
    free(blob);
    /* A prefix of the name is not the name. */
    cr_assert_eq(phala_known_hosts_key(path, "cbx_0123456789a", &blob, &len, &err), CRABBOX_E_ATTESTATION);
    cr_assert_null(blob);
    write_text(path, "cbx_0123456789ab ssh-ed25519 !!!!\n");
    cr_assert_eq(phala_known_hosts_key(path, "cbx_0123456789ab", &blob, &len, &err), CRABBOX_E_ATTESTATION);
    unlink(path);
    cr_assert_eq(phala_known_hosts_key(path, "cbx_0123456789ab", &blob, &len, &err), CRABBOX_E_ATTESTATION);
    cr_assert_not_null(strstr(err.message, "no pinned host key"));
}

Test(phala_data, host_port_override)
{
    char host[64];
    uint16_t port = 0;
    cr_assert(phala_parse_host_port("127.0.0.1:4433", host, sizeof host, &port));
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 4433);
    cr_assert(phala_parse_host_port("[::1]:443", host, sizeof host, &port));
    cr_assert_str_eq(host, "::1");
    cr_assert_not(phala_parse_host_port("localhost", host, sizeof host, &port));
    cr_assert_not(phala_parse_host_port(":443", host, sizeof host, &port));
    cr_assert_not(phala_parse_host_port("h:", host, sizeof host, &port));
    cr_assert_not(phala_parse_host_port("h:0", host, sizeof host, &port));
    cr_assert_not(phala_parse_host_port("h:65536", host, sizeof host, &port));
    cr_assert_not(phala_parse_host_port("h:99999999999999999999", host, sizeof host, &port));
    cr_assert_not(phala_parse_host_port("h:12a", host, sizeof host, &port));
    cr_assert_not(phala_parse_host_port("[::1:443", host, sizeof host, &port));
    cr_assert_not(phala_parse_host_port("averyveryveryveryveryveryveryveryveryveryveryveryveryverylonghostname:1",
                                        host, 16, &port));
}

Test(phala_data, tls_connect_refuses_bad_input_before_the_network)
{
    phala_tls_opts o;
    phala_tls *t = (phala_tls *)1;
    crabbox_err err;
    memset(&o, 0, sizeof o);
    o.host = "x-22.example.test";
    o.port = 443;
    o.connect_to = "no-port";
    o.connect_timeout_ms = 1000;
    o.handshake_timeout_ms = 1000;
    cr_assert_eq(phala_tls_connect(&o, &t, &err), CRABBOX_E_USAGE);
    cr_assert_null(t);
    o.connect_to = "127.0.0.1:1";
    o.ca_bundle = "/nonexistent/ca.pem";
    cr_assert_eq(phala_tls_connect(&o, &t, &err), CRABBOX_E_USAGE);
    cr_assert_not_null(strstr(err.message, "CA bundle"));
    o.ca_bundle = NULL;
    o.host = "";
    cr_assert_eq(phala_tls_connect(&o, &t, &err), CRABBOX_E_USAGE);
    o.host = "x-22.example.test";
    cr_assert_eq(phala_tls_connect(&o, &t, &err), CRABBOX_E_TRANSIENT, "%s", err.message);
    phala_tls_close(NULL);
}

/* The guest agent's answers (issue 11 §3): curl -w appends the HTTP status; every RPC failure of
 * the real agent (dstack ra-rpc / prpc) is HTTP 400 with {"error": ...}, and only "NotFound" (or a
 * 404 outside the RPC routes) means the method is absent. */
#define AS(lit) (const uint8_t *)(lit), strlen(lit)

Test(phala_data, agent_answer_status_and_errors)
{
    uint8_t ok[] = "{\"quote\":\"00\"}\n200", bad1[] = "{}\n20", bad2[] = "{}\n2x0", bad3[] = "{}200";
    uint8_t empty[] = "\n000";
    size_t bl = 0;
    int http = 0;
    char msg[208];
    cr_assert(phala_agent_answer(ok, sizeof ok - 1, &bl, &http));
    cr_assert_eq(http, 200);
    cr_assert_eq(bl, 14);
    cr_assert_str_eq((char *)ok, "{\"quote\":\"00\"}");
    cr_assert_not(phala_agent_answer(bad1, sizeof bad1 - 1, &bl, &http), "two digits");
    cr_assert_not(phala_agent_answer(bad2, sizeof bad2 - 1, &bl, &http), "not digits");
    cr_assert_not(phala_agent_answer(bad3, sizeof bad3 - 1, &bl, &http), "no newline");
    cr_assert_not(phala_agent_answer(NULL, 0, &bl, &http));
    cr_assert(phala_agent_answer(empty, sizeof empty - 1, &bl, &http));
    cr_assert_eq(bl, 0);
    cr_assert_eq(http, 0);

    /* The real agent's answer for a method it does not have, as served (pretty JSON). */
    cr_assert(phala_agent_error(400, AS("{\n  \"error\": \"NotFound\"\n}"), msg, sizeof msg));
    cr_assert_str_eq(msg, "NotFound");
    cr_assert(phala_agent_error(404, AS("<html>404</html>"), msg, sizeof msg));
    cr_assert_str_eq(msg, "no JSON error message");
    /* A failing call: named, not "no quote call". */
    cr_assert_not(phala_agent_error(400, AS("{\"error\":\"Failed to get quote: busy\"}"), msg,
                                    sizeof msg));
    cr_assert_str_eq(msg, "Failed to get quote: busy");
    cr_assert_not(phala_agent_error(400, AS("{\"error\":\"notfound\"}"), msg, sizeof msg));
    cr_assert_not(phala_agent_error(500, AS("{\"error\":\"NotFound\"}"), msg, sizeof msg),
                  "NotFound is prpc's only with its 400");
    cr_assert_not(phala_agent_error(400, AS(""), msg, sizeof msg));
    cr_assert_str_eq(msg, "no error message");
    cr_assert_not(phala_agent_error(400, AS("{\"error\":5}"), msg, sizeof msg));
    cr_assert_str_eq(msg, "no JSON error message");
    /* Untrusted text: control characters replaced, length bounded. */
    cr_assert_not(phala_agent_error(400, AS("{\"error\":\"a\\u001b[31mb\\nc\"}"), msg, sizeof msg));
    cr_assert_str_eq(msg, "a?[31mb?c");
    {
        char big[600], json[700];
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        snprintf(json, sizeof json, "{\"error\":\"%s\"}", big);
        cr_assert_not(phala_agent_error(400, (const uint8_t *)json, strlen(json), msg, sizeof msg));
        cr_assert_eq(strlen(msg), 200);
    }
}

Test(phala_data, quote_log_from_getquote_response)
{
    uint8_t *log = (uint8_t *)1;
    size_t len = 9;
    crabbox_err e;
    const char *with = "{\"quote\":\"00\",\"event_log\":\"[{\\\"imr\\\":3}]\",\"report_data\":\"\"}";
    cr_assert_eq(phala_quote_log_from_response((const uint8_t *)with, strlen(with), &log, &len, &e), CRABBOX_OK);
    cr_assert_str_eq((char *)log, "[{\"imr\":3}]");
    cr_assert_eq(len, 11);
    free(log);
    cr_assert_eq(phala_quote_log_from_response(AS("{\"quote\":\"00\"}"), &log, &len, &e), CRABBOX_OK);
    cr_assert_null(log, "no log: the Info's serves");
    cr_assert_eq(phala_quote_log_from_response(AS("{\"event_log\":\"\"}"), &log, &len, &e),
                 CRABBOX_OK);
    cr_assert_null(log);
    cr_assert_eq(phala_quote_log_from_response(AS("{\"event_log\":[]}"), &log, &len, &e),
                 CRABBOX_E_MALFORMED);
    cr_assert_null(log);
    cr_assert(strstr(e.message, "event_log") != NULL, "%s", e.message);
    cr_assert_eq(phala_quote_log_from_response(AS("{\"event_log\":\"a\",\"event_log\":\"b\"}"), &log,
                                               &len, &e),
                 CRABBOX_E_MALFORMED, "duplicate keys are not strict JSON");
}
