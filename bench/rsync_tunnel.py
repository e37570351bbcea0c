#!/usr/bin/env python3
"""bench/rsync_tunnel.py — rsync throughput through crabbox-phala-proxy (BENCHMARK, not a test).

Copies one fresh random (incompressible) file of --size-mb MB with `rsync -a --whole-file` into an
empty destination on a real sshd on 127.0.0.1, alternately

  direct  ssh -p PORT 127.0.0.1
  tunnel  ssh -o ProxyCommand='crabbox-phala-proxy --gateway-host ... --connect-to GW' NAME
          (TLS to the loopback gateway tests/e2e/gateway.c, which forwards to the same sshd)

--rounds times each (direct, tunnel, direct, tunnel, ...), with the same ssh options and cipher on
both paths, and prints MB/s per round, the medians and the ratio tunnel / direct (target >= 0.9, issue 16).
Each copy is checked byte for byte afterwards (outside the timing). It also prints the rsync,
OpenSSH and wolfSSL versions and the TLS version and cipher suite that wolfSSL negotiates with the
gateway (read from the ServerHello of one extra proxy run through a relay, off the measured path).

Needs: python3, rsync, ssh, /usr/sbin/sshd, ssh-keygen, openssl, and a Release build holding
crabbox-phala-proxy and crabbox-e2e-gateway (configured with -DCRABBOX_TESTS=ON); `--build DIR`
configures and builds it when the programs are missing (default: build-bench-rel). sshd runs as
the current user (root: logs in as root; otherwise as that user). Nothing here fails on a slow
figure: the exit status is non-zero only when a copy fails or differs.

    bench/rsync_tunnel.py [--build DIR] [--size-mb 200] [--rounds 3] [--cipher C] [--perf DIR]
                          [--proxy PATH] [--gateway PATH]

--proxy / --gateway run other builds of the two programs (e.g. an older proxy for a before/after
comparison, or a gateway variant).

--perf DIR records `perf record -g` of the proxy and the gateway during one extra tunnel copy into
DIR (proxy.data, gateway.data) for `perf report -i`.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import e2elib as E  # noqa: E402  (read-only use: test PKI, process group, gateway start, waits)

SSHD = "/usr/sbin/sshd"
TARGET = 0.9  # issue 16


def die(msg):
    print("rsync_tunnel: " + msg, file=sys.stderr)
    sys.exit(1)


def linked_wolfssl(build):
    """The wolfSSL the build links (bundled or the system's), as the build's crabbox-attest reports it;
    the proxy and the test gateway come from the same build. pkg-config would name the system library
    whatever the build links."""
    attest = os.path.join(build, "tools", "crabbox-attest", "crabbox-attest")
    if not os.access(attest, os.X_OK):
        return "? (no %s)" % attest
    lines = out_of([attest, "--version"]).splitlines()
    return next((ln[len("wolfSSL "):] for ln in lines if ln.startswith("wolfSSL ")), "?")


def out_of(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return r.stdout.decode(errors="replace").strip()


def build(bdir):
    proxy = os.path.join(bdir, "lib", "crabbox", "drivers", "crabbox-phala-proxy")
    gw = os.path.join(bdir, "tests", "e2e", "crabbox-e2e-gateway")
    if not os.path.exists(os.path.join(bdir, "CMakeCache.txt")):
        gen = ["-G", "Ninja"] if shutil.which("ninja") else []
        r = subprocess.run(["cmake", "-S", ROOT, "-B", bdir] + gen +
                           ["-DCMAKE_BUILD_TYPE=Release", "-DCRABBOX_SANITIZE=OFF", "-DCRABBOX_TESTS=ON"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            die("cmake configure failed:\n" + r.stdout.decode(errors="replace")[-2000:])
    with open(os.path.join(bdir, "CMakeCache.txt")) as f:
        cache = f.read()
    if "CMAKE_BUILD_TYPE:STRING=Release" not in cache:
        print("warning: %s is not a Release build: figures are not representative" % bdir)
    if "CRABBOX_SANITIZE:BOOL=ON" in cache:
        print("warning: %s is built with sanitizers: figures are not representative" % bdir)
    r = subprocess.run(["cmake", "--build", bdir, "--target", "crabbox-phala-proxy", "crabbox-e2e-gateway"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0 or not os.path.exists(proxy) or not os.path.exists(gw):
        die("cannot build crabbox-phala-proxy and crabbox-e2e-gateway in %s (configure it with "
            "-DCRABBOX_TESTS=ON):\n%s" % (bdir, r.stdout.decode(errors="replace")[-2000:]))
    return proxy, gw


SUITES = {0x1301: "TLS_AES_128_GCM_SHA256", 0x1302: "TLS_AES_256_GCM_SHA384",
          0x1303: "TLS_CHACHA20_POLY1305_SHA256", 0xC02B: "ECDHE-ECDSA-AES128-GCM-SHA256",
          0xC02F: "ECDHE-RSA-AES128-GCM-SHA256", 0xC02C: "ECDHE-ECDSA-AES256-GCM-SHA384",
          0xC030: "ECDHE-RSA-AES256-GCM-SHA384", 0xCCA9: "ECDHE-ECDSA-CHACHA20-POLY1305",
          0xCCA8: "ECDHE-RSA-CHACHA20-POLY1305"}
VERSIONS = {0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}


def server_hello(b):
    """(version, cipher suite) from the bytes of a server's first flight, or None if incomplete."""
    if len(b) < 5 or b[0] != 0x16:
        return None
    rec = 5 + int.from_bytes(b[3:5], "big")
    if len(b) < rec or b[5] != 2:
        return None
    h = b[9:rec]  # legacy_version(2) random(32) session_id suite compression extensions
    i = 34 + 1 + h[34]
    suite = int.from_bytes(h[i:i + 2], "big")
    version = int.from_bytes(h[0:2], "big")
    i += 3
    end = i + 2 + int.from_bytes(h[i:i + 2], "big")
    i += 2
    while i + 4 <= end:
        typ, ln = int.from_bytes(h[i:i + 2], "big"), int.from_bytes(h[i + 2:i + 4], "big")
        if typ == 0x002B and ln == 2:  # supported_versions: the version really negotiated
            version = int.from_bytes(h[i + 4:i + 6], "big")
        i += 4 + ln
    return (VERSIONS.get(version, "0x%04x" % version), SUITES.get(suite, "0x%04x" % suite))


def tls_probe(proxy, gw_port, gw_host, ca):
    """What the real proxy negotiates with the gateway: one proxy run through a relay that reads
    the ServerHello (plaintext in TLS 1.2 and 1.3). Not on the measured path."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    found = []

    def relay():
        c, _ = ls.accept()
        b = socket.create_connection(("127.0.0.1", gw_port))
        seen = b""

        def up():
            try:
                while True:
                    x = c.recv(65536)
                    if not x:
                        b.shutdown(socket.SHUT_WR)
                        return
                    b.sendall(x)
            except OSError:
                pass
        t = threading.Thread(target=up, daemon=True)
        t.start()
        while True:
            x = b.recv(65536)
            if not x:
                break
            if not found:
                seen += x
                sh = server_hello(seen)
                if sh:
                    found.append(sh)
            c.sendall(x)
        c.close()
        b.close()
    th = threading.Thread(target=relay, daemon=True)
    th.start()
    r = subprocess.run([proxy, "--gateway-host", gw_host, "--ca-bundle", ca, "--connect-to",
                        "127.0.0.1:%d" % ls.getsockname()[1], "probe"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    th.join(10)
    ls.close()
    if not found:
        return "?", "no ServerHello seen (proxy exit %d: %s)" % (r.returncode, r.stderr.decode(errors="replace"))
    return found[0]


class CpuAcct:
    """CPU time of everything this script starts (cgroup v1 cpuacct; root only), so that a copy's
    CPU cost can be read on a machine busy with other jobs: a group for this process and its
    descendants (sshd, rsync, ssh, proxy, gateway), and nested ones for the gateway (the dstack
    gateway is not on the client's machine in real use) and for the proxy (the product's cost;
    the ProxyCommand is a two-line sh wrapper that joins that group and execs the proxy).
    Absent: the CPU figures are not printed."""

    BASE = "/sys/fs/cgroup/cpuacct"
    SUBS = ("gateway", "proxy")

    def __init__(self):
        self.dir = None
        if os.geteuid() != 0 or not os.path.exists(os.path.join(self.BASE, "cpuacct.usage")):
            return
        d = os.path.join(self.BASE, "crabbox-bench-%d" % os.getpid())
        try:
            os.mkdir(d)
            for sub in self.SUBS:
                os.mkdir(os.path.join(d, sub))
            self._put(d, os.getpid())
            self.dir = d
        except OSError:
            self.close_dirs(d)

    @staticmethod
    def _put(d, pid):
        with open(os.path.join(d, "cgroup.procs"), "w") as f:
            f.write("%d\n" % pid)

    def put(self, sub, pid):
        if self.dir:
            self._put(os.path.join(self.dir, sub), pid)

    def wrap_proxy(self, proxy, d):
        """A ProxyCommand program that runs the proxy inside the proxy group (or the proxy itself)."""
        if not self.dir:
            return proxy
        w = os.path.join(d, "proxy-in-cgroup")
        with open(w, "w") as f:
            f.write("#!/bin/sh\necho $$ >%s/proxy/cgroup.procs || exit 1\nexec %s \"$@\"\n" % (self.dir, proxy))
        os.chmod(w, 0o755)
        return w

    def usage(self):
        """{"all": s, "gateway": s, "proxy": s} or None."""
        if not self.dir:
            return None
        vals = {}
        for name, d in [("all", self.dir)] + [(sub, os.path.join(self.dir, sub)) for sub in self.SUBS]:
            with open(os.path.join(d, "cpuacct.usage")) as f:
                vals[name] = int(f.read()) / 1e9
        return vals

    @classmethod
    def close_dirs(cls, d):
        for sub in [os.path.join(d, x) for x in cls.SUBS] + [d]:
            for _ in range(50):
                try:
                    os.rmdir(sub)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)  # tasks still leaving

    def close(self):
        if self.dir:
            try:
                self._put(self.BASE, os.getpid())
            except OSError:
                pass
            self.close_dirs(self.dir)


def start_sshd(procs, d, user):
    hostkey = os.path.join(d, "host_ed25519")
    ckey = os.path.join(d, "client_ed25519")
    for k in (hostkey, ckey):
        r = E.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k])
        if r.returncode != 0:
            die("ssh-keygen: " + E.txt(r))
    shutil.copy(ckey + ".pub", os.path.join(d, "authorized_keys"))
    with open(hostkey + ".pub") as f:
        hk = f.read().split()
    with open(os.path.join(d, "known_hosts"), "w") as f:
        f.write("bench-sshd %s %s\n" % (hk[0], hk[1]))
    port = E.free_port()
    cfg = os.path.join(d, "sshd_config")
    with open(cfg, "w") as f:
        f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile none\nAuthorizedKeysFile %s\n"
                "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nCompression no\n"
                "MaxStartups 100\nLogLevel ERROR\n" % (port, hostkey, os.path.join(d, "authorized_keys")))
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    log = open(os.path.join(d, "sshd.log"), "wb")
    procs.start([SSHD, "-D", "-e", "-f", cfg], stdout=log, stderr=log)

    def listening():
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", port))
            return s.recv(4).startswith(b"SSH-")
        except OSError:
            return False
        finally:
            s.close()
    E.wait_for(listening, 15, "sshd")
    return port, ckey


def ssh_words(d, ckey, cipher, extra):
    # The same options on both paths; only the port / ProxyCommand differ. Compression off:
    # the data is random anyway, and it must not differ between the paths.
    return (["ssh", "-i", ckey, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "Compression=no",
             "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + os.path.join(d, "known_hosts"),
             "-o", "GlobalKnownHostsFile=/dev/null", "-o", "HostKeyAlias=bench-sshd",
             "-o", "ControlMaster=no", "-o", "ControlPath=none", "-c", cipher] + extra)


def same_file(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def copy_once(d, src_dir, user, host, sshcmd, tag, n, acct):
    dst = os.path.join(d, "dst-%s-%d" % (tag, n))
    os.mkdir(dst)  # empty destination: rsync has nothing to compare with
    shell = " ".join("'%s'" % w.replace("'", "'\\''") for w in sshcmd)
    argv = ["rsync", "-a", "--whole-file", "-e", shell, src_dir + "/", "%s@%s:%s/" % (user, host, dst)]
    subprocess.run(["sync"])
    u0 = acct.usage()
    t0 = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    dt = time.monotonic() - t0
    time.sleep(0.2)  # the gateway's child and sshd's session end just after rsync
    u1 = acct.usage()
    if r.returncode != 0:
        die("%s rsync failed (exit %d): %s" % (tag, r.returncode, E.txt(r)[-1500:]))
    if not same_file(os.path.join(src_dir, "blob"), os.path.join(dst, "blob")):
        die("%s copy differs from the source" % tag)
    shutil.rmtree(dst)
    if u0 is None:
        return dt, None
    return dt, {k: u1[k] - u0[k] for k in u0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench-rel"))
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cipher", default="aes128-gcm@openssh.com")
    ap.add_argument("--proxy", metavar="PATH", help="another crabbox-phala-proxy (default: the build's)")
    ap.add_argument("--gateway", metavar="PATH",
                    help="another gateway program with crabbox-e2e-gateway's options (default: the build's)")
    ap.add_argument("--perf", metavar="DIR", help="perf record the proxy and gateway during one extra copy")
    a = ap.parse_args()
    for tool in ("rsync", "ssh", "ssh-keygen", "openssl"):
        if shutil.which(tool) is None:
            die("%s not found" % tool)
    if not os.path.exists(SSHD):
        die("%s not found (package openssh-server)" % SSHD)
    proxy, gw_bin = build(os.path.abspath(a.build))
    if a.gateway:
        gw_bin = os.path.abspath(a.gateway)
    if a.proxy:
        proxy = os.path.abspath(a.proxy)
    user = os.environ.get("USER") or __import__("pwd").getpwuid(os.geteuid()).pw_name
    procs = E.Procs()
    d = tempfile.mkdtemp(prefix="crabbox-bench-rsync-")
    acct = CpuAcct()
    try:
        os.chmod(d, 0o755)
        ca, certs = E.make_pki(d)
        port, ckey = start_sshd(procs, d, user)
        routes = os.path.join(d, "routes")
        with open(routes, "w") as f:
            f.write("* 127.0.0.1:%d\n" % port)
        gw = E.start_gateway(procs, gw_bin, d, "bench", *certs[E.DOMAIN], routes)
        acct.put("gateway", procs.procs[-1].pid)  # its per-connection children inherit the group
        gw_host = "bench-22." + E.DOMAIN
        src = os.path.join(d, "src")
        os.mkdir(src)
        size = a.size_mb * 1000 * 1000
        with open(os.path.join(src, "blob"), "wb") as f:
            left = size
            while left > 0:
                n = min(left, 1 << 22)
                f.write(os.urandom(n))
                left -= n
        direct = ssh_words(d, ckey, a.cipher, ["-p", str(port)])
        pc = "%s --gateway-host %s --ca-bundle %s --connect-to 127.0.0.1:%d bench" % (
            acct.wrap_proxy(proxy, d), gw_host, ca, gw)
        tunnel = ssh_words(d, ckey, a.cipher, ["-o", "ProxyCommand=" + pc])

        tls_version, suite = tls_probe(proxy, gw, gw_host, ca)
        wolf = linked_wolfssl(a.build)
        cpu = "unknown CPU"
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
        except (OSError, StopIteration):
            pass
        print("rsync:    " + out_of(["rsync", "--version"]).splitlines()[0])
        print("OpenSSH:  " + out_of(["ssh", "-V"]))
        print("wolfSSL:  %s (proxy and gateway); the proxy negotiated %s, %s" % (wolf, tls_version, suite))
        print("ssh:      cipher %s, compression off, same options on both paths" % a.cipher)
        print("data:     %d MB (10^6 bytes) from os.urandom, rsync -a --whole-file into an empty folder"
              % a.size_mb)
        print("machine:  %s, %d CPUs, load average %s" % (cpu, os.cpu_count() or 0,
                                                           " ".join(open("/proc/loadavg").read().split()[:3])))
        # warm-up: one small copy per path (also checks both work before the long copies)
        for tag, host, cmd in (("direct", "127.0.0.1", direct), ("tunnel", gw_host, tunnel)):
            r = subprocess.run(cmd + ["%s@%s" % (user, host), "true"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60)
            if r.returncode != 0:
                die("%s ssh does not work: %s" % (tag, E.txt(r)[-1500:]))
        rates = {"direct": [], "tunnel": []}
        cpus = {"direct": [], "tunnel": [], "gateway": [], "proxy": []}
        for i in range(a.rounds):
            for tag, host, cmd in (("direct", "127.0.0.1", direct), ("tunnel", gw_host, tunnel)):
                dt, u = copy_once(d, src, user, host, cmd, tag, i, acct)
                mbs = size / 1e6 / dt
                rates[tag].append(mbs)
                note = ""
                if u is not None:
                    cpus[tag].append(u["all"])
                    note = "   CPU %.2f s" % u["all"]
                    if tag == "tunnel":
                        cpus["gateway"].append(u["gateway"])
                        cpus["proxy"].append(u["proxy"])
                        note += " (proxy %.2f s, gateway %.2f s)" % (u["proxy"], u["gateway"])
                print("round %d %-6s %7.2f s %8.1f MB/s%s" % (i + 1, tag, dt, mbs, note), flush=True)
        md, mt = statistics.median(rates["direct"]), statistics.median(rates["tunnel"])
        ratio = mt / md
        print("median direct %.1f MB/s, tunnel %.1f MB/s, ratio tunnel/direct %.2f (target >= %.1f: %s), "
              "%d rounds each, alternating" % (md, mt, ratio, TARGET, "MET" if ratio >= TARGET else "MISSED",
                                               a.rounds))
        if cpus["direct"]:
            cd, ct, cg, cp = (statistics.median(cpus[k]) for k in ("direct", "tunnel", "gateway", "proxy"))
            print("median CPU per copy (every process of the copy, both ends): direct %.2f s, tunnel %.2f s, "
                  "of which crabbox-phala-proxy %.2f s (%.0f MB per CPU second) and the test gateway %.2f s; "
                  "CPU ratio direct/tunnel %.2f, %.2f without the gateway's share"
                  % (cd, ct, cp, size / 1e6 / cp if cp > 0 else 0, cg, cd / ct, cd / (ct - cg)))
        if a.perf:
            perf_run(a.perf, d, src, user, gw_host, tunnel, proxy, gw_bin, acct)
    finally:
        procs.kill_all()
        acct.close()
        shutil.rmtree(d, ignore_errors=True)
    return 0


def perf_run(pdir, d, src, user, gw_host, tunnel, proxy, gw_bin, acct):
    """One more tunnel copy with perf record attached to the proxy and the gateway's child."""
    if shutil.which("perf") is None:
        print("perf: not installed")
        return
    os.makedirs(pdir, exist_ok=True)
    recs = []

    def attach():
        # The proxy and the gateway's per-connection child appear once ssh connects.
        def pids(exe):  # by executable, not by command line (ssh and rsync carry the proxy's path)
            found = []
            for pid in os.listdir("/proc"):
                try:
                    if pid.isdigit() and os.readlink("/proc/%s/exe" % pid) == exe:
                        found.append(int(pid))
                except OSError:
                    pass
            return found
        base_gw = set(pids(os.path.realpath(gw_bin)))
        end = time.monotonic() + 20
        while time.monotonic() < end:
            pp = pids(os.path.realpath(proxy))
            gg = [p for p in pids(os.path.realpath(gw_bin)) if p not in base_gw]
            if pp and gg:
                for tag, pid in (("proxy", pp[0]), ("gateway", gg[0])):
                    recs.append(subprocess.Popen(["perf", "record", "-g", "-o", os.path.join(pdir, tag + ".data"),
                                                  "-p", str(pid)], stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL))
                return
            time.sleep(0.02)
    th = threading.Thread(target=attach)
    th.start()
    dt = copy_once(d, src, user, gw_host, tunnel, "perf", 0, acct)[0]
    th.join()
    for p in recs:
        p.send_signal(2)
        p.wait(timeout=60)
    print("perf: tunnel copy under perf took %.2f s; reports: perf report -i %s/{proxy,gateway}.data"
          % (dt, pdir))


if __name__ == "__main__":
    sys.exit(main())
