"""Shared helpers of the loopback harness (TEST ONLY): test PKI, processes, bounded waits."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

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


class Procs:
    """Every child process of a test; kill_all ends them (process groups) at the end."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def kill_all(self):
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
