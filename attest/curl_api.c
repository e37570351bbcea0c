/* curl_api.c — see curl_api.h. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "curl_api.h"

/* dlsym returns data pointers; POSIX guarantees they convert to function pointers. */
#define RESOLVE(field, symbol)                                                                  \
    do {                                                                                        \
        void *sym_ = dlsym(out->lib, symbol);                                                   \
        if (sym_ == NULL) {                                                                     \
            snprintf(err, err_len, "libcurl lacks %s", symbol);                                 \
            curl_api_close(out);                                                                \
            return false;                                                                       \
        }                                                                                       \
        memcpy(&out->field, &sym_, sizeof sym_);                                                \
    } while (0)

bool curl_api_open(curl_api *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    out->lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (out->lib == NULL) {
        const char *why = dlerror();
        snprintf(err, err_len, "cannot load libcurl (install libcurl4): %s", why ? why : "unknown");
        return false;
    }
    RESOLVE(global_init, "curl_global_init");
    RESOLVE(global_cleanup, "curl_global_cleanup");
    RESOLVE(easy_init, "curl_easy_init");
    RESOLVE(easy_cleanup, "curl_easy_cleanup");
    RESOLVE(easy_reset, "curl_easy_reset");
    RESOLVE(easy_setopt, "curl_easy_setopt");
    RESOLVE(easy_getinfo, "curl_easy_getinfo");
    RESOLVE(easy_perform, "curl_easy_perform");
    RESOLVE(easy_strerror, "curl_easy_strerror");
    RESOLVE(free, "curl_free");
    RESOLVE(url, "curl_url");
    RESOLVE(url_cleanup, "curl_url_cleanup");
    RESOLVE(url_get, "curl_url_get");
    RESOLVE(url_set, "curl_url_set");
    return true;
}

void curl_api_close(curl_api *api)
{
    if (api != NULL && api->lib != NULL) {
        dlclose(api->lib);
        memset(api, 0, sizeof *api);
    }
}
