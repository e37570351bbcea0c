#!/usr/bin/env python3
"""integration.phala_cli_contract: the CLI double must fail the way the real phala CLI does.

Each scenario runs once through the real `phala` 1.1.18 against the loopback Phala Cloud API
(tests/phala-api/phala_api_server.py, the fault made at the HTTP level) and once through the CLI
double (tests/phala-double/phala, the same fault as a double knob); both captures go through the
driver's own interpretation (phala-classify = phala_interpret) and must get the same class, which
must also be the expected one. So the double cannot drift from the real CLI again.
Also checks, with the real CLI only, that --pre-launch-script reaches the API byte for byte and
that --no-public-logs / --no-public-sysinfo are sent as false.
Env: PHALA_CLI (real CLI), PHALA_API, PHALA_DOUBLE, PHALA_CLASSIFY. SKIP (77) without the real CLI.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77
KEY = "phak_contract_test_key"
APP = "0123456789abcdef0123456789abcdef01234567"


def main():
    cli, api, dbl, classify = (os.environ.get(n, "") for n in
                               ("PHALA_CLI", "PHALA_API", "PHALA_DOUBLE", "PHALA_CLASSIFY"))
    if not (cli and os.access(cli, os.X_OK)):
        print("SKIP: the real phala CLI is not installed (setup.phala_cli)")
        return SKIP
    root = tempfile.mkdtemp(prefix="phala-contract-")
    srv = None
    failures = []
    try:
        state = os.path.join(root, "api.json")
        port_file = os.path.join(root, "port")
        log = open(os.path.join(root, "api.log"), "wb")
        srv = subprocess.Popen([sys.executable, api, "--state", state, "--port-file", port_file,
                                "--no-hooks", "--reject-keys", "phak_rejected"],
                               stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        end = time.monotonic() + 15
        while not os.path.exists(port_file):
            if time.monotonic() > end or srv.poll() is not None:
                raise AssertionError("the API fake did not start")
            time.sleep(0.05)
        port = int(open(port_file).read())
        prefix = "http://127.0.0.1:%d/api/v1" % port
        cwd = os.path.join(root, "cwd")
        os.makedirs(cwd)
        compose = os.path.join(root, "compose.yml")
        with open(compose, "w") as f:
            f.write("services:\n  crabbox:\n    image: debian:stable-slim\n")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(root, "k")], check=True)
        script = os.path.join(root, "pre.sh")
        script_bytes = "#!/bin/sh\n# crabbox pre-launch \u2713\nset -e\necho 'a \"b\"' \\\n  x\n".encode()
        with open(script, "wb") as f:
            f.write(script_bytes)

        def faults(spec):
            req = urllib.request.Request("http://127.0.0.1:%d/__fake/faults" % port,
                                         data=json.dumps({"faults": spec}).encode(), method="POST")
            urllib.request.urlopen(req, timeout=10).close()

        def run_one(kind, argv, env_extra, what, mode):
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": root,
                   "PHALA_CLOUD_DIR": os.path.join(root, "cloud-" + kind), "PHALA_DISABLE_UPDATE_CHECK": "1"}
            env.update(env_extra)
            prog = [cli] if kind == "real" else [sys.executable, dbl]
            r = subprocess.run(prog + argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=120)
            so, se = os.path.join(root, "out"), os.path.join(root, "err")
            with open(so, "wb") as f:
                f.write(r.stdout)
            with open(se, "wb") as f:
                f.write(r.stderr)
            c = subprocess.run([classify, what, mode, str(r.returncode), so, se], stdout=subprocess.PIPE,
                               timeout=30)
            code, _, msg = c.stdout.decode(errors="replace").rstrip("\n").partition("\t")
            return code, msg, r

        deploy = ["deploy", "--json", "--dev-os", "--ssh-pubkey", os.path.join(root, "k.pub"), "--wait",
                  "-n", "crabbox-cbx-0123456789ab", "-t", "tdx.small", "--compose", compose,
                  "--no-public-logs", "--no-public-sysinfo"]
        get = ["cvms", "get", "--cvm-id", APP, "--json"]
        lst = ["cvms", "list", "--page", "1", "--page-size", "100", "--json"]
        dele = ["cvms", "delete", "--cvm-id", APP, "--force", "--json"]
        key = {"PHALA_CLOUD_API_KEY": KEY}
        # (name, argv, what, mode, expected, real: (http faults, env), double: (double faults, env))
        cases = [
            ("status logged in", ["status", "--json"], "status", "status", "OK", ("", key), ("", key)),
            ("status without a key: empty", ["status", "--json"], "status", "status", "EMPTY", ("", {}), ("", {})),
            ("get of an unknown CVM", get, "cvms get", "plain", "NOT_FOUND", ("", key), ("", key)),
            ("delete of an unknown CVM", dele, "cvms delete", "plain", "NOT_FOUND", ("", key), ("", key)),
            ("list without a key: the API's 401", lst, "cvms list", "plain", "AUTH", ("", {}), ("", {})),
            ("list with a rejected key", lst, "cvms list", "plain", "AUTH",
             ("", {"PHALA_CLOUD_API_KEY": "phak_rejected"}),
             ("", {"PHALA_CLOUD_API_KEY": "phak_rejected", "PHALA_DOUBLE_REJECTED_KEYS": "phak_rejected"})),
            ("get: API unreachable", get, "cvms get", "plain", "TRANSIENT",
             ("", dict(key, PHALA_CLOUD_API_PREFIX="http://127.0.0.1:1/api/v1")), ("get=transient", key)),
            ("list: HTML 502 from a proxy", lst, "cvms list", "plain", "TRANSIENT",
             ("list=html502", key), ("list=transient", key)),
            ("get: 500 twice (the CLI retries a GET once)", get, "cvms get", "plain", "FAILED",
             ("get=500:Internal server error*2", key), ("get=fail:Internal server error", key)),
            ("unknown option", lst + ["--bogus"], "cvms list", "plain", "USAGE", ("", key), ("", key)),
            ("deploy: quota", deploy, "deploy", "deploy", "QUOTA",
             ("provision=402:Insufficient balance", key), ("deploy=fail:Insufficient balance", key)),
            ("deploy: invalid name", [a if a != "crabbox-cbx-0123456789ab" else "1x" for a in deploy], "deploy",
             "deploy", "USAGE", ("", key), ("", key)),
            ("deploy: no key", deploy, "deploy", "deploy", "AUTH", ("", {}), ("", {})),
            ("deploy ok", deploy, "deploy", "deploy", "OK", ("", key), ("", key)),
        ]
        n = 0
        for name, argv, what, mode, want, (hf, henv), (df, denv) in cases:
            faults(hf)
            henv = dict({"PHALA_CLOUD_API_PREFIX": prefix}, **henv)
            rc_real, msg_real, r1 = run_one("real", argv, henv, what, mode)
            dstate = os.path.join(root, "double-%d.json" % n)
            rc_dbl, msg_dbl, r2 = run_one("double", argv, dict(denv, PHALA_DOUBLE_STATE=dstate, PHALA_DOUBLE_FAULTS=df),
                                          what, mode)
            n += 1
            ok = rc_real == rc_dbl == want
            print(("ok   " if ok else "FAIL ") + "%s: real %s, double %s (want %s)" % (name, rc_real, rc_dbl, want),
                  flush=True)
            if not ok:
                print("     real:   %s | %s" % (msg_real, (r1.stdout + r1.stderr).decode(errors="replace")[-400:]))
                print("     double: %s | %s" % (msg_dbl, (r2.stdout + r2.stderr).decode(errors="replace")[-400:]))
                failures.append(name)
        # The real CLI only: what reaches the API.
        faults("")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": root, "PHALA_CLOUD_DIR": os.path.join(root, "cloud-real"),
               "PHALA_DISABLE_UPDATE_CHECK": "1", "PHALA_CLOUD_API_PREFIX": prefix, "PHALA_CLOUD_API_KEY": KEY}
        r = subprocess.run([cli] + deploy + ["--pre-launch-script", script], cwd=cwd, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        with open(state) as f:
            st = json.load(f)
        app = [a for a in st["apps"] if a["compose_file"].get("pre_launch_script") is not None]
        cf = app[-1]["compose_file"] if app else {}
        ok = (r.returncode == 0 and cf.get("pre_launch_script", "").encode() == script_bytes and
              cf.get("public_logs") is False and cf.get("public_sysinfo") is False and
              json.loads(app[-1]["app_compose"]).get("pre_launch_script", "").encode() == script_bytes)
        print(("ok   " if ok else "FAIL ") + "real CLI: --pre-launch-script reaches app_compose byte for byte, "
              "logs and sysinfo private", flush=True)
        if not ok:
            print((r.stdout + r.stderr).decode(errors="replace")[-800:], cf)
            failures.append("pre-launch script")
        if n != len(cases):
            failures.append("ran %d of %d cases" % (n, len(cases)))
    finally:
        if srv is not None:
            srv.terminate()
            try:
                srv.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(srv.pid, 9)
                srv.wait()
        shutil.rmtree(root, ignore_errors=True)
    if failures:
        print("%d failure(s): %s" % (len(failures), ", ".join(failures)))
        return 1
    print("all %d contract cases agree" % (len(cases) + 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
