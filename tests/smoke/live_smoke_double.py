#!/usr/bin/env python3
"""smoke.live_phala_double: scripts/live-phala-smoke against the loopback world (TEST ONLY).

The smoke script is meant for a real Phala account; here it runs against tests/e2e's World: the
phala CLI double (as `phala` on PATH, also used by the script's direct delete), fake CVMs (real
sshd + guest agent), the TLS gateway, the real crabbox host and phala driver, with the test
trust root and collateral passed as extra crabbox arguments after `--`. Every case checks: exit
status, exactly one line on stdout starting with the expected classification, neither the API
key nor the smoke token in the output, and no CVM left in the double's state.

Cases: passed (happy path), quota_blocked (deploy fails "Insufficient balance"),
environment_blocked (CRABBOX_LIVE unset; provider not selected; the API key rejected),
diagnostic_only (the agent returns a tampered quote; stop fails twice, so only the script's
direct `phala cvms delete` removes the CVM), and an interrupt during warmup (exit 130, CVM rolled
back). Needs what e2e.phala_loopback needs (root, unshare, sshd, ...), else SKIP (77)."""
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import e2elib as E  # noqa: E402

SMOKE = os.path.join(ROOT, "scripts", "live-phala-smoke")
CLASSES = ("live_phala_smoke_passed", "environment_blocked", "quota_blocked", "diagnostic_only")


def main():
    failures = []

    def check(name, cond, detail=""):
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail), flush=True)
        if not cond:
            failures.append(name)

    if not os.path.exists(SMOKE):
        E.skip("scripts/live-phala-smoke missing")
    w = E.World(cvms=("good",))
    bindir = tempfile.mkdtemp(prefix="crabbox-smoke-bin-")
    try:
        os.symlink(w.double, os.path.join(bindir, "phala"))
        key = w.base_env["PHALA_CLOUD_API_KEY"]

        def env(live=True, providers="phala"):
            e = dict(w.base_env)
            e["PATH"] = bindir + os.pathsep + e["PATH"]
            if live:
                e["CRABBOX_LIVE"] = "1"
            if providers is not None:
                e["CRABBOX_LIVE_PROVIDERS"] = providers
            return e

        argv = [SMOKE, "--crabbox", w.crabbox, "--", "--trust-root", w.trust_root, "--collateral", w.collateral]

        def smoke(e, timeout=300):
            t0 = time.monotonic()
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e, timeout=timeout,
                               cwd=w.root)
            return r, time.monotonic() - t0

        def expect(name, r, dt, want, needle="", rc=0):
            out = r.stdout.decode(errors="replace")
            lines = out.splitlines()
            left = w.cvms_left()
            ok = (r.returncode == rc and len(lines) == 1 and lines[0].split(" ", 1)[0] == want
                  and needle.lower() in out.lower() and left == [] and key not in out + r.stderr.decode(errors="replace"))
            check("%s: %s (%.1fs)" % (name, lines[0][:160] if lines else "<no line>", dt), ok,
                  "rc=%d want=%s left=%s\nstdout=%r\nstderr=%s" % (r.returncode, want, left, out[-800:],
                                                                   r.stderr.decode(errors="replace")[-800:]))
            return lines[0] if lines else ""

        def calls():
            return [c.get("argv", c) for c in (w.dump() or {}).get("calls", [])]

        # ---- environment_blocked before anything runs --------------------------------------------
        n0 = len(calls())
        r, dt = smoke(env(live=False))
        expect("CRABBOX_LIVE unset", r, dt, "environment_blocked", "CRABBOX_LIVE")
        r, dt = smoke(env(providers="aws,gcp"))
        expect("phala not in CRABBOX_LIVE_PROVIDERS", r, dt, "environment_blocked", "CRABBOX_LIVE_PROVIDERS")
        check("nothing called the phala CLI while live mode was off", len(calls()) == n0, "calls: %s" % calls()[n0:])

        # ---- the happy path ---------------------------------------------------------------------
        w.agent_mode("ok")
        w.double_env()
        r, dt = smoke(env(providers="aws, phala"))
        line = expect("happy path (doctor, warmup, run with synced file + env, status, attest, list, stop)",
                      r, dt, "live_phala_smoke_passed", "PHALA_SMOKE_OK")
        deletes = [c for c in calls() if isinstance(c, list) and c[:2] == ["cvms", "delete"]]
        check("the script also deleted the CVM directly after stop", any("--force" in c for c in deletes) and
              len(deletes) >= 2, "delete calls: %s (%s)" % (deletes, line))

        # ---- quota_blocked ----------------------------------------------------------------------
        w.double_env("deploy=fail:Insufficient balance")
        r, dt = smoke(env())
        expect("deploy fails with Insufficient balance", r, dt, "quota_blocked", "warmup")

        # ---- environment_blocked: the API key is rejected --------------------------------------
        w.double_env("any=reject")
        r, dt = smoke(env())
        expect("API key rejected", r, dt, "environment_blocked", "doctor")

        # ---- diagnostic_only: tampered quote (attestation refused, crabbox rolls back) ----------
        w.double_env()
        w.agent_mode("tamper-quote")
        r, dt = smoke(env())
        expect("agent returns a tampered quote", r, dt, "diagnostic_only", "warmup failed (exit 3)")
        w.agent_mode("ok")

        # ---- diagnostic_only: stop fails twice; only the direct delete removes the CVM ----------
        w.double_env("delete=fail*2")
        r, dt = smoke(env())
        expect("stop fails (and the trap's stop too): the direct phala delete cleans up", r, dt,
               "diagnostic_only", "stop failed")
        w.double_env()

        # ---- interrupt during warmup: exit 130, the CVM rolled back ----------------------------
        w.double_env("get=hang:20*1")

        def get_calls():
            """`cvms get` calls so far, as the API fake or the double recorded them (before
            answering, so before a hang)."""
            d = w.dump() or {}
            if w.real:
                return sum(1 for q in d.get("requests", []) if q.get("route") == "get")
            return sum(1 for c in d.get("calls", []) if (c.get("argv") or [])[:2] == ["cvms", "get"])

        gets_before = get_calls()
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), cwd=w.root,
                             start_new_session=True)
        try:
            # The event, not a sleep (issue 17 §6): the CVM exists and warmup's `cvms get` (the one
            # that hangs) has arrived, so the interrupt lands in the middle of warmup.
            E.wait_for(lambda: w.cvms_left() != [] and get_calls() > gets_before, 60,
                       "the interrupted smoke's deploy and its hanging cvms get")
            os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
            out, err = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        expect("Ctrl-C during warmup", subprocess.CompletedProcess(argv, p.returncode, out, err), 0.0,
               "diagnostic_only", "interrupted", rc=130)
        w.double_env()
    finally:
        w.close()
        for f in os.listdir(bindir):
            os.unlink(os.path.join(bindir, f))
        os.rmdir(bindir)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all live-smoke checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
