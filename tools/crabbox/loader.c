/* loader.c — see loader.h. */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"

/* Aliases known without loading anything (phala-provider.md §1); others are found by scanning. */
static const struct { const char *alias, *name; } k_known_aliases[] = {
    { "phala-cloud", "phala" },
    { "dstack", "phala" },
    { "testdriver", "test" },
};

/* Owned by root or us, and not writable by group/others (a root-owned sticky directory is
 * accepted for parents, see loader.h). Returns NULL when fine, else the reason. */
static const char *unsafe_reason(const struct stat *st, uid_t uid, bool is_parent)
{
    if (st->st_uid != 0 && st->st_uid != uid) { return "is owned by another user"; }
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        if (is_parent && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) != 0 && st->st_uid == 0) { return NULL; }
        return (st->st_mode & S_IWOTH) != 0 ? "is world-writable" : "is group-writable";
    }
    return NULL;
}

int loader_check_path(const char *path, uid_t uid, char *resolved, size_t resolved_len, crabbox_err *err)
{
    char buf[PATH_MAX];
    struct stat st;
    const char *why;
    char *slash;

    if (path == NULL || path[0] != '/') {
        return cbx_set_err(err, CRABBOX_E_USAGE, "refusing driver %s: not an absolute path", path != NULL ? path : "(null)");
    }
    if (realpath(path, buf) == NULL) {
        int e = errno;
        return cbx_set_err(err, e == ENOENT ? CRABBOX_E_NOT_FOUND : CRABBOX_E_USAGE, "driver %s: %s", path,
                           strerror(e));
    }
    if (stat(buf, &st) != 0) { return cbx_set_err(err, CRABBOX_E_USAGE, "driver %s: %s", path, strerror(errno)); }
    if (!S_ISREG(st.st_mode)) { return cbx_set_err(err, CRABBOX_E_USAGE, "refusing driver %s: not a regular file", buf); }
    if ((why = unsafe_reason(&st, uid, false)) != NULL) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "refusing driver %s: the file %s", buf, why);
    }
    if (strlen(buf) >= resolved_len) { return cbx_set_err(err, CRABBOX_E_USAGE, "driver %s: path too long", buf); }
    memcpy(resolved, buf, strlen(buf) + 1);
    /* Every directory up to the root: whoever can write one of them can swap the plugin. */
    for (;;) {
        slash = strrchr(buf, '/');
        if (slash == NULL) { break; }
        if (slash == buf) {
            buf[1] = '\0';
        } else {
            *slash = '\0';
        }
        if (stat(buf, &st) != 0) {
            return cbx_set_err(err, CRABBOX_E_USAGE, "driver %s: %s: %s", resolved, buf, strerror(errno));
        }
        if ((why = unsafe_reason(&st, uid, true)) != NULL) {
            return cbx_set_err(err, CRABBOX_E_USAGE, "refusing driver %s: the directory %s %s", resolved, buf, why);
        }
        if (strcmp(buf, "/") == 0) { break; }
    }
    return CRABBOX_OK;
}

#define REQUIRED_MEMBERS(X)                                                                        \
    X(open) X(close) X(warmup) X(fetch_evidence) X(open_session) X(list) X(destroy) X(doctor)     \
    X(cleanup) X(lease_free) X(lease_list_free) X(evidence_free) X(session_free)

static int check_descriptor(const crabbox_driver *d, const char *path, crabbox_err *err)
{
    const size_t need = offsetof(crabbox_driver, session_free) + sizeof d->session_free;
    if (d->abi_version != CRABBOX_DRIVER_ABI_VERSION) {
        return cbx_set_err(err, CRABBOX_E_ABI, "refusing driver %s: ABI version %u, expected %u", path,
                           d->abi_version, CRABBOX_DRIVER_ABI_VERSION);
    }
    if (d->struct_size < need) {
        return cbx_set_err(err, CRABBOX_E_ABI,
                           "refusing driver %s: descriptor struct_size %u is too small (ABI %u needs at least %zu)",
                           path, d->struct_size, CRABBOX_DRIVER_ABI_VERSION, need);
    }
    if (d->name == NULL || d->name[0] == '\0') {
        return cbx_set_err(err, CRABBOX_E_ABI, "refusing driver %s: the descriptor has no name", path);
    }
#define CHECK_MEMBER(m)                                                                            \
    if (d->m == NULL) {                                                                            \
        return cbx_set_err(err, CRABBOX_E_ABI, "refusing driver %s: required function %s is missing", path, #m); \
    }
    REQUIRED_MEMBERS(CHECK_MEMBER)
#undef CHECK_MEMBER
    return CRABBOX_OK;
}

int loader_open_file(loaded_driver *out, const char *path, crabbox_err *err)
{
    char resolved[PATH_MAX];
    crabbox_driver_entry_fn *entry;
    const crabbox_driver *d;
    void *dl, *sym;
    int rc;

    memset(out, 0, sizeof *out);
    rc = loader_check_path(path, geteuid(), resolved, sizeof resolved, err);
    if (rc != CRABBOX_OK) { return rc; }
    (void)dlerror();
    dl = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *e = dlerror();
        return cbx_set_err(err, CRABBOX_E_ABI, "refusing driver %s: cannot load it: %s", resolved,
                           e != NULL ? e : "dlopen failed");
    }
    sym = dlsym(dl, CRABBOX_DRIVER_ENTRY);
    if (sym == NULL) {
        dlclose(dl);
        return cbx_set_err(err, CRABBOX_E_ABI, "refusing driver %s: it does not export %s", resolved,
                           CRABBOX_DRIVER_ENTRY);
    }
    /* POSIX guarantees that a dlsym result converts to a function pointer. */
    memcpy(&entry, &sym, sizeof entry);
    d = entry(CRABBOX_DRIVER_ABI_VERSION);
    if (d == NULL) {
        dlclose(dl);
        return cbx_set_err(err, CRABBOX_E_ABI, "refusing driver %s: it cannot serve host ABI version %u", resolved,
                           CRABBOX_DRIVER_ABI_VERSION);
    }
    rc = check_descriptor(d, resolved, err);
    if (rc != CRABBOX_OK) {
        dlclose(dl);
        return rc;
    }
    out->dl = dl;
    out->d = d;
    memcpy(out->path, resolved, strlen(resolved) + 1);
    return CRABBOX_OK;
}

void loader_close(loaded_driver *ld)
{
    if (ld == NULL || ld->dl == NULL) { return; }
    dlclose(ld->dl);
    ld->dl = NULL;
    ld->d = NULL;
}

bool loader_matches(const crabbox_driver *d, const char *provider)
{
    if (strcasecmp(d->name, provider) == 0) { return true; }
    for (size_t i = 0; d->aliases != NULL && d->aliases[i] != NULL; i++) {
        if (strcasecmp(d->aliases[i], provider) == 0) { return true; }
    }
    return false;
}

static bool valid_provider(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > 32) { return false; }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)p[i]) && p[i] != '-' && p[i] != '_') { return false; }
    }
    return true;
}

/* Walks search_path's absolute directories, then install_dir, calling fn until it returns true. */
static bool for_each_dir(const char *search_path, const char *install_dir,
                         bool (*fn)(void *arg, const char *dir), void *arg)
{
    const char *p = search_path != NULL ? search_path : "";
    while (*p != '\0') {
        const char *colon = strchr(p, ':');
        size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && n < PATH_MAX && p[0] == '/') {
            char dir[PATH_MAX];
            memcpy(dir, p, n);
            dir[n] = '\0';
            if (fn(arg, dir)) { return true; }
        }
        p += n + (colon != NULL ? 1 : 0);
    }
    return install_dir != NULL && fn(arg, install_dir);
}

typedef struct find_ctx {
    const char *file_name; /* crabbox-driver-<name>.so, or NULL when scanning */
    const char *provider;
    loaded_driver *out;
    crabbox_err *err;
    int rc;
    bool found;
} find_ctx;

static bool try_exact(void *arg, const char *dir)
{
    find_ctx *f = arg;
    char path[PATH_MAX];
    if (!cbx_path_join(path, sizeof path, dir, f->file_name) || access(path, F_OK) != 0) { return false; }
    f->found = true;
    f->rc = loader_open_file(f->out, path, f->err);
    if (f->rc == CRABBOX_OK && !loader_matches(f->out->d, f->provider)) {
        f->rc = cbx_set_err(f->err, CRABBOX_E_ABI, "refusing driver %s: it calls itself \"%s\", not \"%s\"",
                            f->out->path, f->out->d->name, f->provider);
        loader_close(f->out);
    }
    return true; /* a file that exists decides, loaded or refused */
}

static bool try_scan(void *arg, const char *dir)
{
    find_ctx *f = arg;
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL) { return false; }
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name), pl = strlen(LOADER_FILE_PREFIX), sl = strlen(LOADER_FILE_SUFFIX);
        char path[PATH_MAX];
        crabbox_err ignored;
        if (n <= pl + sl || strncmp(e->d_name, LOADER_FILE_PREFIX, pl) != 0 ||
            strcmp(e->d_name + n - sl, LOADER_FILE_SUFFIX) != 0 || !cbx_path_join(path, sizeof path, dir, e->d_name)) {
            continue;
        }
        /* Files that are refused here are simply not candidates; an exact match reports them. */
        if (loader_open_file(f->out, path, &ignored) != CRABBOX_OK) { continue; }
        if (loader_matches(f->out->d, f->provider)) {
            closedir(d);
            f->found = true;
            f->rc = CRABBOX_OK;
            return true;
        }
        loader_close(f->out);
    }
    closedir(d);
    return false;
}

int loader_find(loaded_driver *out, const char *provider, const char *search_path, const char *install_dir,
                crabbox_err *err)
{
    char lower[40], file[80];
    const char *name;
    find_ctx f = { .provider = provider, .out = out, .err = err, .rc = CRABBOX_E_NOT_FOUND };

    memset(out, 0, sizeof *out);
    if (provider == NULL || !valid_provider(provider)) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "invalid provider name \"%.40s\"", provider != NULL ? provider : "");
    }
    for (size_t i = 0; provider[i] != '\0'; i++) { lower[i] = (char)tolower((unsigned char)provider[i]); }
    lower[strlen(provider)] = '\0';
    name = lower;
    for (size_t i = 0; i < sizeof k_known_aliases / sizeof k_known_aliases[0]; i++) {
        if (strcmp(lower, k_known_aliases[i].alias) == 0) { name = k_known_aliases[i].name; }
    }
    snprintf(file, sizeof file, LOADER_FILE_PREFIX "%s" LOADER_FILE_SUFFIX, name);
    f.file_name = file;
    if (for_each_dir(search_path, install_dir, try_exact, &f)) { return f.rc; }
    if (for_each_dir(search_path, install_dir, try_scan, &f)) { return f.rc; }
    return cbx_set_err(err, CRABBOX_E_USAGE,
                       "no driver for provider \"%s\": looked for %s in CRABBOX_DRIVER_PATH and %s", provider, file,
                       install_dir != NULL ? install_dir : "(no install directory)");
}

typedef struct exists_ctx {
    char file[80];
} exists_ctx;

static bool file_exists_in(void *arg, const char *dir)
{
    exists_ctx *x = arg;
    char path[PATH_MAX];
    return cbx_path_join(path, sizeof path, dir, x->file) && access(path, F_OK) == 0;
}

bool loader_driver_exists(const char *name, const char *search_path, const char *install_dir)
{
    exists_ctx x;
    if (!valid_provider(name)) { return false; }
    snprintf(x.file, sizeof x.file, LOADER_FILE_PREFIX "%s" LOADER_FILE_SUFFIX, name);
    return for_each_dir(search_path, install_dir, file_exists_in, &x);
}
