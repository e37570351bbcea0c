/* url.c — which PCS/PCCS URLs collateral fetching accepts (crabbox/collateral.h, opts.base_url):
 * https://, and plain http:// only to loopback hosts, so a test PCCS can run on 127.0.0.1 without
 * a certificate while a network attacker cannot downgrade a real one. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fetch_internal.h"

static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char inner[64];
    size_t n = strlen(host);
    if (strcasecmp(host, "localhost") == 0) { return true; } /* curl resolves it to loopback itself */
    if (inet_pton(AF_INET, host, &a4) == 1) { return (ntohl(a4.s_addr) >> 24) == 127; }
    if (n >= 2 && n - 2 < sizeof inner && host[0] == '[' && host[n - 1] == ']') {
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        return inet_pton(AF_INET6, inner, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return false;
}

bool attest_check_url(const curl_api *cu, const char *url, bool base, bool *out_http, bool *out_loopback, bool *out_intel,
                      char *err, size_t err_len)
{
    CURLU *u = cu->url();
    char *scheme = NULL, *host = NULL, *extra = NULL;
    bool ok = false;
    if (u == NULL) {
        snprintf(err, err_len, "out of memory");
        return false;
    }
    if (strlen(url) >= ATTEST_MAX_URL / 2 || cu->url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        cu->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        cu->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(err, err_len, "'%.200s' is not a valid URL (want https://HOST[:PORT][/PATH])", url);
        goto out;
    }
    if (base && (cu->url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
                 cu->url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK)) {
        snprintf(err, err_len, "'%.200s': a PCCS base URL takes no query or fragment", url);
        goto out;
    }
    *out_intel = strcasecmp(host, "api.trustedservices.intel.com") == 0;
    *out_loopback = host_is_loopback(host);
    if (strcasecmp(scheme, "https") == 0) {
        *out_http = false;
        ok = true;
    } else if (strcasecmp(scheme, "http") == 0) {
        /* Plain HTTP carries no authentication; collateral is signed, but a network attacker could
         * still withhold or replay it. Only a loopback server (tests, a local PCCS) is allowed. */
        if (!*out_loopback) {
            snprintf(err, err_len,
                     "refusing plain http:// to '%.100s': only loopback hosts (127.0.0.0/8, localhost, "
                     "[::1]) may use http; use https://",
                     host);
            goto out;
        }
        *out_http = true;
        ok = true;
    } else {
        snprintf(err, err_len, "'%.200s': unsupported URL scheme '%.20s' (want https://)", url, scheme);
    }
out:
    cu->free(scheme);
    cu->free(host);
    cu->free(extra);
    cu->url_cleanup(u);
    return ok;
}

bool fetch_normalize_base_url(const char *in, char *out, size_t out_len)
{
    static const char *const k_suffixes[] = { "/sgx/certification/v4", "/tdx/certification/v4",
                                              "/sgx/certification/v3", "/tdx/certification/v3" };
    size_t n = strlen(in);
    bool scheme = strstr(in, "://") != NULL; /* any scheme: attest_check_url refuses all but http(s) */
    int w;
    while (n > 0 && in[n - 1] == '/') { n--; }
    for (size_t i = 0; i < sizeof k_suffixes / sizeof k_suffixes[0]; i++) {
        size_t sl = strlen(k_suffixes[i]);
        if (n > sl && strncmp(in + n - sl, k_suffixes[i], sl) == 0) {
            n -= sl;
            break;
        }
    }
    while (n > 0 && in[n - 1] == '/') { n--; }
    if (n == 0 || strchr(in, '\n') != NULL || strchr(in, ' ') != NULL) { return false; }
    w = snprintf(out, out_len, "%s%.*s", scheme ? "" : "https://", (int)n, in);
    return w > 0 && (size_t)w < out_len;
}
