"""Shared helpers of the security suite (TEST ONLY; not a test itself).

Checker counts results; ProcSampler watches every process's argv (and the environment of chosen
programs) while commands run; scan_* look for secrets in bytes and trees; mode_violations checks
0700 directories / 0600 files. Each detector is proven once per script on planted input
(prove_detectors), so a pass means "looked and found nothing", not "could not look"."""
import base64
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77


def skip(msg):
    print("SKIP: " + msg, flush=True)
    sys.exit(SKIP)


def skip_allowed(key):
    """Outside CI a skip is a skip; in CI (.ci/run sets CRABBOX_CI_ALLOWED_SKIPS, possibly empty)
    only the keys on that comma-separated list may skip (issue 17 §4, docs/testing.md)."""
    allowed = os.environ.get("CRABBOX_CI_ALLOWED_SKIPS")
    return allowed is None or key in {k.strip() for k in allowed.split(",")}


def skip_part(ck, key, msg):
    """A part of a suite that cannot run here: SKIP (part) when allowed, else a failed check."""
    if skip_allowed(key):
        print("SKIP (part) %s: %s" % (key, msg), flush=True)
    else:
        ck.check("skip of %s is allowed in CI (CRABBOX_CI_ALLOWED_SKIPS)" % key, False, msg)


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def check(self, name, cond, detail="", xfail=None):
        """xfail: a known finding someone else must fix (the reason names where); the check then
        reports XFAIL instead of failing, and XPASS once it is fixed (remove the mark then)."""
        if xfail is not None:
            print(("XPASS " + name + " (fixed: remove the xfail mark)") if cond else
                  ("XFAIL " + name + ": " + xfail + " | " + str(detail)[-600:]), flush=True)
            self.xfailed = getattr(self, "xfailed", 0) + (0 if cond else 1)
            return cond
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)[-2000:]), flush=True)
        if cond:
            self.passed += 1
        else:
            self.failures.append(name)
        return cond

    def finish(self):
        print("%d passed, %d failed, %d expected failures" % (self.passed, len(self.failures),
                                                             getattr(self, "xfailed", 0)), flush=True)
        return 1 if self.failures else 0


def build_paths():
    """Programs of the build tree (ctest sets CBA_BUILD_DIR)."""
    build = os.environ.get("CBA_BUILD_DIR")
    if not build:
        skip("CBA_BUILD_DIR not set (run through ctest)")
    p = {
        "build": build,
        "crabbox": os.path.join(build, "tools", "crabbox", "crabbox"),
        "attest": os.environ.get("CRABBOX_ATTEST") or os.path.join(build, "tools", "crabbox-attest", "crabbox-attest"),
        "drivers": os.path.join(build, "lib", "crabbox", "drivers"),
    }
    p["helper"] = os.path.join(p["drivers"], "crabbox-testdriver-helper")
    p["testdriver"] = os.path.join(p["drivers"], "crabbox-driver-test.so")
    p["phaladriver"] = os.path.join(p["drivers"], "crabbox-driver-phala.so")
    for k in ("crabbox", "helper", "testdriver"):
        if not os.path.exists(p[k]):
            print("missing %s (build the crabbox, crabbox-driver-test and crabbox-testdriver-helper targets)" % p[k])
            sys.exit(1)
    return p


def txt(r):
    return (r.stdout + r.stderr).decode(errors="replace")


def run(argv, env, cwd=None, timeout=60, umask=None):
    """Runs argv with exactly env; the child gets `umask` when given. CompletedProcess."""
    def pre():
        if umask is not None:
            os.umask(umask)
    return subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, preexec_fn=pre if umask is not None else None)


class TestWorld:
    """A private HOME / XDG tree for the `test` driver under the test trust root (as
    tests/cli/crabbox_lib.bash): self.env, self.state, self.cfg, self.work, self.crab(args)."""

    def __init__(self, paths, prefix="crabbox-sec-"):
        self.p = paths
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.home, self.state_home, self.cfg_home, self.work = (
            os.path.join(self.tmp, n) for n in ("home", "state", "config", "work"))
        for d in (self.home, self.work):
            os.makedirs(d)
        self.root = os.path.join(self.tmp, "root.der")
        self.collateral = os.path.join(self.tmp, "collateral.json")
        assert subprocess.run([paths["helper"], "root", self.root]).returncode == 0
        assert subprocess.run([paths["helper"], "collateral", self.collateral]).returncode == 0
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                    "XDG_STATE_HOME": self.state_home, "XDG_CONFIG_HOME": self.cfg_home,
                    "CRABBOX_DRIVER_PATH": paths["drivers"], "CRABBOX_PROVIDER": "test",
                    "CRABBOX_TEST_TRUST_ROOT": self.root,
                    # requireCollateral is true by default: the test PKI's collateral, from a
                    # trusted source (the environment), keeps leases verifiable offline.
                    "CRABBOX_COLLATERAL": self.collateral}
        self.state = os.path.join(self.state_home, "crabbox")

    def crab(self, args, env_extra=None, cwd=None, umask=None, timeout=60):
        env = dict(self.env, **(env_extra or {}))
        return run([self.p["crabbox"]] + list(args), env, cwd=cwd or self.work, timeout=timeout, umask=umask)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---- detectors ----------------------------------------------------------------------------------

def secret_forms(secret):
    """The byte strings that would reveal `secret` (bytes): itself, and its base64 forms (bundles
    and JSON carry base64), at each of the three alignments, cut so they stay long enough."""
    forms = [secret]
    for shift in range(3):
        enc = base64.b64encode(b"\0" * shift + secret)
        full = (shift + len(secret)) // 3  # groups made only of known bytes
        forms.append(enc[4 if shift else 0:full * 4])
    return [f for f in forms if len(f) >= 8]


def find_secret(data, secret):
    """True when bytes `data` contain `secret` (bytes) or a base64 form of it."""
    return any(f in data for f in secret_forms(secret))


def scan_tree(root, secrets, skip_paths=()):
    """[(path, label)] of regular files under root that contain one of secrets {label: bytes}."""
    hits = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames:
            path = os.path.join(dirpath, n)
            if path in skip_paths or os.path.islink(path):
                continue
            try:
                with open(path, "rb") as f:
                    data = f.read(8 << 20)
            except OSError:
                continue
            for label, s in secrets.items():
                if find_secret(data, s):
                    hits.append((path, label))
    return hits


def mode_violations(root, dir_mode=0o700, file_mode=0o600, allow=None):
    """[(path, mode)] of entries under root (root included) whose permission bits differ from
    dir_mode (directories) or file_mode (regular files); allow(path, st) -> True exempts one."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        st = os.lstat(dirpath)
        if stat.S_IMODE(st.st_mode) != dir_mode and not (allow and allow(dirpath, st)):
            bad.append((dirpath, oct(stat.S_IMODE(st.st_mode))))
        for n in filenames:
            path = os.path.join(dirpath, n)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                bad.append((path, "symlink"))
            elif stat.S_IMODE(st.st_mode) != file_mode and not (allow and allow(path, st)):
                bad.append((path, oct(stat.S_IMODE(st.st_mode))))
    return bad


def private_key_secret(path):
    """The secret part of an OpenSSH private key file: the base64 body joined (bytes)."""
    with open(path, "rb") as f:
        lines = f.read().splitlines()
    return b"".join(l for l in lines if not l.startswith(b"-----"))


def key_fragments(body):
    """Fragments of a private key body long enough to be unique: every 48-byte window step 24
    (an output could wrap the key differently from the file)."""
    return {"key[%d:]" % i: body[i:i + 48] for i in range(0, max(1, len(body) - 48), 24)}


class ProcSampler(threading.Thread):
    """Reads /proc/*/cmdline every `period` seconds while running: argv hits of any secret
    (bytes) in any process, and for processes whose argv[0] basename is in `watch`, whether
    env_secret_name appears in their /proc/PID/environ. stop() joins; results in .argv_hits
    [(pid, argv)], .env_hits {prog: [(pid, argv)]}, .seen {prog: count}, .samples."""

    def __init__(self, secrets, watch=(), env_names=(), period=0.003):
        super().__init__(daemon=True)
        self.secrets = secrets
        self.watch = set(watch)
        self.env_names = [n.encode() + b"=" for n in env_names]
        self.period = period
        self.argv_hits = []
        self.env_hits = {}
        self.seen = {}
        self.samples = 0
        self._halt = threading.Event()
        self._checked = set()
        self.me = os.getpid()

    def sample_once(self):
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == self.me:
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if not cmd:
                continue
            for label, s in self.secrets.items():
                if s in cmd:
                    self.argv_hits.append((int(pid), label, cmd.replace(b"\0", b" ")[:300]))
            prog = os.path.basename(cmd.split(b"\0", 1)[0].decode(errors="replace"))
            if prog in self.watch and (pid, cmd) not in self._checked:
                try:
                    with open("/proc/%s/environ" % pid, "rb") as f:
                        envb = f.read()
                except OSError:
                    continue
                if not envb:
                    continue  # a zombie or not yet exec'd
                self._checked.add((pid, cmd))
                self.seen[prog] = self.seen.get(prog, 0) + 1
                for v in envb.split(b"\0"):
                    if any(v.startswith(n) for n in self.env_names):
                        self.env_hits.setdefault(prog, []).append(
                            (int(pid), v.split(b"=", 1)[0].decode(), cmd.replace(b"\0", b" ")[:200]))
        self.samples += 1

    def run(self):
        while not self._halt.is_set():
            self.sample_once()
            time.sleep(self.period)

    def stop(self):
        self._halt.set()
        self.join(10)


def prove_detectors(ck, tmpdir):
    """Plants each kind of violation once and checks that the detectors see it."""
    secret = b"phak_detector_proof_0123456789abcdef"
    d = os.path.join(tmpdir, "detector-proof")
    os.makedirs(d, mode=0o700)
    os.chmod(d, 0o700)
    with open(os.path.join(d, "plain"), "wb") as f:
        f.write(b"x " + secret + b" y")
    with open(os.path.join(d, "b64"), "wb") as f:
        f.write(b'{"info":"' + base64.b64encode(b"abc" + secret + b"def") + b'"}')
    os.chmod(os.path.join(d, "plain"), 0o644)
    os.chmod(os.path.join(d, "b64"), 0o600)
    hits = {os.path.basename(p) for p, _ in scan_tree(d, {"k": secret})}
    ck.check("detector: the file scanner finds a planted key, plain and base64", hits == {"plain", "b64"}, hits)
    bad = [os.path.basename(p) for p, _ in mode_violations(d)]
    ck.check("detector: the mode checker flags a planted 0644 file", bad == ["plain"], bad)
    # A fake process with the key on argv and in its environment.
    s = ProcSampler({"k": secret}, watch={"sh"}, env_names=["DETECTOR_SECRET"])
    p = subprocess.Popen(["sh", "-c", "sleep 5", secret.decode()], env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                                                  "DETECTOR_SECRET": "1"})
    try:
        end = time.monotonic() + 5
        while time.monotonic() < end and not (s.argv_hits and s.env_hits):
            s.sample_once()
            time.sleep(0.01)
    finally:
        p.kill()
        p.wait()
    ck.check("detector: the process sampler sees a key on a fake process's argv",
             any(pid == p.pid for pid, _, _ in s.argv_hits), s.argv_hits)
    ck.check("detector: the process sampler reads a watched process's environment",
             any(pid == p.pid for pid, _, _ in s.env_hits.get("sh", [])), s.env_hits)
