#!/usr/bin/env python3
"""security.loader — check 4: the driver loader refuses unsafe plugin paths (no root needed;
the other-owner cases need root and are skipped otherwise, with a message).

Each case puts a copy of crabbox-driver-test.so (or a symlink, a directory, nothing) in a fresh
directory named by CRABBOX_DRIVER_PATH and runs `crabbox --provider test doctor`: a refusal is
exit 2 and a message naming the path (loader.c: loader_check_path, OpenSSH safe_path rules). A
safe copy and a symlink to a safe copy load (exit 0), so a refusal is not an accident of setup."""
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seclib as S  # noqa: E402

SO = "crabbox-driver-test.so"


def main():
    ck = S.Checker()
    p = S.build_paths()
    w = S.TestWorld(p)
    base = tempfile.mkdtemp(prefix="crabbox-sec-loader-")  # 0700 under the sticky, root-owned /tmp
    n = [0]

    def fresh(mode=0o700):
        n[0] += 1
        d = os.path.join(base, "d%d" % n[0])
        os.makedirs(d)
        os.chmod(d, mode)
        return d

    def copy(d, mode=0o755):
        path = os.path.join(d, SO)
        shutil.copyfile(p["testdriver"], path)
        os.chmod(path, mode)
        return path

    def doctor(search_path, cwd=None):
        return w.crab(["--provider", "test", "doctor"], cwd=cwd,
                      env_extra={"CRABBOX_DRIVER_PATH": search_path, "CRABBOX_TEST_HELPER": p["helper"]})

    def refused(name, search_path, needle, cwd=None):
        r = doctor(search_path, cwd)
        err = r.stderr.decode(errors="replace")
        ck.check("%s: exit 2, message names %s" % (name, needle), r.returncode == 2 and needle in err,
                 "rc=%d %s" % (r.returncode, err))

    try:
        d = fresh()
        safe = copy(d)
        r = doctor(d)
        ck.check("control: a safe copy loads (exit 0)", r.returncode == 0, S.txt(r))
        d2 = fresh()
        os.symlink(safe, os.path.join(d2, SO))
        r = doctor(d2)
        ck.check("control: a symlink to a safe file loads", r.returncode == 0, S.txt(r))

        # Relative: a relative CRABBOX_DRIVER_PATH entry is ignored (it would follow the cwd).
        rel = os.path.relpath(d, base)
        refused("relative CRABBOX_DRIVER_PATH entry ignored (no driver found)", rel, SO, cwd=base)
        for mode, what in ((0o775, "group-writable"), (0o757, "world-writable")):
            d = fresh()
            f = copy(d, mode)
            refused("%s file" % what, d, f)
        for mode, what in ((0o770, "group-writable"), (0o707, "world-writable")):
            d = fresh(mode)
            copy(d)
            refused("%s parent directory" % what, d, d)
        # The documented exception (driver-abi.md section 1): a root-owned sticky directory such as
        # /tmp is a safe parent; a sticky directory owned by anybody else is not.
        d = fresh(0o1777)
        copy(d)
        if os.geteuid() == 0:
            r = doctor(d)
            ck.check("control: a root-owned sticky world-writable parent (like /tmp) is accepted",
                     r.returncode == 0, S.txt(r))
        else:
            refused("world-writable sticky parent directory not owned by root", d, d)
        d = fresh()
        sub = os.path.join(d, "lib")
        os.makedirs(sub)
        copy(sub)
        os.chmod(d, 0o777)
        refused("world-writable grandparent directory", sub, d)
        os.chmod(d, 0o700)
        bad_dir = fresh()
        bad = copy(bad_dir, 0o666)
        d = fresh()
        os.symlink(bad, os.path.join(d, SO))
        refused("symlink to a world-writable file (named after resolving)", d, bad)
        bad_dir2 = fresh(0o777)
        bad2 = copy(bad_dir2)
        d = fresh()
        os.symlink(bad2, os.path.join(d, SO))
        refused("symlink to a file in a world-writable directory", d, bad_dir2)
        d = fresh()
        os.makedirs(os.path.join(d, SO))
        refused("a directory under the driver's name", d, os.path.join(d, SO))
        d = fresh()
        refused("missing file", d, SO)
        d = fresh()
        os.symlink(os.path.join(d, "nowhere.so"), os.path.join(d, SO))
        refused("dangling symlink (missing target)", d, SO)
        # A refused exact match stops the search: no silent fall-through to a later safe copy.
        d = fresh()
        copy(d, 0o666)
        refused("a refused file is not skipped in favour of a later directory", d + ":" + os.path.dirname(safe),
                os.path.join(d, SO))
        if os.geteuid() == 0:
            import pwd
            nobody = pwd.getpwnam("nobody")
            d = fresh()
            f = copy(d)
            os.chown(f, nobody.pw_uid, nobody.pw_gid)
            refused("file owned by another user (nobody)", d, f)
            d = fresh()
            copy(d)
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
            refused("parent directory owned by another user (nobody)", d, d)
            d = fresh(0o1777)
            copy(d)
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
            os.chmod(d, 0o1777)
            refused("world-writable sticky parent owned by another user", d, d)
        else:
            S.skip_part(ck, "security.loader:other_owner",
                        "the other-owner cases need root to chown a file to nobody")
    finally:
        shutil.rmtree(base, ignore_errors=True)
        w.close()
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
