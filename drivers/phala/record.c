/* record.c — the driver's per-lease records under <state_dir>/phala (see phala.h).
 *
 * One small JSON file per lease, written atomically (0600) and parsed strictly like any other
 * input: a record could have been edited by hand. The lock file next to it is held with flock
 * while a warmup runs, so cleanup can tell a crashed warmup (lock free) from a running one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "phala.h"

#define RECORD_MAX 4096u

static const char *const k_states[] = {
    [PHALA_REC_DEPLOYING] = "deploying",
    [PHALA_REC_READY] = "ready",
    [PHALA_REC_AMBIGUOUS] = "ambiguous-create",
    [PHALA_REC_ROLLBACK] = "rollback-cleanup",
    [PHALA_REC_KEPT] = "kept-after-failure",
};

const char *phala_rec_state_name(phala_rec_state s)
{
    return (unsigned)s < sizeof k_states / sizeof k_states[0] ? k_states[s] : "unknown";
}

int phala_record_dir(const phala_ctx *px, char *out, size_t out_len, crabbox_err *err)
{
    const char *state = px->host->state_dir != NULL ? px->host->state_dir(px->host->ctx) : NULL;
    int n, rc;
    if (state == NULL || state[0] != '/') {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: the host gave no absolute state directory");
    }
    if ((rc = phala_private_dir(state, false)) != 0) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: state directory %s is unusable: %s", state,
                          strerror(rc));
    }
    n = snprintf(out, out_len, "%s/phala", state);
    if (n < 0 || (size_t)n >= out_len) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: state directory path too long");
    }
    if ((rc = phala_private_dir(out, true)) != 0) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala: cannot use %s: %s", out, strerror(rc));
    }
    return CRABBOX_OK;
}

static bool record_path(char *out, size_t out_len, const char *dir, const char *lease_id,
                        const char *ext)
{
    int n;
    if (!phala_lease_id_valid(lease_id)) { return false; }
    n = snprintf(out, out_len, "%s/%s.%s", dir, lease_id, ext);
    return n > 0 && (size_t)n < out_len;
}

int phala_record_write(const char *dir, const phala_record *rec, crabbox_err *err)
{
    char path[4096], text[RECORD_MAX];
    int n, rc;
    /* Every field was validated when the record was filled in (lease id, derived name, app id
     * hex), so no JSON escaping is needed; check again rather than trust that. */
    if (!record_path(path, sizeof path, dir, rec->lease_id, "json") ||
        strspn(rec->name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(rec->name) ||
        strspn(rec->app_id, "0123456789abcdef") != strlen(rec->app_id)) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: refusing to write a malformed record");
    }
    n = snprintf(text, sizeof text,
                 "{\"lease\":\"%s\",\"name\":\"%s\",\"app_id\":\"%s\",\"state\":\"%s\","
                 "\"created_at\":%lld}\n",
                 rec->lease_id, rec->name, rec->app_id, phala_rec_state_name(rec->state),
                 (long long)rec->created_at);
    if (n < 0 || (size_t)n >= sizeof text) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala: record too long");
    }
    if ((rc = phala_write_file_atomic(path, (const uint8_t *)text, (size_t)n, 0600)) != 0) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala: cannot write %s: %s", path, strerror(rc));
    }
    return CRABBOX_OK;
}

int phala_record_parse(cbs text, phala_record *out, crabbox_err *err)
{
    json_object *doc = NULL;
    cba_error e;
    cbs s;
    uint64_t created = 0;
    phala_record r;
    bool ok, known_state = false;
    memset(&r, 0, sizeof r);
    cba_error_clear(&e);
    if (cba_json_parse(&e, &doc, text, 4, CBA_E_JSON, "record") != CBA_OK) {
        return phala_fail(err, CRABBOX_E_MALFORMED, "phala: malformed lease record: %s", e.detail);
    }
    ok = json_object_is_type(doc, json_type_object) && cba_json_get_string(doc, "lease", &s) &&
         s.len == PHALA_LEASE_ID_LEN;
    if (ok) {
        memcpy(r.lease_id, s.data, s.len);
        ok = phala_lease_id_valid(r.lease_id) &&
             phala_name_for_lease(r.name, sizeof r.name, r.lease_id) &&
             cba_json_get_string(doc, "name", &s) && cbs_eq_str(s, r.name) &&
             cba_json_get_string(doc, "app_id", &s) &&
             (s.len == 0 || phala_app_id_normalize(r.app_id, sizeof r.app_id, s)) &&
             cba_json_get_u64(doc, "created_at", INT64_MAX, &created) &&
             cba_json_get_string(doc, "state", &s);
    }
    if (ok) {
        for (size_t i = 0; i < sizeof k_states / sizeof k_states[0]; i++) {
            if (cbs_eq_str(s, k_states[i])) {
                r.state = (phala_rec_state)i;
                known_state = true;
            }
        }
    }
    json_object_put(doc);
    if (!ok || !known_state) {
        return phala_fail(err, CRABBOX_E_MALFORMED, "phala: malformed lease record");
    }
    r.created_at = (int64_t)created;
    *out = r;
    return CRABBOX_OK;
}

int phala_record_read(const char *dir, const char *lease_id, phala_record *out, crabbox_err *err)
{
    char path[4096];
    uint8_t buf[RECORD_MAX];
    size_t len = 0;
    struct stat st;
    int fd, rc;
    if (!record_path(path, sizeof path, dir, lease_id, "json")) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: invalid lease id");
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return phala_fail(err, CRABBOX_E_NOT_FOUND, "phala: no record for lease %s", lease_id);
        }
        return phala_fail(err, CRABBOX_E_FAILED, "phala: cannot open %s: %s", path,
                          strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (size_t)st.st_size > sizeof buf) {
        close(fd);
        return phala_fail(err, CRABBOX_E_MALFORMED, "phala: %s is not a lease record", path);
    }
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR) { continue; }
        if (r <= 0) { break; }
        len += (size_t)r;
    }
    close(fd);
    rc = phala_record_parse(cbs_make(buf, len), out, err);
    if (rc == CRABBOX_OK && strcmp(out->lease_id, lease_id) != 0) {
        return phala_fail(err, CRABBOX_E_MALFORMED, "phala: %s names another lease", path);
    }
    return rc;
}

void phala_record_remove(const char *dir, const char *lease_id)
{
    char path[4096];
    if (record_path(path, sizeof path, dir, lease_id, "json")) { unlink(path); }
    if (record_path(path, sizeof path, dir, lease_id, "keydir")) { unlink(path); }
    if (record_path(path, sizeof path, dir, lease_id, "lock")) { unlink(path); }
}

int phala_keydir_write(const char *dir, const char *lease_id, const char *lease_dir, crabbox_err *err)
{
    char path[4096];
    size_t n = lease_dir != NULL ? strlen(lease_dir) : 0;
    int rc;
    if (!record_path(path, sizeof path, dir, lease_id, "keydir") || n == 0 || n >= 3000 ||
        lease_dir[0] != '/' || strpbrk(lease_dir, "\n\r") != NULL) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: unusable lease directory path");
    }
    if ((rc = phala_write_file_atomic(path, (const uint8_t *)lease_dir, n, 0600)) != 0) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala: cannot write %s: %s", path, strerror(rc));
    }
    return CRABBOX_OK;
}

int phala_keydir_read(const char *dir, const char *lease_id, char *out, size_t out_len, crabbox_err *err)
{
    char path[4096];
    ssize_t n;
    int fd;
    if (!record_path(path, sizeof path, dir, lease_id, "keydir") || out_len < 2) {
        return phala_fail(err, CRABBOX_E_USAGE, "phala: invalid lease id");
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return phala_fail(err, errno == ENOENT ? CRABBOX_E_NOT_FOUND : CRABBOX_E_FAILED,
                          "phala: lease %s has no key directory on record (%s)", lease_id, strerror(errno));
    }
    n = read(fd, out, out_len - 1);
    close(fd);
    if (n <= 0 || (size_t)n >= out_len - 1 || out[0] != '/' || memchr(out, '\0', (size_t)n) != NULL ||
        memchr(out, '\n', (size_t)n) != NULL) {
        return phala_fail(err, CRABBOX_E_MALFORMED, "phala: malformed key directory record for %s", lease_id);
    }
    out[n] = '\0';
    return CRABBOX_OK;
}

int phala_record_lock(const char *dir, const char *lease_id)
{
    char path[4096];
    int fd;
    if (!record_path(path, sizeof path, dir, lease_id, "lock")) {
        errno = EINVAL;
        return -1;
    }
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) { return -1; }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

void phala_record_unlock(int fd)
{
    if (fd >= 0) { close(fd); } /* closing drops the flock */
}

int phala_record_list(const char *dir, char (**out)[PHALA_LEASE_ID_LEN + 1], size_t *out_num,
                      crabbox_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char (*ids)[PHALA_LEASE_ID_LEN + 1] = NULL;
    size_t num = 0, cap = 0;
    *out = NULL;
    *out_num = 0;
    if (d == NULL) {
        return phala_fail(err, CRABBOX_E_FAILED, "phala: cannot read %s: %s", dir,
                          strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        char id[PHALA_LEASE_ID_LEN + 1];
        size_t n = strlen(de->d_name);
        if (n != PHALA_LEASE_ID_LEN + 5 || strcmp(de->d_name + PHALA_LEASE_ID_LEN, ".json") != 0) {
            continue;
        }
        memcpy(id, de->d_name, PHALA_LEASE_ID_LEN);
        id[PHALA_LEASE_ID_LEN] = '\0';
        if (!phala_lease_id_valid(id)) { continue; }
        if (num == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char (*grown)[PHALA_LEASE_ID_LEN + 1] = realloc(ids, ncap * sizeof *grown);
            if (grown == NULL) {
                free(ids);
                closedir(d);
                return phala_fail(err, CRABBOX_E_FAILED, "out of memory listing records");
            }
            ids = grown;
            cap = ncap;
        }
        memcpy(ids[num++], id, sizeof id);
    }
    closedir(d);
    *out = ids;
    *out_num = num;
    return CRABBOX_OK;
}
