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
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402


def main():
    failures = []
    timings = {}

    def check(name, cond, detail=""):
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail), flush=True)
        if not cond:
            failures.append(name)

    # Keepalives every 2 s so the idle-gateway case below fits in seconds (production: 60 s).
    w = E.World(extra_config="  sshKeepaliveSeconds: 2\n")
    try:
        good, evil = w.cvm["good"], w.cvm["evil"]
        crab, cvms_left, app_of, txt = w.crab, w.cvms_left, w.app_of, E.txt
        agent_mode, route, double_env = w.agent_mode, w.route, w.double_env
        root, cfg, work, ca, gw_good, gw_other = w.root, w.cfg, w.work, w.ca, w.gw_good, w.gw_other
        drivers, base_env = w.drivers, w.base_env

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
        # The fake agent emitted a runtime event between Info and GetQuote (as a real CVM may): the
        # bundle records GetQuote's own log, which has it, while Info's log does not (issue 11 §3).
        m = re.search(r"evidence bundle saved: (\S+)", r.stderr.decode(errors="replace"))
        try:
            with open(m.group(1)) as f:
                bundle = json.load(f)
            qlog = base64.b64decode(bundle.get("quote_event_log") or "").decode()
            info = base64.b64decode(bundle.get("info") or "").decode()
            ok = "app-started" in qlog and "app-started" not in info and bundle.get("verdict") == "verified"
            detail = "quote log %d bytes, verdict %s" % (len(qlog), bundle.get("verdict"))
        except (AttributeError, OSError, ValueError) as e:
            ok, detail = False, "no readable bundle: %r" % (e,)
        check("a runtime event after Info: verified against GetQuote's own log, recorded in the bundle", ok,
              detail + "\n" + txt(r)[-800:])
        if lease:
            r, dt = crab(["run", "--id", lease, "--", "sh", "-c", "echo hello-from-$(hostname) && test -S /var/run/dstack.sock && pwd"])
            timings["run"] = dt
            out = r.stdout.decode(errors="replace")
            check("run --id re-attests and runs over ssh + crabbox-phala-proxy",
                  r.returncode == 0 and "hello-from-" in out and work in out, txt(r)[-1500:])
            # rsync through the same ProxyCommand and pinned key the driver gives ssh.
            if shutil.which("rsync"):
                ldir = os.path.join(w.state, "crabbox", "leases", lease)
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
            # run syncs the current directory (not .git, not what .gitignore excludes) and forwards --env
            # values without putting them on any command line.
            proj = os.path.join(root, "project")
            os.makedirs(os.path.join(proj, ".git"))
            os.makedirs(os.path.join(proj, "src"))
            with open(os.path.join(proj, "src", "hello.txt"), "w") as f:
                f.write("synced-content\n")
            with open(os.path.join(proj, ".gitignore"), "w") as f:
                f.write("build/\n")
            os.makedirs(os.path.join(proj, "build"))
            with open(os.path.join(proj, "build", "ignored.o"), "w") as f:
                f.write("x")
            with open(os.path.join(proj, ".git", "config"), "w") as f:
                f.write("[core]\n")
            pwned = os.path.join(root, "pwned")  # private: no fixed /tmp path shared with others
            secret = "s3cr3t-value-$(touch %s) 'quoted'" % pwned
            r = subprocess.run(w.crab_argv(["run", "--id", lease, "--env", "SMOKE_TOKEN", "--", "sh", "-c",
                                            'cat src/hello.txt; test ! -e build/ignored.o && test ! -e .git && '
                                            'printf "%s\\n" "$SMOKE_TOKEN"; ls -a | grep -c crabbox-env || true']),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, cwd=proj,
                               env=dict(base_env, SMOKE_TOKEN=secret))
            out = r.stdout.decode(errors="replace")
            check("run syncs the work tree (.git and .gitignore'd files skipped) and forwards --env",
                  r.returncode == 0 and "synced-content" in out and secret in out and out.rstrip().endswith("0")
                  and not os.path.exists(pwned), txt(r)[-1500:])
            r = subprocess.run(w.crab_argv(["run", "--id", lease, "--", "true"]), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=60, cwd=w.home, env=base_env)
            check("run refuses to sync the home directory (exit 2)", r.returncode == 2 and "home" in txt(r), txt(r)[-800:])
            r, _ = crab(["status", lease])
            check("status shows the lease running and attested",
                  r.returncode == 0 and "status=running" in txt(r) and "attested=true" in txt(r)
                  and "attestation_fresh=true" in txt(r), txt(r)[-800:])
            r, _ = crab(["--json", "status", "--wait", lease])
            try:
                st = json.loads(r.stdout)
            except ValueError:
                st = {}
            check("status --wait answers over a verified session (--json)",
                  r.returncode == 0 and st.get("answered") is True and st.get("status") == "running", txt(r)[-800:])
            r, _ = crab(["attest", lease])
            check("attest verifies the running lease again (exit 0, says 'attested')",
                  r.returncode == 0 and "attested " in txt(r), txt(r)[-800:])
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
            # Every agent RPC failure is HTTP 400: a failing GetQuote is named, never taken for a
            # missing method (issue 11 §3).
            ("quote call fails (HTTP 400 with the agent's error)", "quote-error", good, {}, None,
             "quote call failed (HTTP 400: Failed to get quote: tdx_attest_get_quote: device busy)"),
            # GetQuote's log must replay to its quote: Info's older log sent with it does not.
            ("quote sent with a log that does not replay to it", "stale-quote-log", good, {}, 3,
             "rtmr3"),
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
            if mode == "quote-error":
                check("... and does not claim the agent has no quote call", "no quote call" not in t, t[-1500:])
        # The agent's app_cert is "" while it still fetches it from the KMS: with the fresh quote
        # (whose own log has a runtime event Info's lacks, as in every case here) the lease attests.
        agent_mode("cert-pending")
        route(good)
        r, dt = crab(["--json", "warmup"])
        lease = json.loads(r.stdout).get("lease") if r.returncode == 0 else None
        check("Info's app_cert still empty (KMS pending): warmup attests with the fresh quote (%.1fs)" % dt,
              lease is not None, txt(r)[-1200:])
        agent_mode("ok")
        if lease:
            r, _ = crab(["stop", lease])
            check("... stop", r.returncode == 0 and cvms_left() == [], txt(r)[-800:])
        # The "evil" fake CVM is an honest one whose agent listens at /var/run/dstack/dstack.sock (newer
        # dstack images): with an honest agent it attests.
        agent_mode("ok")
        route(evil)
        r, dt = crab(["--json", "warmup"])
        lease = json.loads(r.stdout).get("lease") if r.returncode == 0 else None
        check("agent socket at /var/run/dstack/dstack.sock: warmup attests (%.1fs)" % dt, lease is not None,
              txt(r)[-1200:])
        route(good)
        if lease:
            r, _ = crab(["stop", lease])
            check("... stop", r.returncode == 0 and cvms_left() == [], txt(r)[-800:])

        # ---- the Info-only fallback: opt-in from a trusted source only, labelled ------------------
        agent_mode("no-quote")
        with open(os.path.join(w.project, "crabbox.yaml"), "w") as f:
            f.write("allowInfoOnlyAttestation: true\n")
        r, _ = crab(["warmup"])
        os.unlink(os.path.join(w.project, "crabbox.yaml"))
        check("a repository config cannot allow the Info-only fallback: exit 3, notice printed, no CVM left",
              r.returncode == 3 and "ignoring 'allowInfoOnlyAttestation: true'" in txt(r) and cvms_left() == [],
              txt(r)[-1200:])
        r, _ = crab(["--json", "warmup"], {"CRABBOX_ALLOW_INFO_ONLY_ATTESTATION": "true"})
        lease = json.loads(r.stdout).get("lease") if r.returncode == 0 else None
        check("allowInfoOnlyAttestation (trusted): the Info quote is accepted with a warning",
              lease is not None and "NOT bound to this SSH session" in txt(r), txt(r)[-1200:])
        if lease:
            r, _ = crab(["status", lease])
            check("... and the lease is labelled attestation_fresh=false",
                  r.returncode == 0 and "attestation_fresh=false" in txt(r), txt(r)[-800:])
            r, _ = crab(["stop", lease])
            check("... and stops cleanly", r.returncode == 0 and cvms_left() == [], txt(r)[-800:])
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
        # ---- issue 11 §3: the dstack gateway cuts idle connections; ssh keepalives prevent it ----
        import ssl
        r, _ = crab(["--json", "warmup"])
        lease = json.loads(r.stdout).get("lease") if r.returncode == 0 else None
        check("warmup for the idle-gateway case", lease is not None, txt(r)[-800:])
        if lease:
            with open(w.routes + ".tmp", "w") as f:
                f.write("* idle:4@127.0.0.1:%d\n" % good.port)
            os.replace(w.routes + ".tmp", w.routes)
            # Control: a TLS connection that sends nothing after sshd's banner is cut by this
            # gateway 4 s after the last data.
            ctx = ssl.create_default_context(cafile=ca)
            got = b""
            with E.socket.create_connection(("127.0.0.1", gw_good), timeout=20) as raw:
                with ctx.wrap_socket(raw, server_hostname="%s-22.%s" % (app_of(lease), E.DOMAIN)) as tls:
                    t_last = time.monotonic()
                    while True:
                        try:
                            chunk = tls.recv(4096)
                        except (ssl.SSLError, OSError):
                            chunk = b""
                        if not chunk:
                            break
                        got += chunk
                        t_last = time.monotonic()
            idle_dt = time.monotonic() - t_last
            check("control: the gateway cuts a connection idle for 4 s (cut %.1fs after the banner)" % idle_dt,
                  got.startswith(b"SSH-") and 3.0 <= idle_dt < 15, "got=%r, cut after %.1fs" % (got[:60], idle_dt))
            r, dt = crab(["run", "--id", lease, "--", "sh", "-c", "sleep 9; echo still-here"])
            check("a run silent for 9 s survives a gateway that cuts 4 idle seconds (ssh keepalive) (%.1fs)" % dt,
                  r.returncode == 0 and b"still-here" in r.stdout, txt(r)[-1200:])
            route(good)
            r, _ = crab(["stop", lease])
            check("... stop", r.returncode == 0 and cvms_left() == [], txt(r)[-800:])

        # ---- issue 11 §1: a phala.toml in the user's folder never redirects the deploy ----------
        if w.real:
            req = E.urllib.request.Request("http://127.0.0.1:%d/__fake/add" % w.api_port,
                                           data=json.dumps({"name": "my-web-app"}).encode(), method="POST")
            with E.urllib.request.urlopen(req, timeout=10) as resp:
                mine = json.loads(resp.read())["app_id"]
            with open(os.path.join(w.project, "phala.toml"), "w") as f:
                f.write('name = "my-web-app"\napp_id = "%s"\nprofile = "someone-else"\n' % mine)
            n_before = len(w.dump()["requests"])
            r, dt = crab(["--json", "warmup"])
            lease = json.loads(r.stdout).get("lease") if r.returncode == 0 else None
            reqs = w.dump()["requests"][n_before:]
            touched = [q for q in reqs if mine in q["path"] and q["method"] != "GET"]
            new_cvm = [c for c in w.dump()["cvms"] if c["name"] == "crabbox-" + (lease or "?").replace("_", "-")]
            check("phala.toml naming the user's app in the folder: the real CLI creates a new CVM (%.1fs), "
                  "the user's app untouched" % dt,
                  lease is not None and not touched and len(new_cvm) == 1 and
                  any(q["route"] == "provision" for q in reqs) and
                  any(c["app_id"] == mine for c in w.dump()["cvms"]),
                  "touched=%s new=%s\n%s" % (touched, new_cvm, txt(r)[-1500:]))
            r, _ = crab(["doctor"])
            check("doctor warns that ./phala.toml is ignored", "phala.toml in this folder is ignored" in txt(r),
                  txt(r)[-800:])
            if lease:
                r, _ = crab(["stop", lease])
            left = cvms_left()
            check("... stop removes only our CVM", left == ["my-web-app"], "left=%s %s" % (left, txt(r)[-800:]))
            os.unlink(os.path.join(w.project, "phala.toml"))
            req = E.urllib.request.Request("http://127.0.0.1:%d/api/v1/cvms/app_%s" % (w.api_port, mine),
                                           headers={"X-API-Key": "k"}, method="DELETE")
            E.urllib.request.urlopen(req, timeout=10).close()
        else:
            print("SKIP phala.toml case: needs the real phala CLI", flush=True)

        double_env("get=hang:20*1")
        env = dict(base_env)

        def get_calls():
            """`phala cvms get` calls the double recorded, or with the real CLI the GET /cvms/app_<id>
            requests the API fake recorded (both record before they hang)."""
            d = w.dump() or {}
            if w.real:
                return sum(1 for q in d.get("requests", []) if q.get("route") == "get")
            return sum(1 for c in d.get("calls", []) if c.get("argv", [])[:2] == ["cvms", "get"])
        gets_before = get_calls()
        p = subprocess.Popen(w.crab_argv(["warmup"]),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=root)
        try:
            E.wait_for(lambda: cvms_left() != [], 30, "the deploy during the interrupted warmup")
            # The event, not a sleep: the warmup is inside the hanging `cvms get` (issue 17 §6).
            E.wait_for(lambda: get_calls() > gets_before, 30, "the hanging cvms get of the interrupted warmup")
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
        w.close()
    check("no harness process left after the suite", not w.leftovers, repr(w.leftovers))
    for k, v in timings.items():
        print("time %s: %.2f s" % (k, v))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all e2e checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
