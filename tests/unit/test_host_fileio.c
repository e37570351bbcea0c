/* test_host_fileio.c — tools/common/fileio.c: bounded reads, atomic writes (shared by both tools). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fileio.h"

TestSuite(fileio, .timeout = 30);

static char g_dir[PATH_MAX];

static const char *tmpdir(void)
{
    const char *b = getenv("CBA_BUILD_DIR");
    snprintf(g_dir, sizeof g_dir, "%s/fileio-XXXXXX", b != NULL ? b : "/tmp");
    cr_assert_not_null(mkdtemp(g_dir));
    return g_dir;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fputs(text, f) >= 0, true);
    cr_assert_eq(fclose(f), 0);
}

static size_t entries(const char *dir)
{
    char cmd[PATH_MAX + 64];
    size_t n = 0;
    FILE *p;
    snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    for (int ch; (ch = fgetc(p)) != EOF;) { n += ch == '\n'; }
    pclose(p);
    return n;
}

Test(fileio, reads_exactly_up_to_the_cap)
{
    char path[PATH_MAX + 16];
    uint8_t *d = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/f", tmpdir());
    put(path, "0123456789");
    cr_assert_eq(tc_read_file(path, 10, 0, &d, &n), 0);
    cr_assert_eq(n, 10);
    cr_assert_eq(memcmp(d, "0123456789", 10), 0);
    cr_assert_eq(d[10], 0, "NUL after the data");
    free(d);
    cr_assert_eq(tc_read_file(path, 9, 0, &d, &n), EFBIG);
    cr_assert_null(d);
    cr_assert_eq(n, 0);
}

Test(fileio, refuses_directories_missing_files_and_symlinks_with_nofollow)
{
    char path[PATH_MAX + 16], link[PATH_MAX + 16];
    uint8_t *d = NULL;
    size_t n;
    const char *dir = tmpdir();
    snprintf(path, sizeof path, "%s/f", dir);
    snprintf(link, sizeof link, "%s/l", dir);
    put(path, "x");
    cr_assert_eq(symlink(path, link), 0);
    cr_assert_eq(tc_read_file(dir, 100, 0, &d, &n), EINVAL);
    cr_assert_eq(tc_read_file("/nonexistent/nope", 100, 0, &d, &n), ENOENT);
    cr_assert_eq(tc_read_file(link, 100, TC_READ_NOFOLLOW, &d, &n), ELOOP);
    cr_assert_eq(tc_read_file(link, 100, 0, &d, &n), 0);
    free(d);
    cr_assert_eq(tc_read_file("/dev/null", 100, 0, &d, &n), EINVAL, "a device is not a regular file");
}

Test(fileio, dash_reads_a_pipe_to_eof_bounded)
{
    int fds[2], saved = dup(STDIN_FILENO);
    uint8_t big[200000], *d = NULL;
    size_t n;
    pid_t pid;
    memset(big, 'a', sizeof big);
    for (int round = 0; round < 2; round++) {
        cr_assert_eq(pipe(fds), 0);
        pid = fork();
        cr_assert_neq(pid, -1);
        if (pid == 0) {
            close(fds[0]);
            (void)tc_write_all(fds[1], big, sizeof big);
            _exit(0);
        }
        close(fds[1]);
        cr_assert_neq(dup2(fds[0], STDIN_FILENO), -1);
        close(fds[0]);
        if (round == 0) {
            cr_assert_eq(tc_read_file("-", sizeof big, TC_READ_STDIN_DASH, &d, &n), 0);
            cr_assert_eq(n, sizeof big);
            free(d);
        } else {
            cr_assert_eq(tc_read_file("-", sizeof big - 1, TC_READ_STDIN_DASH, &d, &n), EFBIG);
            cr_assert_null(d);
            /* drain so the writer exits */
            for (char sink[4096]; read(STDIN_FILENO, sink, sizeof sink) > 0;) {}
        }
        cr_assert_neq(dup2(saved, STDIN_FILENO), -1);
    }
    close(saved);
    /* Without the flag, "-" is an ordinary (missing) file name. */
    cr_assert_eq(tc_read_file("-", 10, 0, &d, &n), ENOENT);
}

Test(fileio, atomic_write_sets_the_mode_whatever_the_umask_and_leaves_no_temp)
{
    char path[PATH_MAX + 16];
    struct stat st;
    uint8_t *d = NULL;
    size_t n;
    const char *dir = tmpdir();
    mode_t old = umask(0);
    snprintf(path, sizeof path, "%s/out", dir);
    cr_assert_eq(tc_write_file_atomic(path, "first", 5, 0600), 0);
    cr_assert_eq(tc_write_file_atomic(path, "second", 6, 0640), 0);
    umask(old);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0640);
    cr_assert_eq(tc_read_file(path, 100, 0, &d, &n), 0);
    cr_assert_eq(n, 6);
    cr_assert_eq(memcmp(d, "second", 6), 0);
    free(d);
    cr_assert_eq(entries(dir), 1, "only the target: no temporary file left");
    /* A failed write (the target is a directory) leaves nothing behind either. */
    snprintf(path, sizeof path, "%s/sub", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_assert_neq(tc_write_file_atomic(path, "x", 1, 0600), 0);
    cr_assert_eq(entries(dir), 2);
}
