"""Shared helpers of the loopback harness (TEST ONLY): test PKI, processes, bounded waits."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SKIP = 77
DOMAIN = "e2e.test"


def skip(msg):
    print("SKIP: " + msg)
    sys.exit(SKIP)


def need_env(*names):
    vals = []
    for n in names:
        v = os.environ.get(n)
        if not v or not os.path.exists(v):
            skip("%s not set or missing (run through ctest)" % n)
        vals.append(v)
    return vals


def run(argv, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", 60)
    return subprocess.run(argv, **kw)


def make_pki(d):
    """A test CA and gateway certificates for *.e2e.test and *.other.test (openssl CLI)."""
    if shutil.which("openssl") is None:
        skip("openssl not found")
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=crabbox e2e test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    assert r.returncode == 0, r.stderr
    certs = {}
    for name in (DOMAIN, "other.test"):
        key, csr, pem = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".pem"))
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:*.%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                    % name)
        r = run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", "/CN=*.%s" % name])
        assert r.returncode == 0, r.stderr
        r = run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                 "-CAcreateserial", "-out", pem, "-days", "2", "-extfile", ext])
        assert r.returncode == 0, r.stderr
        certs[name] = (pem, key)
    return ca, certs


# The reaper (issue 17 §5): a watchdog process that learns the process group of every harness
# process and kills those groups when its stdin closes, i.e. when the suite ends in any way,
# including SIGKILL at ctest's TIMEOUT. Its own session, so it outlives the suite by a moment.
REAPER = r"""
import os, signal, sys, time
groups = set()
for line in sys.stdin:
    line = line.strip()
    if line.startswith("-"):
        groups.discard(int(line[1:]))
    elif line:
        groups.add(int(line))
for sig in (signal.SIGTERM, signal.SIGKILL):
    for g in groups:
        try:
            os.killpg(g, sig)
        except OSError:
            pass
    if groups and sig == signal.SIGTERM:
        time.sleep(1)
"""


class Procs:
    """Every child process of a test, each the leader of its own process group; kill_all ends
    the groups (with every process they forked) at the end, and the reaper does it should the
    suite die first."""

    def __init__(self):
        self.procs = []
        self.reaper = subprocess.Popen([sys.executable, "-c", REAPER], stdin=subprocess.PIPE,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       start_new_session=True)

    def _tell(self, line):
        try:
            self.reaper.stdin.write(line.encode())
            self.reaper.stdin.flush()
        except (OSError, ValueError):
            pass

    def start(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        self._tell("%d\n" % p.pid)
        return p

    def groups(self):
        return {p.pid for p in self.procs}

    def kill_all(self):
        self._kill_all()
        # Every group, also of leaders that already exited: a forked child (an agent's connection
        # handler, a gateway's stalled connection) keeps the group alive after its leader.
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._tell("-%d\n" % p.pid)
        try:
            self.reaper.stdin.close()
            self.reaper.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass

    def _kill_all(self):
        # SIGTERM first (the fake CVMs' shells reap their sshd and agent), then SIGKILL the groups.
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def procs_mentioning(needle, exclude_groups=(), environ=False):
    """Live processes (not zombies) whose command line (or, with environ, environment: a lane's
    HOME) contains needle (a world's or lane's private directory), except those in
    exclude_groups and this process: (pid, cmdline) pairs."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read()
            hit = needle.encode() in cmd
            if not hit and environ and cmd:
                with open("/proc/%s/environ" % d, "rb") as f:
                    hit = needle.encode() in f.read()
            if not hit or os.getpgid(int(d)) in exclude_groups:
                continue
        except (OSError, ProcessLookupError):
            continue
        found.append((int(d), cmd.replace(b"\0", b" ").decode(errors="replace")[:160]))
    return found


def no_process_left(needle, exclude_groups=(), grace=10.0, environ=False):
    """The "no harness process left" invariant: after a bounded grace (a killed command's CLI child
    may still be finishing), nothing that mentions needle runs outside exclude_groups. What is
    left is killed (so one failure does not leak into the next case) and returned."""
    end = time.monotonic() + grace
    left = procs_mentioning(needle, exclude_groups, environ)
    while left and time.monotonic() < end:
        time.sleep(0.1)
        left = procs_mentioning(needle, exclude_groups, environ)
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def read_port(path):
    def p():
        try:
            with open(path) as f:
                t = f.read()
            return int(t) if t.endswith("\n") else None
        except (OSError, ValueError):
            return None
    return p


def start_gateway(procs, gw_bin, d, tag, cert, key, routes):
    port_file = os.path.join(d, "gw-%s.port" % tag)
    log = open(os.path.join(d, "gw-%s.log" % tag), "wb")
    procs.start([gw_bin, "--cert", cert, "--key", key, "--routes", routes, "--port-file", port_file],
                stdout=log, stderr=log)
    return wait_for(read_port(port_file), 10, "gateway %s" % tag)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def echo_server():
    """A TCP echo server on 127.0.0.1 (daemon thread): echoes until EOF, then closes."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)

    def conn(c):
        with c:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)

    def loop():
        while True:
            c, _ = ls.accept()
            threading.Thread(target=conn, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls.getsockname()[1]


# ---- the loopback world of the phala e2e tests: fake CVMs, gateways, the CLI double -----------------

def prerequisites():
    if os.geteuid() != 0:
        skip("needs root (mount namespaces for the fake CVMs' /var/run)")
    for tool in ("unshare", "ssh", "ssh-keygen", "openssl", "curl"):
        if shutil.which(tool) is None:
            skip("%s not found" % tool)
    if not os.path.exists("/usr/sbin/sshd"):
        skip("/usr/sbin/sshd not found (package openssh-server)")
    r = subprocess.run(["unshare", "-m", "true"], stderr=subprocess.PIPE, timeout=10)
    if r.returncode != 0:
        skip("unshare -m is not permitted here: %s" % r.stderr.decode(errors="replace").strip())


class FakeCvm:
    """sshd + guest agent in their own mount namespace, on a loopback port."""

    def __init__(self, procs, root, tag, agent_bin, export_dir, socket_path="/var/run/dstack.sock"):
        self.dir = os.path.join(root, "cvm-" + tag)
        self.export_dir = export_dir  # where the double writes app_id/compose/authorized_keys
        os.makedirs(os.path.join(self.dir, "run", "sshd"), mode=0o755)
        r = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(self.dir, "host_ed25519")])
        assert r.returncode == 0, r.stderr
        logpath = os.path.join(self.dir, "cvm.log")
        os.makedirs(os.path.join(self.dir, "run", "dstack"), mode=0o755)
        # free_port() closes its probe socket, so another lane may take the port before sshd binds
        # it; then "listening" could even be that lane's sshd. So: our sshd's own log must say it
        # listens on our port, and a lost port is retried with a new one.
        for _attempt in range(5):
            self.port = free_port()
            cfg = os.path.join(self.dir, "sshd_config")
            with open(cfg, "w") as f:
                f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s/host_ed25519\nPidFile none\n"
                        "AuthorizedKeysFile %s/authorized_keys\nPermitRootLogin prohibit-password\n"
                        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                        "StrictModes no\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n"
                        "MaxStartups 100\nSetEnv CRABBOX_ROOT_KEYS=%s/authorized_keys\n"
                        % (self.port, self.dir, export_dir, export_dir))
            start = os.path.getsize(logpath) if os.path.exists(logpath) else 0
            log = open(logpath, "ab")
            # sh stays the parent of both and reaps them on SIGTERM (Procs.kill_all), so no zombies.
            script = ('mount --bind "$1/run" /var/run || exit 1; '
                      '"$2" --socket "$4" --cvm-dir "$3" & a=$!; '
                      '/usr/sbin/sshd -D -e -f "$1/sshd_config" & s=$!; '
                      'trap \'kill $a $s 2>/dev/null; wait\' TERM INT; wait')
            p = procs.start(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                             self.dir, agent_bin, export_dir, socket_path], stdout=log, stderr=log)
            log.close()

            def state(p=p, start=start, port=self.port):
                with open(logpath, "rb") as f:
                    f.seek(start)
                    text = f.read().decode(errors="replace")
                if "Server listening on 127.0.0.1 port %d" % port in text and self.listening():
                    return "up"
                if "Bind to port %d" % port in text or "Cannot bind any address" in text or p.poll() is not None:
                    return "lost"
                return None

            if wait_for(state, 15, "sshd of fake CVM %s" % tag) == "up":
                return
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()
        raise AssertionError("sshd of fake CVM %s: no free port after 5 tries" % tag)

    def listening(self):
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", self.port))
            return s.recv(4).startswith(b"SSH-")
        except OSError:
            return False
        finally:
            s.close()


def txt(r):
    """stdout + stderr of a finished process, as text."""
    return (r.stdout + r.stderr).decode(errors="replace")


def real_cli():
    """The real phala CLI (E2E_PHALA_CLI, installed by the setup.phala_cli fixture) when present,
    else None: the suites then run the CLI double and say so. E2E_PHALA_CLI_MODE=double forces
    the double, =real requires the real CLI."""
    mode = os.environ.get("E2E_PHALA_CLI_MODE", "")
    path = os.environ.get("E2E_PHALA_CLI", "")
    if mode == "double":
        return None
    if path and os.access(path, os.X_OK) and os.environ.get("E2E_PHALA_API"):
        return path
    if mode == "real":
        raise AssertionError("E2E_PHALA_CLI_MODE=real but the real phala CLI is not installed (%r)" % path)
    print("NOTE: the real phala CLI is not installed (setup.phala_cli skipped: offline?): "
          "this run uses the CLI double", flush=True)
    return None


# Faults of the CLI double (tests/phala-double/phala) and what makes the real CLI fail the same
# way through the loopback Phala Cloud API (tests/phala-api/phala_api_server.py).
HTTP_FAULTS = {
    "": "",
    "deploy=fail:Insufficient balance*1": "provision=402:Insufficient balance*1",
    # The real CLI retries a GET once after a 5xx (ofetch): two answers make one failed call.
    "get=fail:Internal server error*1": "get=500:Internal server error*2",
    "deploy=transient*1": "create=create-then-close*1",
    "get=hang:20*1": "get=hang:20*1",
}


def start_api(procs, root, tag, state, env_extra):
    """The loopback Phala Cloud API for one world or lane; returns its port."""
    port_file = os.path.join(root, "api-%s.port" % tag)
    log = open(os.path.join(root, "api-%s.log" % tag), "wb")
    procs.start([sys.executable, os.environ["E2E_PHALA_API"], "--state", state, "--port-file", port_file,
                 "--reject-keys", "phak_rejected"],
                env=dict(os.environ, **env_extra), stdout=log, stderr=log)
    return wait_for(read_port(port_file), 15, "phala api %s" % tag)


def api_faults(port, faults):
    body = json.dumps({"faults": faults}).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/__fake/faults" % port, data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def api_dump(state):
    """The API fake's state as the double's dump shape: {"cvms": [{name, app_id, ...}], ...}."""
    try:
        with open(state, "r", encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    d["cvms"] = d.get("apps", [])
    return d


class World:
    """Everything the phala e2e tests run against, in one temporary root (removed by close()):
    the test PKI, two gateways (a certificate for the gateway domain, one for another name), the
    phala CLI double with its state, a user config, and fake CVMs ("good" and "evil", whose sshd
    has another host key). The harness programs come from ctest's environment (E2E_*).

        w = World(); try: r, dt = w.crab(["warmup"]) ... finally: w.close()
    """

    def __init__(self, extra_config="", cvms=("good", "evil"), real=True):
        prerequisites()
        self.gw_bin, self.agent_bin, self.crabbox, self.drivers, self.double = need_env(
            "E2E_GATEWAY", "E2E_AGENT", "E2E_CRABBOX", "E2E_DRIVER_DIR", "E2E_DOUBLE")
        self.helper = os.path.join(self.drivers, "crabbox-testdriver-helper")
        self.proxy = os.path.join(self.drivers, "crabbox-phala-proxy")
        if not os.path.exists(self.helper):
            skip("crabbox-testdriver-helper not built")
        self.real = real_cli() if real else None
        self.leftovers = []
        self.procs = Procs()
        self.root = tempfile.mkdtemp(prefix="crabbox-e2e-")
        try:
            self._setup(extra_config, cvms)
        except BaseException:
            self.close()
            raise

    def _setup(self, extra_config, cvms):
        root = self.root
        os.chmod(root, 0o755)
        self.ca, self.certs = make_pki(root)
        self.export = os.path.join(root, "export")
        os.makedirs(self.export)
        self.home, self.cfg, self.state, self.cloud, self.work = (
            os.path.join(root, n) for n in ("home", "cfg", "state", "cloud", "work"))
        for p in (self.home, self.cfg, self.state, self.cloud, os.path.join(self.cfg, "crabbox")):
            os.makedirs(p, mode=0o700, exist_ok=True)
        # The current directory of crabbox (what `run` syncs to the lease): a small project.
        self.project = os.path.join(root, "project")
        os.makedirs(self.project, exist_ok=True)
        with open(os.path.join(self.project, "README"), "w") as f:
            f.write("e2e project\n")
        self.trust_root = os.path.join(root, "root.der")
        self.collateral = os.path.join(root, "collateral.json")
        assert run([self.helper, "root", self.trust_root]).returncode == 0
        assert run([self.helper, "collateral", self.collateral]).returncode == 0
        self.double_state = os.path.join(self.cloud, "state.json")
        self.api_state = os.path.join(self.cloud, "api-state.json")
        self.api_port = None
        if self.real:
            self.api_port = start_api(self.procs, root, "world", self.api_state, {
                "PHALA_DOUBLE_GATEWAY_DOMAIN": DOMAIN, "PHALA_DOUBLE_CVM_DIR": self.export,
                "PHALA_CLOUD_DIR": self.cloud})
        self.double_env()
        self.config_path = os.path.join(self.cfg, "crabbox", "config.yaml")
        with open(self.config_path, "w") as f:
            f.write("phala:\n  cli: %s\n  caBundle: %s\n  workRoot: %s\n  sshWaitSeconds: 20\n%s"
                    % (self.real or self.double, self.ca, self.work, extra_config))
        os.chmod(self.config_path, 0o600)
        # "evil" serves its agent where newer dstack images do (/var/run/dstack/dstack.sock): the
        # cases that fetch its evidence prove the driver finds it there (issue 11 §3).
        self.cvm = {tag: FakeCvm(self.procs, root, tag, self.agent_bin, self.export,
                                 "/var/run/dstack/dstack.sock" if tag == "evil" else "/var/run/dstack.sock")
                    for tag in cvms}
        self.routes = os.path.join(root, "routes")
        if cvms:
            self.route(self.cvm[cvms[0]])
        else:
            with open(self.routes, "w"):
                pass  # no route yet: lanes' doubles add one per deployed CVM
        self.gw_good = start_gateway(self.procs, self.gw_bin, root, "good", *self.certs[DOMAIN], self.routes)
        self.gw_other = start_gateway(self.procs, self.gw_bin, root, "other", *self.certs["other.test"],
                                      self.routes)
        self.base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                         "XDG_CONFIG_HOME": self.cfg, "XDG_STATE_HOME": self.state, "PHALA_CLOUD_DIR": self.cloud,
                         "PHALA_CLOUD_API_KEY": "phak_e2e_test_key", "CRABBOX_DRIVER_PATH": self.drivers,
                         "CRABBOX_PHALA_CONNECT_TO": "127.0.0.1:%d" % self.gw_good}
        if self.real:
            self.base_env["PHALA_CLOUD_API_PREFIX"] = "http://127.0.0.1:%d/api/v1" % self.api_port
            self.base_env["PHALA_DISABLE_UPDATE_CHECK"] = "1"

    def double_env(self, faults=""):
        """(Re)write the double's knobs; faults as in tests/phala-double/phala (PHALA_DOUBLE_FAULTS).
        With the real CLI the same fault is made at the HTTP level (HTTP_FAULTS)."""
        if self.real:
            api_faults(self.api_port, HTTP_FAULTS[faults])
        with open(os.path.join(self.cloud, "double.env"), "w") as f:
            f.write("PHALA_DOUBLE_GATEWAY_DOMAIN=%s\nPHALA_DOUBLE_CVM_DIR=%s\nPHALA_DOUBLE_STATE=%s\n"
                    "PHALA_DOUBLE_FAULTS=%s\n" % (DOMAIN, self.export, self.double_state, faults))

    def route(self, cvm):
        """The gateway sends every name to this fake CVM's sshd."""
        with open(self.routes + ".tmp", "w") as f:
            f.write("* 127.0.0.1:%d\n" % cvm.port)
        os.replace(self.routes + ".tmp", self.routes)

    def agent_mode(self, mode):
        """The guest agents' behaviour (tests/e2e/agent.c): ok, tamper-quote, replay, no-quote, ..."""
        with open(os.path.join(self.export, "agent_mode"), "w") as f:
            f.write(mode + "\n")

    def crab_argv(self, args):
        return [self.crabbox, "--provider", "phala", "--trust-root", self.trust_root,
                "--collateral", self.collateral] + list(args)

    def crab(self, args, env_extra=None, timeout=120):
        """Run crabbox (phala provider, test root, test collateral): (CompletedProcess, seconds)."""
        env = dict(self.base_env, **(env_extra or {}))
        t0 = time.monotonic()
        r = subprocess.run(self.crab_argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=timeout, cwd=self.project)
        return r, time.monotonic() - t0

    def add_lane(self, name, slots, extra_config="", ssh_wait=20):
        """A Lane (below) of this world with `slots` fake CVMs of its own."""
        return Lane(self, name, slots, extra_config, ssh_wait)

    def dump(self):
        if self.real:
            return api_dump(self.api_state)
        r = run([self.double, "__double", "dump"], env=dict(self.base_env, PHALA_DOUBLE_STATE=self.double_state))
        return json.loads(r.stdout) if r.returncode == 0 else None

    def cvms_left(self):
        """Names of the CVMs in the double's state (what a real account would be billed for)."""
        d = self.dump()
        return [c.get("name") for c in d.get("cvms", [])] if d is not None else ["?dump failed"]

    def app_of(self, lease_id):
        for c in (self.dump() or {}).get("cvms", []):
            if c.get("name") == "crabbox-" + lease_id.replace("_", "-"):
                return c["app_id"]
        return "?"

    def close(self):
        """Ends every harness process; self.leftovers lists what still ran afterwards (an
        invariant the suites assert: it must be empty)."""
        self.procs.kill_all()
        self.leftovers = no_process_left(self.root, grace=5.0)
        shutil.rmtree(self.root, ignore_errors=True)


class Lane:
    """An independent user of a World (TEST ONLY): its own cloud, its own pool of fake CVMs
    (PHALA_DOUBLE_CVM_POOL: deploy takes a free slot and adds the gateway route
    "<app_id>-22.e2e.test 127.0.0.1:<slot sshd port>", delete frees it), its own HOME / XDG dirs and
    crabbox config. Lanes share the World's gateways and routes file, so several can run at once
    (one lease per slot at a time).

    The cloud is reached one of two ways, chosen per case with use(): "api", the real phala CLI
    against this lane's own loopback Phala Cloud API (tests/phala-api/phala_api_server.py, state
    in its JSON file, faults made at the HTTP level), when the World has the real CLI; or
    "double", the CLI double (tests/phala-double/phala, its own state and PHALA_DOUBLE_FAULTS) for
    faults of the CLI itself. Both share the pool and the double.env hooks (route form, export
    key), which the API fake re-reads at every create and delete. Switch only when both are empty
    (between cases, after check_clean)."""

    def __init__(self, world, name, slots, extra_config="", ssh_wait=20):
        self.w = world
        self.name = name
        self.dir = os.path.join(world.root, "lane-" + name)
        self.pool = os.path.join(self.dir, "pool")
        self.home, self.cfg, self.state, self.cloud, self.work, self.project = (
            os.path.join(self.dir, n) for n in ("home", "cfg", "state", "cloud", "work", "project"))
        for p in (self.home, self.cfg, self.state, self.cloud, self.project, self.pool,
                  os.path.join(self.cfg, "crabbox")):
            os.makedirs(p, mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chmod(self.pool, 0o755)
        with open(os.path.join(self.project, "README"), "w") as f:
            f.write("e2e project of lane %s\n" % name)
        self.slots = []
        for i in range(slots):
            d = os.path.join(self.pool, "slot-%d" % i)
            os.makedirs(d, mode=0o755)
            cvm = FakeCvm(world.procs, world.root, "%s-%d" % (name, i), world.agent_bin, d)
            with open(os.path.join(d, "port"), "w") as f:
                f.write("%d\n" % cvm.port)
            self.slots.append(d)
        self.double_state = os.path.join(self.cloud, "state.json")
        self.api_state = os.path.join(self.cloud, "api-state.json")
        self.api_port = None
        self.via = None
        self.double_env()
        if world.real:
            self.api_port = start_api(world.procs, world.root, "lane-" + name, self.api_state, {
                "PHALA_DOUBLE_GATEWAY_DOMAIN": DOMAIN, "PHALA_CLOUD_DIR": self.cloud})
        self.config_path = os.path.join(self.cfg, "crabbox", "config.yaml")
        self.config_text = "phala:\n  cli: %%s\n  caBundle: %s\n  workRoot: %s\n  sshWaitSeconds: %d\n%s" % (
            world.ca, self.work, ssh_wait, extra_config)
        self.env = dict(world.base_env, HOME=self.home, XDG_CONFIG_HOME=self.cfg, XDG_STATE_HOME=self.state,
                        PHALA_CLOUD_DIR=self.cloud)
        self.use("api" if world.real else "double")

    def use(self, via):
        """The cloud of the next case: "api" (the real CLI + this lane's API fake) or "double"."""
        if via == self.via:
            return
        if via == "api" and not self.w.real:
            raise AssertionError("lane %s: the real phala CLI is not available" % self.name)
        tmp = self.config_path + ".new"
        with open(tmp, "w") as f:
            f.write(self.config_text % (self.w.real if via == "api" else self.w.double))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.config_path)
        if via == "api":
            self.env["PHALA_CLOUD_API_PREFIX"] = "http://127.0.0.1:%d/api/v1" % self.api_port
            self.env["PHALA_DISABLE_UPDATE_CHECK"] = "1"
        else:
            self.env.pop("PHALA_CLOUD_API_PREFIX", None)
        self.via = via

    def double_env(self, faults="", route_form=None, export_key=None, http=""):
        """(Re)write this lane's cloud knobs: the double's faults (PHALA_DOUBLE_FAULTS), the API
        fake's faults (http, phala_api_server.py's ROUTE=KIND[*COUNT]; cleared when empty), the
        gateway route form of new CVMs ("{port}" = the slot's sshd; e.g. drop-after-handshake) and
        PHALA_DOUBLE_EXPORT_KEY (both honoured by the double and the API fake)."""
        if self.api_port is not None:
            api_faults(self.api_port, http)
        elif http:
            raise AssertionError("HTTP faults without the API fake: %s" % http)
        lines = ["PHALA_DOUBLE_GATEWAY_DOMAIN=%s" % DOMAIN, "PHALA_DOUBLE_STATE=%s" % self.double_state,
                 "PHALA_DOUBLE_CVM_POOL=%s" % self.pool, "PHALA_DOUBLE_ROUTES=%s" % self.w.routes,
                 "PHALA_DOUBLE_FAULTS=%s" % faults]
        if route_form:
            lines.append("PHALA_DOUBLE_ROUTE_FORM=%s" % route_form)
        if export_key:
            lines.append("PHALA_DOUBLE_EXPORT_KEY=%s" % export_key)
        tmp = os.path.join(self.cloud, ".double.env.new")
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, os.path.join(self.cloud, "double.env"))
        if faults:  # a fresh fault set: its *COUNT counters start from zero
            r = run([self.w.double, "__double", "reset-faults"], env=dict(self.env, PHALA_DOUBLE_STATE=self.double_state))
            assert r.returncode == 0, r.stderr

    def argv(self, args):
        return self.w.crab_argv(args)

    def crab(self, args, env_extra=None, timeout=120, cwd=None):
        """Run crabbox as this lane's user: (CompletedProcess, seconds)."""
        env = dict(self.env, **(env_extra or {}))
        t0 = time.monotonic()
        r = subprocess.run(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=timeout, cwd=cwd or self.project)
        return r, time.monotonic() - t0

    def popen(self, args, cwd=None, env_extra=None):
        return subprocess.Popen(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(self.env, **(env_extra or {})), cwd=cwd or self.project,
                                start_new_session=True)

    def dump(self):
        """The state of the cloud in use, in the double's dump shape ({"cvms": [...], "slots": ...})."""
        if self.via == "api":
            return api_dump(self.api_state)
        r = run([self.w.double, "__double", "dump"], env=dict(self.env, PHALA_DOUBLE_STATE=self.double_state))
        return json.loads(r.stdout) if r.returncode == 0 else None

    def counts(self):
        """How many deploy / get / delete calls reached the cloud so far: the double's recorded
        calls, or the API fake's recorded requests (a deploy = its POST /cvms, the create; a
        `cvms delete` = its DELETE). A request is recorded before a fault holds it."""
        out = {"deploy": 0, "get": 0, "delete": 0}
        d = self.dump() or {}
        if self.via == "api":
            for q in d.get("requests", []):
                k = {"create": "deploy", "get": "get", "delete": "delete"}.get(q.get("route"))
                if k:
                    out[k] += 1
            return out
        for c in d.get("calls", []):
            a = c["argv"]
            k = "deploy" if a[:1] == ["deploy"] else a[1] if a[:1] == ["cvms"] and len(a) > 1 else None
            if k in out:
                out[k] += 1
        return out

    def cloud_add(self, name):
        """A CVM the user made outside crabbox."""
        if self.via == "api":
            req = urllib.request.Request("http://127.0.0.1:%d/__fake/add" % self.api_port,
                                         data=json.dumps({"name": name}).encode(), method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())["app_id"]
        r = run([self.w.double, "__double", "add", name], env=dict(self.env, PHALA_DOUBLE_STATE=self.double_state))
        assert r.returncode == 0, r.stderr
        return r.stdout.decode().strip()

    def cloud_delete(self, app_id):
        """Delete a CVM behind crabbox's back (the user's dashboard; a test's clean-up)."""
        if self.via == "api":
            req = urllib.request.Request("http://127.0.0.1:%d/__fake/delete" % self.api_port,
                                         data=json.dumps({"app_id": app_id}).encode(), method="POST")
            try:
                urllib.request.urlopen(req, timeout=10).close()
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
            return
        run([self.w.double, "cvms", "delete", "--cvm-id", app_id, "--force", "--json"],
            env=dict(self.env, PHALA_DOUBLE_STATE=self.double_state))

    def cvms(self):
        """The CVMs in this lane's double state (dicts with name, app_id, ...)."""
        d = self.dump()
        if d is None:
            raise AssertionError("the double's state could not be dumped")
        return d.get("cvms", [])

    def calls(self):
        return (self.dump() or {}).get("calls", [])

    def slot_of(self, app_id):
        for n, a in ((self.dump() or {}).get("slots") or {}).items():
            if a == app_id:
                return os.path.join(self.pool, n)
        return None

    def agent_mode(self, mode, slot=None):
        """The guest agent's behaviour in one slot dir, or in every slot of the lane."""
        for d in ([slot] if slot else self.slots):
            with open(os.path.join(d, "agent_mode"), "w") as f:
                f.write(mode + "\n")

    def agent_log(self, slot):
        try:
            with open(os.path.join(slot, "agent.log")) as f:
                return f.read().split()
        except OSError:
            return []

    def set_route(self, app_id, form):
        """Re-point the gateway route of one CVM (form as PHALA_DOUBLE_ROUTE_FORM, {port} = its slot)."""
        import fcntl
        slot = self.slot_of(app_id)
        with open(os.path.join(slot, "port")) as f:
            port = f.read().strip()
        host = "%s-22.%s" % (app_id, DOMAIN)
        fd = os.open(self.w.routes + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with open(self.w.routes) as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip() and ln.split()[0] != host]
            lines.append("%s %s" % (host, form.replace("{port}", port)))
            tmp = self.w.routes + ".new-%s" % self.name
            with open(tmp, "w") as f:
                f.write("".join(ln + "\n" for ln in lines))
            os.replace(tmp, self.w.routes)
        finally:
            os.close(fd)
