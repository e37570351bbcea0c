#!/usr/bin/env python3
"""e2e.phala_loopback: the phala driver end to end on loopback (TEST ONLY; no Phala account).

Per fake CVM: a real OpenSSH sshd (generated host key, only the lease key authorised, which the
phala CLI double exports at deploy) and crabbox-e2e-agent (a dstack guest agent serving Info and
GetQuote from the evidence generator, the quote carrying the requested report data), both in a
private mount namespace (unshare -m) where /var/run is the fake CVM's own folder, so the driver's
production socket paths are used. crabbox-e2e-gateway terminates TLS with a test-CA certificate
for *.e2e.test and routes by SNI to the sshd. Then crabbox warmup -> run --id -> stop runs for
real (host, plugin, phala CLI double, libssh2, ssh + crabbox-phala-proxy), followed by failure
cases that must each end with a clear error, exit 3 (attestation) or the TLS error, and no CVM
left in the double's state. Needs root, unshare, sshd, ssh, openssl, python3; else SKIP (77)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402


def prerequisites():
    if os.geteuid() != 0:
        E.skip("needs root (mount namespaces for the fake CVMs' /var/run)")
    for tool in ("unshare", "ssh", "ssh-keygen", "openssl", "curl"):
        if shutil.which(tool) is None:
            E.skip("%s not found" % tool)
    if not os.path.exists("/usr/sbin/sshd"):
        E.skip("/usr/sbin/sshd not found (package openssh-server)")
    r = subprocess.run(["unshare", "-m", "true"], stderr=subprocess.PIPE, timeout=10)
    if r.returncode != 0:
        E.skip("unshare -m is not permitted here: %s" % r.stderr.decode(errors="replace").strip())


class FakeCvm:
    """sshd + guest agent in their own mount namespace, on a loopback port."""

    def __init__(self, procs, root, tag, agent_bin, export_dir):
        self.dir = os.path.join(root, "cvm-" + tag)
        self.export_dir = export_dir  # where the double writes app_id/compose/authorized_keys
        os.makedirs(os.path.join(self.dir, "run", "sshd"), mode=0o755)
        r = E.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(self.dir, "host_ed25519")])
        assert r.returncode == 0, r.stderr
        self.port = E.free_port()
        cfg = os.path.join(self.dir, "sshd_config")
        with open(cfg, "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s/host_ed25519\nPidFile none\n"
                    "AuthorizedKeysFile %s/authorized_keys\nPermitRootLogin prohibit-password\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                    "StrictModes no\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n"
                    "MaxStartups 100\n" % (self.port, self.dir, export_dir))
        log = open(os.path.join(self.dir, "cvm.log"), "wb")
        # sh stays the parent of both and reaps them on SIGTERM (Procs.kill_all), so no zombies.
        script = ('mount --bind "$1/run" /var/run || exit 1; '
                  '"$2" --socket /var/run/dstack.sock --cvm-dir "$3" & a=$!; '
                  '/usr/sbin/sshd -D -e -f "$1/sshd_config" & s=$!; '
                  'trap \'kill $a $s 2>/dev/null; wait\' TERM INT; wait')
        procs.start(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                     self.dir, agent_bin, export_dir], stdout=log, stderr=log)
        E.wait_for(self.listening, 15, "sshd of fake CVM %s" % tag)

    def listening(self):
        import socket
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", self.port))
            return s.recv(4).startswith(b"SSH-")
        except OSError:
            return False
        finally:
            s.close()


def main():
    prerequisites()
    gw_bin, agent_bin, crabbox, drivers, double = E.need_env(
        "E2E_GATEWAY", "E2E_AGENT", "E2E_CRABBOX", "E2E_DRIVER_DIR", "E2E_DOUBLE")
    helper = os.path.join(drivers, "crabbox-testdriver-helper")
    if not os.path.exists(helper):
        E.skip("crabbox-testdriver-helper not built")
    procs = E.Procs()
    failures = []
    timings = {}

    def check(name, cond, detail=""):
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail), flush=True)
        if not cond:
            failures.append(name)

    root = tempfile.mkdtemp(prefix="crabbox-e2e-")
    os.chmod(root, 0o755)
    try:
        ca, certs = E.make_pki(root)
        export = os.path.join(root, "export")
        os.makedirs(export)
        home, cfg, state, cloud, work = (os.path.join(root, n) for n in ("home", "cfg", "state", "cloud", "work"))
        for p in (home, cfg, state, cloud, os.path.join(cfg, "crabbox")):
            os.makedirs(p, mode=0o700, exist_ok=True)
        tr = os.path.join(root, "root.der")
        coll = os.path.join(root, "collateral.json")
        assert E.run([helper, "root", tr]).returncode == 0
        assert E.run([helper, "collateral", coll]).returncode == 0
        def double_env(faults=""):
            with open(os.path.join(cloud, "double.env"), "w") as f:
                f.write("PHALA_DOUBLE_GATEWAY_DOMAIN=%s\nPHALA_DOUBLE_CVM_DIR=%s\nPHALA_DOUBLE_STATE=%s\n"
                        "PHALA_DOUBLE_FAULTS=%s\n" % (E.DOMAIN, export, os.path.join(cloud, "state.json"), faults))
        double_env()
        with open(os.path.join(cfg, "crabbox", "config.yaml"), "w") as f:
            f.write("phala:\n  cli: %s\n  caBundle: %s\n  workRoot: %s\n  sshWaitSeconds: 20\n"
                    % (double, ca, work))
        os.chmod(os.path.join(cfg, "crabbox", "config.yaml"), 0o600)

        good = FakeCvm(procs, root, "good", agent_bin, export)
        evil = FakeCvm(procs, root, "evil", agent_bin, export)  # another host key
        routes = os.path.join(root, "routes")

        def route(cvm):
            with open(routes + ".tmp", "w") as f:
                f.write("* 127.0.0.1:%d\n" % cvm.port)
            os.replace(routes + ".tmp", routes)

        def agent_mode(mode):
            with open(os.path.join(export, "agent_mode"), "w") as f:
                f.write(mode + "\n")

        route(good)
        gw_good = E.start_gateway(procs, gw_bin, root, "good", *certs[E.DOMAIN], routes)
        gw_other = E.start_gateway(procs, gw_bin, root, "other", *certs["other.test"], routes)

        base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home,
                    "XDG_CONFIG_HOME": cfg, "XDG_STATE_HOME": state, "PHALA_CLOUD_DIR": cloud,
                    "PHALA_CLOUD_API_KEY": "phak_e2e_test_key", "CRABBOX_DRIVER_PATH": drivers,
                    "CRABBOX_PHALA_CONNECT_TO": "127.0.0.1:%d" % gw_good}

        def crab(args, env_extra=None, timeout=120):
            env = dict(base_env, **(env_extra or {}))
            t0 = time.monotonic()
            r = subprocess.run([crabbox, "--provider", "phala", "--trust-root", tr, "--collateral", coll] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=timeout,
                               cwd=root)
            return r, time.monotonic() - t0

        def cvms_left():
            r = E.run([double, "__double", "dump"], env=dict(base_env, PHALA_DOUBLE_STATE=os.path.join(cloud, "state.json")))
            return [c.get("name") for c in json.loads(r.stdout).get("cvms", [])] if r.returncode == 0 else ["?dump failed"]

        def app_of(lease_id):
            r = E.run([double, "__double", "dump"], env=dict(base_env, PHALA_DOUBLE_STATE=os.path.join(cloud, "state.json")))
            for c in json.loads(r.stdout).get("cvms", []):
                if c.get("name") == "crabbox-" + lease_id.replace("_", "-"):
                    return c["app_id"]
            return "?"

        def txt(r):
            return (r.stdout + r.stderr).decode(errors="replace")

        # ---- the happy path: warmup -> run --id -> attest -> stop --------------------------------
        agent_mode("ok")
        t_start = time.monotonic()
        r, dt = crab(["--json", "warmup"])
        timings["warmup"] = dt
        lease = None
        try:
            lease = json.loads(r.stdout).get("lease") if r.returncode == 0 else None
        except ValueError:
            pass
        check("warmup attests through the gateway (exit 0)", r.returncode == 0 and lease, txt(r)[-1500:])
        if lease:
            r, dt = crab(["run", "--id", lease, "--", "sh", "-c", "echo hello-from-$(hostname) && test -S /var/run/dstack.sock && pwd"])
            timings["run"] = dt
            out = r.stdout.decode(errors="replace")
            check("run --id re-attests and runs over ssh + crabbox-phala-proxy",
                  r.returncode == 0 and "hello-from-" in out and work in out, txt(r)[-1500:])
            # rsync through the same ProxyCommand and pinned key the driver gives ssh.
            if shutil.which("rsync"):
                ldir = os.path.join(cfg, "crabbox", "testboxes", lease)
                src = os.path.join(root, "rsync-src")
                os.makedirs(os.path.join(src, "sub"))
                payload = os.urandom(300000)
                with open(os.path.join(src, "sub", "blob"), "wb") as f:
                    f.write(payload)
                pc = "%s --gateway-host %s-22.%s --ca-bundle %s --connect-to 127.0.0.1:%d %s" % (
                    os.path.join(drivers, "crabbox-phala-proxy"), app_of(lease), E.DOMAIN, ca, gw_good, app_of(lease))
                sshcmd = ("ssh -i %s/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes "
                          "-o UserKnownHostsFile=%s/known_hosts -o GlobalKnownHostsFile=/dev/null "
                          "-o HostKeyAlias=%s -o 'ProxyCommand=%s'" % (ldir, ldir, lease, pc))
                dst = os.path.join(work, "rsync-dst")
                r = subprocess.run(["rsync", "-a", "-e", sshcmd, src + "/", "root@%s-22.%s:%s/" % (app_of(lease), E.DOMAIN, dst)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, env=base_env)
                same = False
                try:
                    with open(os.path.join(dst, "sub", "blob"), "rb") as f:
                        same = f.read() == payload
                except OSError:
                    pass
                check("rsync -e ssh through crabbox-phala-proxy with the pinned key", r.returncode == 0 and same,
                      txt(r)[-800:])
            r, _ = crab(["attest", lease])
            check("attest verifies the running lease again", r.returncode == 0, txt(r)[-800:])
            r, _ = crab(["run", "--id", lease, "--", "sh", "-c", "exit 7"])
            check("run passes the remote exit status", r.returncode == 7, txt(r)[-800:])
            r, dt = crab(["stop", lease])
            timings["stop"] = dt
            check("stop destroys the CVM", r.returncode == 0 and cvms_left() == [], txt(r)[-800:])
            timings["warmup_to_stop"] = time.monotonic() - t_start

        # ---- a ready lease whose gateway later routes to another sshd: run --id re-attests ----
        agent_mode("ok")
        route(good)
        r, _ = crab(["--json", "warmup"])
        lease = json.loads(r.stdout).get("lease") if r.returncode == 0 else None
        check("second warmup", lease is not None, txt(r)[-800:])
        if lease:
            agent_mode("replay")
            route(evil)
            r, _ = crab(["run", "--id", lease, "--", "echo", "must-not-run"])
            t = txt(r)
            check("run --id after the route moved to another host key: exit 3, nothing ran",
                  r.returncode == 3 and "must-not-run" not in r.stdout.decode(errors="replace"), t[-1200:])
            agent_mode("ok")
            route(good)
            r, _ = crab(["stop", lease])
            check("stop after the refused run leaves no CVM", r.returncode in (0, 4) and cvms_left() == [],
                  "rc=%d left=%s %s" % (r.returncode, cvms_left(), txt(r)[-800:]))

        # ---- failure cases: each a clear error and no CVM left -------------------------------
        cases = [
            ("tampered quote (bad signature)", "tamper-quote", good, {}, 3, "quote"),
            ("replayed quote (agent ignores the report data)", "replay", good, {}, 3, "report"),
            ("no quote call (downgrade to the Info quote)", "no-quote", good, {}, 3, "fresh"),
            ("compose not the deployed one", "tamper-compose", good, {}, 3, "compose"),
            ("wrong host key (gateway routes to another sshd)", "replay", evil, {}, 3, "report"),
            ("gateway certificate for another name", "ok", good,
             {"CRABBOX_PHALA_CONNECT_TO": "127.0.0.1:%d" % gw_other}, None, "another name"),
        ]
        for name, mode, cvm, env_extra, want_rc, needle in cases:
            agent_mode(mode)
            route(cvm)
            r, dt = crab(["warmup"], env_extra)
            t = txt(r)
            ok_rc = r.returncode == want_rc if want_rc is not None else r.returncode != 0
            left = cvms_left()
            check("%s: exit %s, says '%s', no CVM left (%.1fs)" % (name, r.returncode, needle, dt),
                  ok_rc and needle.lower() in t.lower() and left == [], "left=%s\n%s" % (left, t[-1500:]))
        route(good)
        agent_mode("ok")

        # ---- CLI failures through the host, and an interrupt during warmup ------------------
        for name, faults, want_rc, needle in (
                ("deploy fails: quota", "deploy=fail:Insufficient balance*1", 1, "quota or balance"),
                ("cvms get fails after deploy: rolled back", "get=fail:Internal server error*1", 1, "deleted Phala CVM"),
                ("deploy hangs up after creating the CVM: adopted, attested", "deploy=transient*1", 0, "")):
            double_env(faults)
            r, dt = crab(["--json", "warmup"] if want_rc == 0 else ["warmup"])
            t = txt(r)
            ok_rc = r.returncode == want_rc if want_rc is not None else r.returncode != 0
            if want_rc == 0 and r.returncode == 0:
                lease = json.loads(r.stdout).get("lease")
                r2, _ = crab(["stop", lease])
                ok_rc = r2.returncode == 0
            left = cvms_left()
            check("%s: exit %d%s, no CVM left (%.1fs)" % (name, r.returncode, ", says '%s'" % needle if needle else "", dt),
                  ok_rc and needle.lower() in t.lower() and left == [], "left=%s\n%s" % (left, t[-1500:]))
        double_env("get=hang:20*1")
        env = dict(base_env)
        p = subprocess.Popen([crabbox, "--provider", "phala", "--trust-root", tr, "--collateral", coll, "warmup"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=root)
        try:
            E.wait_for(lambda: cvms_left() != [], 30, "the deploy during the interrupted warmup")
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        left = cvms_left()
        check("SIGINT during warmup: exit %d, CVM rolled back" % p.returncode,
              p.returncode == 130 and left == [], "left=%s %s" % (left, (out + err).decode(errors="replace")[-1500:]))
        double_env()
    finally:
        procs.kill_all()
        shutil.rmtree(root, ignore_errors=True)
    for k, v in timings.items():
        print("time %s: %.2f s" % (k, v))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all e2e checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
