/* curl_api.h — libcurl, loaded only when collateral is fetched.
 *
 * Linking libcurl pulls ~30 shared libraries (TLS, LDAP, Kerberos, ...) into every start of
 * crabbox-attest, doubling its start-up time and resident size, while only `collateral fetch` and
 * `verify --pccs` use the network. So the functions are looked up with dlopen/dlsym on first use;
 * the prototypes (and so the types) still come from <curl/curl.h>. */
#ifndef CRABBOX_ATTEST_CURL_API_H
#define CRABBOX_ATTEST_CURL_API_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

typedef struct curl_api {
    void *lib;
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *curl);
    void (*easy_reset)(CURL *curl);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    CURLcode (*easy_perform)(CURL *curl);
    const char *(*easy_strerror)(CURLcode code);
    void (*free)(void *p);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *handle);
    CURLUcode (*url_get)(const CURLU *handle, CURLUPart what, char **part, unsigned int flags);
    CURLUcode (*url_set)(CURLU *handle, CURLUPart what, const char *part, unsigned int flags);
} curl_api;

/* curl_api_open loads libcurl.so.4 and resolves every function; on failure it says why in err. */
bool curl_api_open(curl_api *out, char *err, size_t err_len);
void curl_api_close(curl_api *api); /* NULL-safe */

#endif
