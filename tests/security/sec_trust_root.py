#!/usr/bin/env python3
"""security.trust_root — check 5: a test trust root always warns (no root needed).

Every `crabbox` command (doctor, warmup, list, attest, run, ssh, stop, cleanup — each accepts the
global --trust-root) prints the TEST ONLY warning on stderr, given by the flag and by
CRABBOX_TEST_TRUST_ROOT, with and without --json (and with -v); with --json, stdout stays one
parseable JSON document. The same for `crabbox-attest verify` (evidence files and --bundle) and
`crabbox-attest collateral fetch` (the only commands with --trust-root; neither tool has a
-q/--quiet). A run without a test root prints no such warning (the detector is not fooled by
other text)."""
import glob
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seclib as S  # noqa: E402

WARN = re.compile(rb"WARNING: (TEST ONLY trust root|--trust-root is for tests only)")


def main():
    ck = S.Checker()
    p = S.build_paths()
    w = S.TestWorld(p)
    try:
        base_env = dict(w.env)
        del base_env["CRABBOX_TEST_TRUST_ROOT"]
        w.env = base_env
        for how in ("flag", "env"):
            pre = ["--trust-root", w.root] if how == "flag" else []
            extra = {"CRABBOX_TEST_TRUST_ROOT": w.root} if how == "env" else {}
            r = w.crab(pre + ["-v", "doctor"], env_extra=extra)
            ck.check("crabbox -v doctor (%s): warning on stderr" % how, r.returncode == 0 and WARN.search(r.stderr),
                     S.txt(r))
        # No quiet mode exists that could swallow the warning: -q/--quiet are usage errors.
        for q in ("-q", "--quiet"):
            r = w.crab(["--trust-root", w.root, q, "doctor"])
            ck.check("crabbox %s is not an option (exit 2)" % q, r.returncode == 2, S.txt(r))
            r = S.run([p["attest"], "verify", q, "--trust-root", w.root, "--info", "/dev/null"], w.env)
            ck.check("crabbox-attest verify %s is not an option (exit 2)" % q, r.returncode == 2, S.txt(r))
        r = w.crab(["doctor"])
        ck.check("control: no test root, no warning", r.returncode == 0 and not WARN.search(r.stderr), S.txt(r))
        r = w.crab(["--json", "list"])
        ck.check("control: no test root, no warning (--json list)", r.returncode == 0 and not WARN.search(r.stderr),
                 S.txt(r))

        def checked(label, r, want_json, want_rc=0):
            ok_rc = r.returncode == want_rc
            ck.check("%s: exit %d, warning on stderr" % (label, r.returncode), ok_rc and WARN.search(r.stderr),
                     S.txt(r))
            if want_json:
                try:
                    o = json.loads(r.stdout)
                    ok = isinstance(o, (dict, list))
                except ValueError as e:
                    ok, o = False, e
                ck.check("%s: stdout is one JSON document" % label, ok, r.stdout[:400])
                return o if ok and isinstance(o, dict) else {}
            if label.startswith("crabbox "):  # crabbox-attest's human report repeats it on stdout
                ck.check("%s: the warning is not on stdout" % label, not WARN.search(r.stdout), r.stdout[:400])
            return {}

        attest = p["attest"]
        if not os.path.exists(attest):
            ck.check("crabbox-attest built", False, attest)
            return ck.finish()
        r = w.crab(["--trust-root", w.root, "--json", "warmup", "--keep"])
        kept = json.loads(r.stdout).get("lease") if r.returncode == 0 else None
        ck.check("a kept lease for crabbox-attest's evidence files", kept, S.txt(r))
        ev = glob.glob(os.path.join(w.state, "testdriver-cloud", "*", "evidence", "info.json"))
        quote = glob.glob(os.path.join(w.state, "testdriver-cloud", "*", "evidence", "quote.bin"))
        if ev and quote:
            for js in ([], ["--json"]):
                r = S.run([attest, "verify", "--info", ev[0], "--trust-root", w.root, "--no-dcap"] + js, w.env)
                checked("crabbox-attest verify --info %s" % " ".join(js), r, bool(js), r.returncode)
                r = S.run([attest, "verify", "--quote", quote[0], "--trust-root", w.root, "--collateral",
                           w.collateral] + js, w.env)
                checked("crabbox-attest verify --quote --collateral %s" % " ".join(js), r, bool(js), r.returncode)
                r = S.run([attest, "collateral", "fetch", "--quote", quote[0], "--pccs", "http://127.0.0.1:1",
                           "-o", os.path.join(w.tmp, "coll-out.json"), "--no-cache", "--tries", "1",
                           "--timeout", "2", "--trust-root", w.root] + js, w.env)
                checked("crabbox-attest collateral fetch (unreachable PCCS) %s" % " ".join(js), r, bool(js), 3)
        else:
            ck.check("test-driver evidence files for crabbox-attest", False, "none under the state dir")
        if kept:
            r = w.crab(["--trust-root", w.root, "stop", kept])
            ck.check("stop the kept lease", r.returncode == 0, S.txt(r))

        def claims():
            return {os.path.basename(c)[:-5] for c in glob.glob(os.path.join(w.state, "claims", "cbx_*.json"))}

        for how in ("flag", "env"):
            for mode in ([], ["--json"]):
                def crab(args, want_rc=0):
                    pre = ["--trust-root", w.root] if how == "flag" else []
                    extra = {"CRABBOX_TEST_TRUST_ROOT": w.root} if how == "env" else {}
                    r = w.crab(pre + mode + args, env_extra=extra)
                    return checked("crabbox %s %s (%s)" % (" ".join(mode), args[0], how), r,
                                   "--json" in mode and args[0] not in ("run", "ssh"), want_rc)
                crab(["doctor"])
                before = claims()
                crab(["warmup"])
                new = claims() - before
                if not ck.check("warmup (%s %s) made one lease" % (how, mode), len(new) == 1, new):
                    continue
                lease = new.pop()
                crab(["list"])
                crab(["attest", lease])
                crab(["run", "--no-sync", "--id", lease, "--", "true"])
                crab(["ssh", lease])
                crab(["stop", lease])
                crab(["cleanup"])
        bundles = glob.glob(os.path.join(w.state, "evidence", "*.json"))
        if bundles:
            for js in ([], ["--json"]):
                r = S.run([attest, "verify", "--bundle", bundles[0], "--trust-root", w.root] + js, w.env)
                o = checked("crabbox-attest verify --bundle %s" % " ".join(js), r, bool(js), 0)
                if js:
                    ck.check("crabbox-attest verify --bundle --json: verified and says so in `warning`",
                             o.get("verdict") == "verified" and "tests only" in (o.get("warning") or ""), o)
        else:
            ck.check("an evidence bundle to re-verify", False, "none")
    finally:
        w.close()
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
