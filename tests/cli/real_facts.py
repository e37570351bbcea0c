#!/usr/bin/env python3
"""real_facts.py — the real evidence through `crabbox-attest verify --json`, facts and pins.

Issue 17, parts 2 and 3. For each committed real fixture (fixtures/real/*/expected.json, written
from values computed independently of this verifier), every fact the CLI reports is compared with
the fixture's `facts` and `expect`: verdict, failed check, TCB status, advisories, FMSPC, quote
version, MRTD, RTMR0-3, MRCONFIGID, TEE_TCB_SVN, report data, and the dstack app id, compose hash,
instance id and OS image hash. A swapped RTMR or a fact taken from the wrong field fails here.

Then each security option is wired end to end: a right value verifies, a value one bit off (and a
value copied from the neighbouring field) is rejected by the check that owns the option, with its
error code and `where`: --mrtd, --rtmr0..2 (quote_measurements), --report-data (report_data),
--app-id (app_id), --compose-hash (compose_binding), --min-tcb-eval and --max-collateral-age
(tcb_info, at the exact boundary and one past it).

The fixtures are committed (CBA_FIXTURES/real): their absence is a failure, never a skip.
usage: real_facts.py (env CRABBOX_ATTEST, CBA_FIXTURES)
"""
import calendar
import json
import os
import subprocess
import sys
import time

CLI = os.environ["CRABBOX_ATTEST"]
REAL = os.path.join(os.environ["CBA_FIXTURES"], "real")
FIXTURES = ("crabbox", "dcap-qvl-tdx", "dcap-qvl-sgx")

failures = []
passed = 0


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what, flush=True)


def verify(args):
    """Runs verify --json; returns (exit status, parsed JSON). Anything on stderr but the
    test-root warning, or output that is not one JSON object, is a failure of its own."""
    p = subprocess.run([CLI, "verify", "--json", *args], capture_output=True, text=True, timeout=120)
    # The crabbox capture runs Phala's default pre-launch script: verify warns about it (issue 12
    # §1; checked below through "ssh_keys").
    err = [l for l in p.stderr.splitlines() if l.strip() and "--trust-root is for tests only" not in l
           and not l.startswith("WARNING: this CVM runs Phala Cloud's default pre-launch script")]
    check(not err, "stderr of verify %s: %s" % (" ".join(args), " | ".join(err)[:300]))
    try:
        d = json.loads(p.stdout)
    except ValueError as e:
        check(False, "verify %s: output is not JSON (%s), exit %d" % (" ".join(args), e, p.returncode))
        return p.returncode, {}
    check(isinstance(d, dict), "verify output is an object")
    return p.returncode, d


def flip(hexstr, bit=0):
    """hexstr with one bit of its last byte flipped."""
    b = bytearray(bytes.fromhex(hexstr))
    b[-1] ^= 1 << bit
    return b.hex()


def fixture_args(name, exp):
    d = os.path.join(REAL, name)
    args = ["--quote", os.path.join(d, exp["quote"]), "--at", str(exp["at"])]
    if exp.get("info"):
        args += ["--info", os.path.join(d, exp["info"])]
    if exp.get("collateral"):
        args += ["--collateral", os.path.join(d, exp["collateral"])]
    else:
        args += ["--no-dcap"]
    return args


def facts(name):
    path = os.path.join(REAL, name, "expected.json")
    if not os.path.isfile(path):
        check(False, "committed fixture missing: %s" % path)
        return None, None
    with open(path) as f:
        exp = json.load(f)
    args = fixture_args(name, exp)
    status, d = verify(args)
    q = exp["facts"]["quote"]
    tag = name + ": "
    check(d.get("verdict") == exp["verdict"], tag + "verdict %r, expected %r" % (d.get("verdict"), exp["verdict"]))
    check(status == (0 if exp["verdict"] == "verified" else 1), tag + "exit status %d" % status)
    if exp["verdict"] != "verified":
        allowed = [exp["failed_check"]] + list(exp.get("failed_check_alternatives") or [])
        check(d.get("failed_check") in allowed,
              tag + "failed_check %r not in %r" % (d.get("failed_check"), allowed))
        check(isinstance(d.get("error"), str) and d["error"].startswith("CBA_E_"), tag + "error code")
        return exp, args
    check(d.get("failed_check") is None, tag + "failed_check is null")
    check(d.get("tcb_status") == exp["tcb_status"], tag + "tcb_status %r" % d.get("tcb_status"))
    check(d.get("advisory_ids") == exp["advisory_ids"], tag + "advisory_ids %r" % d.get("advisory_ids"))
    check(d.get("dcap") == ("checked" if exp.get("collateral") else "skipped"), tag + "dcap %r" % d.get("dcap"))
    check(d.get("at") == exp["at"], tag + "at")
    check(d.get("quote_version") == q["version"], tag + "quote_version %r" % d.get("quote_version"))
    check((d.get("fmspc") or "").lower() == q["fmspc"].lower(), tag + "fmspc %r" % d.get("fmspc"))
    check(d.get("mrtd") == q["mrtd"], tag + "mrtd")
    rtmr = d.get("rtmr") or []
    check(len(rtmr) == 4, tag + "four RTMRs")
    for i in range(4):
        check(i < len(rtmr) and rtmr[i] == q["rtmr%d" % i], tag + "rtmr%d" % i)
    check(d.get("mrconfigid") == q["mrconfigid"], tag + "mrconfigid")
    check(d.get("tee_tcb_svn") == q["tee_tcb_svn"], tag + "tee_tcb_svn")
    check(d.get("report_data") == q["report_data"], tag + "report_data")
    for c in d.get("checks", []):
        check(c.get("status") in ("pass", "skip"), tag + "check %s is %s" % (c.get("name"), c.get("status")))
    check(len(d.get("checks", [])) == 18, tag + "18 checks reported")
    check([c.get("name") for c in d.get("checks", [])][-1:] == ["app_compose"], tag + "app_compose last")
    ds = exp["facts"].get("dstack")
    if ds:
        check(ds["replayed"] == [q["rtmr%d" % i] for i in range(4)], tag + "fixture replay == quote")
        check(d.get("app_id") == ds["app-id"] == exp["expect"]["app_id"], tag + "app_id %r" % d.get("app_id"))
        check(d.get("compose_hash") == ds["compose-hash"] == exp["expect"]["compose_hash"],
              tag + "compose_hash %r" % d.get("compose_hash"))
        check(d.get("instance_id") == ds["instance-id"], tag + "instance_id")
        check(d.get("os_image_hash") == ds["os-image-hash"], tag + "os_image_hash")
        check(d.get("ssh_keys") == "host-controllable", tag + "ssh_keys %r (Phala's default script)" % d.get("ssh_keys"))
    else:
        for k in ("app_id", "compose_hash", "instance_id", "os_image_hash"):
            check(d.get(k) is None, tag + "%s is null without a guest-agent response" % k)
    return exp, args


def expect_pass(args, what):
    status, d = verify(args)
    check(status == 0 and d.get("verdict") == "verified",
          "%s: expected verified, got %r/%r (%s)" % (what, d.get("verdict"), d.get("failed_check"), d.get("reason")))


def expect_reject(args, what, failed_check, error, where=None, reason_has=None):
    status, d = verify(args)
    ok = (status == 1 and d.get("verdict") == "rejected" and d.get("failed_check") == failed_check
          and d.get("error") == error and (where is None or d.get("where") == where)
          and (reason_has is None or reason_has in (d.get("reason") or "")))
    check(ok, "%s: expected rejected %s %s %s %r, got exit %d %r %r %r %r %r" % (
        what, failed_check, error, where or "", reason_has, status, d.get("verdict"),
        d.get("failed_check"), d.get("error"), d.get("where"), d.get("reason")))


def pins(exp, args):
    """--mrtd, --rtmr0..2, --report-data, --app-id, --compose-hash on the real crabbox evidence."""
    q, ds = exp["facts"]["quote"], exp["facts"]["dstack"]
    rows = [("--mrtd", q["mrtd"], q["rtmr0"])]
    rows += [("--rtmr%d" % i, q["rtmr%d" % i], q["rtmr%d" % ((i + 1) % 3)]) for i in range(3)]
    for opt, right, neighbour in rows:
        # the reason names the register, so a pin compared with the wrong register fails
        where, reg = ("mrtd", "MRTD") if opt == "--mrtd" else ("rtmr", opt[2:].upper())
        expect_pass(args + [opt, right], "crabbox %s right value" % opt)
        expect_pass(args + [opt, right.upper()], "crabbox %s right value, upper-case hex" % opt)
        for bit in (0, 7):
            expect_reject(args + [opt, flip(right, bit)], "crabbox %s one bit off (bit %d)" % (opt, bit),
                          "quote_measurements", "CBA_E_MEASUREMENT_POLICY", where, reg + " differs")
        expect_reject(args + [opt, neighbour], "crabbox %s given the neighbouring register" % opt,
                      "quote_measurements", "CBA_E_MEASUREMENT_POLICY", where, reg + " differs")
    # every pin at once, right: verified; the RTMR pins swapped: rejected
    all_pins = ["--mrtd", q["mrtd"], "--rtmr0", q["rtmr0"], "--rtmr1", q["rtmr1"], "--rtmr2", q["rtmr2"]]
    expect_pass(args + all_pins, "crabbox all four pins")
    expect_reject(args + ["--rtmr0", q["rtmr1"], "--rtmr1", q["rtmr0"]], "crabbox rtmr0/rtmr1 swapped",
                  "quote_measurements", "CBA_E_MEASUREMENT_POLICY", "rtmr")
    expect_pass(args + ["--report-data", q["report_data"]], "crabbox --report-data right value")
    expect_reject(args + ["--report-data", flip(q["report_data"])], "crabbox --report-data one bit off",
                  "report_data", "CBA_E_REPORT_DATA_MISMATCH")
    expect_pass(args + ["--app-id", ds["app-id"]], "crabbox --app-id right value")
    expect_reject(args + ["--app-id", flip(ds["app-id"])], "crabbox --app-id one bit off",
                  "app_id", "CBA_E_APP_ID_MISMATCH")
    expect_pass(args + ["--compose-hash", ds["compose-hash"]], "crabbox --compose-hash right value")
    expect_reject(args + ["--compose-hash", flip(ds["compose-hash"])], "crabbox --compose-hash one bit off",
                  "compose_binding", "CBA_E_COMPOSE_HASH_MISMATCH")


def collateral_policy(exp, args):
    """--min-tcb-eval and --max-collateral-age on the real dcap-qvl TDX collateral."""
    with open(os.path.join(REAL, "dcap-qvl-tdx", exp["collateral"])) as f:
        tcb = json.loads(json.load(f)["tcb_info"])
    n = tcb["tcbEvaluationDataNumber"]
    issued = calendar.timegm(time.strptime(tcb["issueDate"], "%Y-%m-%dT%H:%M:%SZ"))
    age = exp["at"] - issued
    check(age > 0, "dcap-qvl-tdx: TCB info issued before `at`")
    expect_pass(args + ["--min-tcb-eval", str(n)], "dcap-qvl-tdx --min-tcb-eval %d (equal)" % n)
    expect_reject(args + ["--min-tcb-eval", str(n + 1)], "dcap-qvl-tdx --min-tcb-eval %d" % (n + 1),
                  "tcb_info", "CBA_E_COLLATERAL_EXPIRED", "tcb_info.tcbEvaluationDataNumber")
    expect_pass(args + ["--max-collateral-age", str(age)], "dcap-qvl-tdx --max-collateral-age %d (exact)" % age)
    expect_reject(args + ["--max-collateral-age", str(age - 1)],
                  "dcap-qvl-tdx --max-collateral-age %d" % (age - 1),
                  "tcb_info", "CBA_E_COLLATERAL_EXPIRED", "tcb_info.issueDate")


def main():
    results = {name: facts(name) for name in FIXTURES}
    exp, args = results["crabbox"]
    if exp:
        pins(exp, args)
    exp, args = results["dcap-qvl-tdx"]
    if exp:
        collateral_policy(exp, args)
    print("real_facts: %d checks passed, %d failed" % (passed, len(failures)))
    # a floor on the number of checks: a loop that silently stops running fails too
    if passed + len(failures) < 150:
        print("FAIL: only %d checks ran" % (passed + len(failures)))
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
