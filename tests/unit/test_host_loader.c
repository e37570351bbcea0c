/* test_host_loader.c — the crabbox host's plugin loader (tools/crabbox/loader.c): it loads the
 * test driver, and refuses, naming the file, a wrong ABI version, a short descriptor, a missing
 * entry symbol, a missing required function, an entry that declines our ABI, and files or
 * directories that others could write or that another user owns. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "testutil.h"

TestSuite(host_loader, .timeout = 30);

static const char *build_dir(void)
{
    const char *b = getenv("CBA_BUILD_DIR");
    cr_assert(b != NULL, "CBA_BUILD_DIR is not set (run through ctest)");
    return b;
}

static void good_driver(char *out, size_t n)
{
    snprintf(out, n, "%s/lib/crabbox/drivers/crabbox-driver-test.so", build_dir());
}

static void variant(char *out, size_t n, const char *v)
{
    snprintf(out, n, "%s/testkit/testdriver/variants/crabbox-driver-test-%s.so", build_dir(), v);
}

/* A private scratch directory under the build tree (whose parents are root's, not writable by others). */
static void scratch(char *out, size_t n)
{
    snprintf(out, n, "%s/host-loader-XXXXXX", build_dir());
    cr_assert_not_null(mkdtemp(out));
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t r;
    cr_assert(in != NULL && out != NULL, "copy %s -> %s", from, to);
    while ((r = fread(buf, 1, sizeof buf, in)) > 0) { cr_assert_eq(fwrite(buf, 1, r, out), r); }
    fclose(in);
    cr_assert_eq(fclose(out), 0);
    cr_assert_eq(chmod(to, mode), 0);
}

static void expect_refused(const char *path, int code, const char *needle)
{
    loaded_driver ld;
    crabbox_err err = { 0 };
    int rc = loader_open_file(&ld, path, &err);
    cr_assert_eq(rc, code, "%s: rc %d (%s)", path, rc, err.message);
    cr_assert_eq(err.code, code);
    cr_assert_null(ld.dl, "nothing stays loaded after a refusal");
    cr_assert(strstr(err.message, needle) != NULL, "message \"%s\" lacks \"%s\"", err.message, needle);
}

Test(host_loader, loads_the_test_driver)
{
    char path[PATH_MAX];
    loaded_driver ld;
    crabbox_err err = { 0 };
    good_driver(path, sizeof path);
    cr_assert_eq(loader_open_file(&ld, path, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(ld.d->name, "test");
    cr_assert_eq(ld.d->abi_version, CRABBOX_DRIVER_ABI_VERSION);
    cr_assert(loader_matches(ld.d, "TestDriver"), "aliases match case-insensitively");
    cr_assert_not(loader_matches(ld.d, "phala"));
    loader_close(&ld);
    cr_assert_null(ld.dl);
    loader_close(&ld); /* idempotent */
    loader_close(NULL);
}

Test(host_loader, refuses_wrong_abi_version_naming_file_and_versions)
{
    char path[PATH_MAX], want[PATH_MAX + 64];
    variant(path, sizeof path, "badabi");
    expect_refused(path, CRABBOX_E_ABI, "ABI version 2, expected 1");
    snprintf(want, sizeof want, "crabbox-driver-test-badabi.so");
    expect_refused(path, CRABBOX_E_ABI, want);
}

Test(host_loader, refuses_short_descriptor)
{
    char path[PATH_MAX];
    variant(path, sizeof path, "short");
    expect_refused(path, CRABBOX_E_ABI, "struct_size");
    expect_refused(path, CRABBOX_E_ABI, "crabbox-driver-test-short.so");
}

Test(host_loader, refuses_missing_entry_symbol)
{
    char path[PATH_MAX];
    variant(path, sizeof path, "nosym");
    expect_refused(path, CRABBOX_E_ABI, "does not export crabbox_driver_entry");
}

Test(host_loader, refuses_missing_required_function)
{
    char path[PATH_MAX];
    variant(path, sizeof path, "nullfn");
    expect_refused(path, CRABBOX_E_ABI, "required function destroy is missing");
}

Test(host_loader, refuses_entry_that_declines_our_abi)
{
    char path[PATH_MAX];
    variant(path, sizeof path, "nullentry");
    expect_refused(path, CRABBOX_E_ABI, "cannot serve host ABI version 1");
}

Test(host_loader, refuses_relative_and_missing_paths)
{
    expect_refused("lib/crabbox-driver-test.so", CRABBOX_E_USAGE, "not an absolute path");
    expect_refused("/nonexistent/crabbox-driver-test.so", CRABBOX_E_NOT_FOUND, "/nonexistent/crabbox-driver-test.so");
}

Test(host_loader, refuses_group_and_world_writable_files)
{
    char dir[PATH_MAX], good[PATH_MAX], copy[PATH_MAX + 32];
    scratch(dir, sizeof dir);
    good_driver(good, sizeof good);
    snprintf(copy, sizeof copy, "%s/crabbox-driver-test.so", dir);
    copy_file(good, copy, 0755);
    {
        loaded_driver ld;
        crabbox_err err = { 0 };
        cr_assert_eq(loader_open_file(&ld, copy, &err), CRABBOX_OK, "a safe copy loads: %s", err.message);
        loader_close(&ld);
    }
    cr_assert_eq(chmod(copy, 0775), 0);
    expect_refused(copy, CRABBOX_E_USAGE, "is group-writable");
    expect_refused(copy, CRABBOX_E_USAGE, copy);
    cr_assert_eq(chmod(copy, 0757), 0);
    expect_refused(copy, CRABBOX_E_USAGE, "is world-writable");
    unlink(copy);
    rmdir(dir);
}

Test(host_loader, refuses_writable_parent_directory)
{
    char dir[PATH_MAX], sub[PATH_MAX + 8], good[PATH_MAX], copy[PATH_MAX + 40];
    scratch(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    cr_assert_eq(mkdir(sub, 0755), 0);
    good_driver(good, sizeof good);
    snprintf(copy, sizeof copy, "%s/crabbox-driver-test.so", sub);
    copy_file(good, copy, 0755);
    cr_assert_eq(chmod(dir, 0775), 0); /* a grandparent, group-writable */
    expect_refused(copy, CRABBOX_E_USAGE, "the directory");
    expect_refused(copy, CRABBOX_E_USAGE, "is group-writable");
    /* Sticky is accepted only for root-owned directories (like /tmp). */
    cr_assert_eq(chmod(dir, 01777), 0);
    if (geteuid() == 0) {
        loaded_driver ld;
        crabbox_err err = { 0 };
        cr_assert_eq(loader_open_file(&ld, copy, &err), CRABBOX_OK, "root-owned sticky parent: %s", err.message);
        loader_close(&ld);
    } else {
        expect_refused(copy, CRABBOX_E_USAGE, "is world-writable");
    }
    chmod(dir, 0700);
    unlink(copy);
    rmdir(sub);
    rmdir(dir);
}

Test(host_loader, refuses_symlink_to_unsafe_target)
{
    char dir[PATH_MAX], good[PATH_MAX], target[PATH_MAX + 32], link_path[PATH_MAX + 40];
    scratch(dir, sizeof dir);
    good_driver(good, sizeof good);
    snprintf(target, sizeof target, "%s/real.so", dir);
    snprintf(link_path, sizeof link_path, "%s/crabbox-driver-test.so", dir);
    copy_file(good, target, 0777);
    cr_assert_eq(symlink(target, link_path), 0);
    /* The check applies to the file the link leads to, and the message names it. */
    expect_refused(link_path, CRABBOX_E_USAGE, "real.so");
    unlink(link_path);
    unlink(target);
    rmdir(dir);
}

Test(host_loader, refuses_files_owned_by_another_user)
{
    char dir[PATH_MAX], good[PATH_MAX], copy[PATH_MAX + 32];
    if (geteuid() != 0) {
        TU_SKIP("unit.test_host_loader:other_owner", "needs root to give a file to another user (chown)");
    }
    scratch(dir, sizeof dir);
    good_driver(good, sizeof good);
    snprintf(copy, sizeof copy, "%s/crabbox-driver-test.so", dir);
    copy_file(good, copy, 0755);
    cr_assert_eq(chown(copy, 65534, 65534), 0);
    expect_refused(copy, CRABBOX_E_USAGE, "is owned by another user");
    cr_assert_eq(chown(copy, 0, 0), 0);
    cr_assert_eq(chown(dir, 65534, 65534), 0); /* now the directory */
    expect_refused(copy, CRABBOX_E_USAGE, "the directory");
    cr_assert_eq(chown(dir, 0, 0), 0);
    unlink(copy);
    rmdir(dir);
}

Test(host_loader, check_path_accepts_tmp_as_a_parent)
{
    char dir[] = "/tmp/host-loader-XXXXXX", file[64], resolved[PATH_MAX];
    crabbox_err err = { 0 };
    int fd;
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/x.so", dir);
    fd = open(file, O_WRONLY | O_CREAT, 0644);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(loader_check_path(file, geteuid(), resolved, sizeof resolved, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(resolved, file);
    cr_assert_eq(loader_check_path(dir, geteuid(), resolved, sizeof resolved, &err), CRABBOX_E_USAGE,
                 "a directory is not a plugin");
    unlink(file);
    rmdir(dir);
}

Test(host_loader, find_by_name_alias_and_case)
{
    char dir[PATH_MAX];
    loaded_driver ld;
    crabbox_err err = { 0 };
    snprintf(dir, sizeof dir, "%s/lib/crabbox/drivers", build_dir());
    cr_assert_eq(loader_find(&ld, "test", dir, NULL, &err), CRABBOX_OK, "%s", err.message);
    loader_close(&ld);
    cr_assert_eq(loader_find(&ld, "TESTDRIVER", "relative/ignored:" , dir, &err), CRABBOX_OK, "%s", err.message);
    cr_assert_str_eq(ld.d->name, "test");
    loader_close(&ld);
    cr_assert_eq(loader_find(&ld, "nosuch", dir, NULL, &err), CRABBOX_E_USAGE);
    cr_assert(strstr(err.message, "crabbox-driver-nosuch.so") != NULL, "%s", err.message);
    cr_assert_eq(loader_find(&ld, "../x", dir, NULL, &err), CRABBOX_E_USAGE, "names cannot climb");
    cr_assert(loader_driver_exists("test", dir, NULL));
    cr_assert_not(loader_driver_exists("nosuch", dir, NULL));
}

Test(host_loader, find_reports_a_refused_exact_match)
{
    char dir[PATH_MAX], from[2 * PATH_MAX + 64], to[PATH_MAX + 40];
    loaded_driver ld;
    crabbox_err err = { 0 };
    scratch(dir, sizeof dir);
    variant(from, sizeof from, "badabi");
    snprintf(to, sizeof to, "%s/crabbox-driver-test.so", dir);
    copy_file(from, to, 0755);
    /* The bad file is found first and decides: no silent fall-through to another directory. */
    snprintf(from, sizeof from, "%s:%s/lib/crabbox/drivers", dir, build_dir());
    cr_assert_eq(loader_find(&ld, "test", from, NULL, &err), CRABBOX_E_ABI);
    cr_assert(strstr(err.message, to) != NULL, "%s", err.message);
    unlink(to);
    rmdir(dir);
}
