/* state.c — see state.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

#define CLAIM_MAX_FILE (64u << 10)

static int dir_error(crabbox_err *err, const char *path, int e)
{
    return cbx_set_err(err, CRABBOX_E_FAILED, "state directory %s: %s", path,
                       e == EPERM ? "owned by another user" : strerror(e));
}

/* migrate_lease_dirs moves each lease directory of `from` (the old place under the config
 * directory) into `to`, then removes `from` when it is empty. Only a real directory we own is
 * touched; an entry that exists in both places stays where it is (with a warning). */
static void migrate_lease_dirs(const char *from, const char *to)
{
    struct stat st;
    DIR *d;
    struct dirent *ent;
    size_t moved = 0;
    if (lstat(from, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) { return; }
    d = opendir(from);
    if (d == NULL) { return; }
    while ((ent = readdir(d)) != NULL) {
        char src[PATH_MAX], dst[PATH_MAX];
        struct stat est;
        if (!lease_id_valid(ent->d_name) || !cbx_path_join(src, sizeof src, from, ent->d_name) ||
            !cbx_path_join(dst, sizeof dst, to, ent->d_name) || lstat(src, &est) != 0 || !S_ISDIR(est.st_mode)) {
            continue;
        }
        if (lstat(dst, &est) == 0) {
            fprintf(stderr, "warning: lease directory %s exists in both %s and %s; leaving the old one\n",
                    ent->d_name, from, to);
            continue;
        }
        if (rename(src, dst) == 0) {
            moved++;
        } else if (errno != ENOENT) { /* ENOENT: another crabbox moved it first */
            fprintf(stderr, "warning: cannot move %s to %s: %s\n", src, dst, strerror(errno));
        }
    }
    closedir(d);
    (void)rmdir(from); /* only when empty */
    if (moved > 0) {
        fprintf(stderr, "crabbox: moved %zu lease director%s (keys, known_hosts) from %s to %s\n", moved,
                moved == 1 ? "y" : "ies", from, to);
    }
}

int state_open(state *st, const char *xdg_state_home, const char *xdg_config_home, const char *home,
               crabbox_err *err)
{
    char old_leases[PATH_MAX] = "";
    int e;
    memset(st, 0, sizeof *st);
    st->lock_fd = -1;
    if (xdg_state_home != NULL && xdg_state_home[0] == '/') {
        snprintf(st->root, sizeof st->root, "%s/crabbox", xdg_state_home);
    } else if (home != NULL && home[0] == '/') {
        snprintf(st->root, sizeof st->root, "%s/.local/state/crabbox", home);
    } else {
        return cbx_set_err(err, CRABBOX_E_USAGE, "cannot find the state directory: set HOME or XDG_STATE_HOME");
    }
    /* Lease keys and known_hosts are state (XDG), not configuration: $XDG_STATE_HOME/crabbox/leases.
     * Earlier versions kept them in $XDG_CONFIG_HOME/crabbox/testboxes: moved on first use. */
    if (xdg_config_home != NULL && xdg_config_home[0] == '/') {
        snprintf(old_leases, sizeof old_leases, "%s/crabbox/testboxes", xdg_config_home);
    } else if (home != NULL && home[0] == '/') {
        snprintf(old_leases, sizeof old_leases, "%s/.config/crabbox/testboxes", home);
    }
    if (!cbx_path_join(st->leases, sizeof st->leases, st->root, "leases") ||
        !cbx_path_join(st->claims, sizeof st->claims, st->root, "claims") ||
        !cbx_path_join(st->locks, sizeof st->locks, st->root, "locks") ||
        !cbx_path_join(st->evidence, sizeof st->evidence, st->root, "evidence")) {
        return cbx_set_err(err, CRABBOX_E_USAGE, "state directory path too long");
    }
    const char *dirs[] = { st->root, st->claims, st->locks, st->evidence, st->leases };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        e = cbx_mkdir_private(dirs[i]);
        if (e != 0) { return dir_error(err, dirs[i], e); }
    }
    if (old_leases[0] != '\0') { migrate_lease_dirs(old_leases, st->leases); }
    return CRABBOX_OK;
}

/* open_lock_file opens (creating 0600) a lock file and flocks it; the lock is valid only if the
 * path still names the locked file afterwards (someone may have removed it in between). */
static int open_lock_file(const char *path, int op, int *out_fd)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        struct stat a, b;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) { return errno; }
        while (flock(fd, op) != 0) {
            if (errno == EINTR) { continue; }
            int e = errno;
            close(fd);
            return e;
        }
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            *out_fd = fd;
            return 0;
        }
        close(fd); /* unlinked under us: take the new one */
    }
    return EAGAIN;
}

int state_lock(state *st, bool exclusive, crabbox_err *err)
{
    char path[PATH_MAX];
    int e;
    if (st->lock_fd >= 0) { return CRABBOX_OK; }
    if (!cbx_path_join(path, sizeof path, st->root, "lock")) { return cbx_set_err(err, CRABBOX_E_FAILED, "path too long"); }
    e = open_lock_file(path, exclusive ? LOCK_EX : LOCK_SH, &st->lock_fd);
    if (e != 0) { return cbx_set_err(err, CRABBOX_E_FAILED, "cannot lock %s: %s", path, strerror(e)); }
    return CRABBOX_OK;
}

void state_unlock(state *st)
{
    if (st->lock_fd >= 0) {
        close(st->lock_fd); /* closing releases the flock */
        st->lock_fd = -1;
    }
}

bool lease_id_valid(const char *lease)
{
    if (lease == NULL || strlen(lease) != 16 || strncmp(lease, "cbx_", 4) != 0) { return false; }
    return strspn(lease + 4, "0123456789abcdef") == 12;
}

int lease_lock(state *st, const char *lease, bool exclusive, bool nonblock, int *out_fd, crabbox_err *err)
{
    char path[PATH_MAX];
    int e;
    *out_fd = -1;
    if (!lease_id_valid(lease)) { return cbx_set_err(err, CRABBOX_E_USAGE, "invalid lease id"); }
    if (snprintf(path, sizeof path, "%s/%s.lock", st->locks, lease) >= (int)sizeof path) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    e = open_lock_file(path, (exclusive ? LOCK_EX : LOCK_SH) | (nonblock ? LOCK_NB : 0), out_fd);
    if (e == EWOULDBLOCK) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "lease %s is busy: another crabbox command is using it", lease);
    }
    if (e != 0) { return cbx_set_err(err, CRABBOX_E_FAILED, "cannot lock lease %s: %s", lease, strerror(e)); }
    return CRABBOX_OK;
}

void lease_unlock(state *st, const char *lease, int fd, bool remove)
{
    char path[PATH_MAX];
    if (fd < 0) { return; }
    if (remove && snprintf(path, sizeof path, "%s/%s.lock", st->locks, lease) < (int)sizeof path) {
        (void)unlink(path); /* waiters notice the inode change and retry on a new file */
    }
    close(fd);
}

bool lease_dir_path(const state *st, const char *lease, char *out, size_t out_len)
{
    return lease_id_valid(lease) && cbx_path_join(out, out_len, st->leases, lease);
}

void claim_init(claim *c)
{
    memset(c, 0, sizeof *c);
    c->attested = -1;
    c->attestation_fresh = -1;
}

void claim_set_expiry(claim *c)
{
    int64_t idle = c->last_touched_at + c->idle_timeout_secs, ttl = c->created_at + c->ttl_secs;
    c->expires_at = idle < ttl ? idle : ttl;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

#define CLAIM_STRINGS(X)                                                                           \
    X(lease) X(slug) X(provider) X(class_name) X(server_type) X(state) X(cloud_id) X(name) X(app_id) \
    X(gateway_host) X(status) X(recovery) X(tdx_app_id) X(tdx_compose_hash) X(tdx_mrtd) X(tdx_rtmr3) X(tdx_os_image_hash) \
    X(scope) X(lease_dir) X(compose_sha256) X(bundle) X(ssh_keys) X(measurement_pin) X(measurement_pin_key)
#define CLAIM_INTS(X) X(created_at) X(last_touched_at) X(idle_timeout_secs) X(ttl_secs) X(expires_at)

json_object *claim_to_json(const claim *c)
{
    json_object *o = json_object_new_object();
    if (o == NULL) { return NULL; }
#define ADD_STR(f) json_object_object_add(o, #f, json_object_new_string(c->f));
#define ADD_INT(f) json_object_object_add(o, #f, json_object_new_int64(c->f));
    CLAIM_STRINGS(ADD_STR)
    CLAIM_INTS(ADD_INT)
#undef ADD_STR
#undef ADD_INT
    json_object_object_add(o, "keep", json_object_new_boolean(c->keep));
    json_object_object_add(o, "ephemeral", json_object_new_boolean(c->ephemeral));
    json_object_object_add(o, "attested", c->attested < 0 ? NULL : json_object_new_boolean(c->attested == 1));
    json_object_object_add(o, "attestation_fresh",
                           c->attestation_fresh < 0 ? NULL : json_object_new_boolean(c->attestation_fresh == 1));
    return o;
}

static bool get_str(json_object *o, const char *key, char *out, size_t out_len)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v)) {
        out[0] = '\0';
        return true; /* absent: empty (older claims) */
    }
    if (!json_object_is_type(v, json_type_string) || (size_t)json_object_get_string_len(v) >= out_len) { return false; }
    memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
    return strlen(out) == (size_t)json_object_get_string_len(v); /* no embedded NUL */
}

static bool get_int(json_object *o, const char *key, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v)) {
        *out = 0;
        return true;
    }
    if (!json_object_is_type(v, json_type_int)) { return false; }
    *out = json_object_get_int64(v);
    return true;
}

static bool claim_from_json(json_object *o, claim *c)
{
    json_object *v;
    claim_init(c);
    if (!json_object_is_type(o, json_type_object)) { return false; }
#define GET_STR(f) if (!get_str(o, #f, c->f, sizeof c->f)) { return false; }
#define GET_INT(f) if (!get_int(o, #f, &c->f)) { return false; }
    CLAIM_STRINGS(GET_STR)
    CLAIM_INTS(GET_INT)
#undef GET_STR
#undef GET_INT
    if (json_object_object_get_ex(o, "keep", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) { return false; }
        c->keep = json_object_get_boolean(v);
    }
    if (json_object_object_get_ex(o, "ephemeral", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) { return false; }
        c->ephemeral = json_object_get_boolean(v);
    }
    if (json_object_object_get_ex(o, "attested", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_boolean)) { return false; }
        c->attested = json_object_get_boolean(v) ? 1 : 0;
    }
    if (json_object_object_get_ex(o, "attestation_fresh", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_boolean)) { return false; }
        c->attestation_fresh = json_object_get_boolean(v) ? 1 : 0;
    }
    return lease_id_valid(c->lease);
}

int claim_write(const state *st, const claim *c, crabbox_err *err)
{
    char path[PATH_MAX];
    json_object *o;
    const char *text;
    int e;
    if (!lease_id_valid(c->lease)) { return cbx_set_err(err, CRABBOX_E_FAILED, "claim with an invalid lease id"); }
    if (snprintf(path, sizeof path, "%s/%s.json", st->claims, c->lease) >= (int)sizeof path) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    o = claim_to_json(c);
    if (o == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
    e = text != NULL ? cbx_write_file_atomic(path, text, strlen(text), 0600) : ENOMEM;
    json_object_put(o);
    if (e != 0) { return cbx_set_err(err, CRABBOX_E_FAILED, "cannot write claim %s: %s", path, strerror(e)); }
    return CRABBOX_OK;
}

int claim_parse(const uint8_t *data, size_t len, const char *path, claim *out, crabbox_err *err)
{
    json_tokener *tok;
    json_object *o;
    bool ok;
    if (len > CLAIM_MAX_FILE) { return cbx_set_err(err, CRABBOX_E_MALFORMED, "claim %s is too large", path); }
    tok = json_tokener_new();
    if (tok == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory"); }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, (const char *)data, (int)len);
    ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success && claim_from_json(o, out);
    json_object_put(o);
    json_tokener_free(tok);
    if (!ok) { return cbx_set_err(err, CRABBOX_E_MALFORMED, "malformed claim %s", path); }
    return CRABBOX_OK;
}

static int read_claim_file(const char *path, claim *out, crabbox_err *err)
{
    cbx_buf b;
    int rc, e = cbx_read_file(path, CLAIM_MAX_FILE, true, &b);
    if (e == ENOENT) { return cbx_set_err(err, CRABBOX_E_NOT_FOUND, "no claim %s", path); }
    if (e != 0) { return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read claim %s: %s", path, strerror(e)); }
    rc = claim_parse(b.data, b.len, path, out, err);
    cbx_buf_free(&b);
    return rc;
}

int claim_read(const state *st, const char *lease, claim *out, crabbox_err *err)
{
    char path[PATH_MAX];
    int rc;
    if (!lease_id_valid(lease)) { return cbx_set_err(err, CRABBOX_E_NOT_FOUND, "invalid lease id"); }
    if (snprintf(path, sizeof path, "%s/%s.json", st->claims, lease) >= (int)sizeof path) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    rc = read_claim_file(path, out, err);
    if (rc == CRABBOX_OK && strcmp(out->lease, lease) != 0) {
        return cbx_set_err(err, CRABBOX_E_MALFORMED, "claim %s names another lease", path);
    }
    if (rc == CRABBOX_OK && out->lease_dir[0] != '\0' &&
        !lease_dir_path(st, out->lease, out->lease_dir, sizeof out->lease_dir)) {
        /* the directory is where this state keeps it, whatever an older claim recorded */
        return cbx_set_err(err, CRABBOX_E_MALFORMED, "claim %s: lease directory path too long", path);
    }
    return rc;
}

int claim_remove(const state *st, const char *lease, crabbox_err *err)
{
    char path[PATH_MAX];
    if (!lease_id_valid(lease)) { return cbx_set_err(err, CRABBOX_E_FAILED, "invalid lease id"); }
    if (snprintf(path, sizeof path, "%s/%s.json", st->claims, lease) >= (int)sizeof path) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "path too long");
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        return cbx_set_err(err, CRABBOX_E_FAILED, "cannot remove claim %s: %s", path, strerror(errno));
    }
    return CRABBOX_OK;
}

static int by_created(const void *a, const void *b)
{
    const claim *x = a, *y = b;
    if (x->created_at != y->created_at) { return x->created_at < y->created_at ? -1 : 1; }
    return strcmp(x->lease, y->lease);
}

int claim_list(const state *st, claim **out, size_t *num, crabbox_err *err)
{
    DIR *d = opendir(st->claims);
    struct dirent *e;
    claim *list = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    *num = 0;
    if (d == NULL) { return cbx_set_err(err, CRABBOX_E_FAILED, "cannot read %s: %s", st->claims, strerror(errno)); }
    while ((e = readdir(d)) != NULL) {
        char lease[32], path[PATH_MAX];
        size_t len = strlen(e->d_name);
        crabbox_err ignored;
        claim c;
        /* Only <lease>.json: temporary files of a writer in progress are not claims. */
        if (len != 21 || strcmp(e->d_name + 16, ".json") != 0) { continue; }
        memcpy(lease, e->d_name, 16);
        lease[16] = '\0';
        if (!lease_id_valid(lease) || !cbx_path_join(path, sizeof path, st->claims, e->d_name)) { continue; }
        int rc = read_claim_file(path, &c, &ignored);
        if (rc == CRABBOX_E_NOT_FOUND) { continue; } /* removed meanwhile */
        if (rc != CRABBOX_OK || strcmp(c.lease, lease) != 0) {
            fprintf(stderr, "warning: skipping malformed claim %s\n", path);
            continue;
        }
        if (n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            claim *nl = realloc(list, ncap * sizeof *nl);
            if (nl == NULL) {
                free(list);
                closedir(d);
                return cbx_set_err(err, CRABBOX_E_FAILED, "out of memory");
            }
            list = nl;
            cap = ncap;
        }
        if (c.lease_dir[0] != '\0' && !lease_dir_path(st, c.lease, c.lease_dir, sizeof c.lease_dir)) { continue; }
        list[n++] = c;
    }
    closedir(d);
    if (n > 1) { qsort(list, n, sizeof *list, by_created); }
    *out = list;
    *num = n;
    return CRABBOX_OK;
}
