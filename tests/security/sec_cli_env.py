#!/usr/bin/env python3
"""security.cli_env — checks 6 and the local half of 1: what the phala CLI gets and what the
host shows of it (no root needed).

`cli` is tests/security/fake-phala, which records its environment and argv and echoes the API key
on stdout and stderr (on success, and in failure JSON). With PHALA_CLOUD_API_KEY and decoy secrets
(AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, NODE_OPTIONS, SSH_AUTH_SOCK, ...) in crabbox's environment,
doctor / list / warmup (deploy fails) / cleanup run in plain, -v and --json form:
- the CLI's environment holds only the host's base variables (spawnsvc/hostsvc: PATH HOME USER
  LOGNAME LANG LC_ALL LC_CTYPE TZ TMPDIR TERM) and the driver's env_passthrough; the key is there
  (the CLI needs it), the decoys are not;
- ssh-keygen, which the host runs for the lease key (wrapped on PATH to record its environment),
  does not get the key;
- the key is on no process's argv (sampled every few ms), in no output of crabbox, and in no file
  under the state, config or home directory."""
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seclib as S  # noqa: E402

KEY = "phak_SecurityTestKey_4f9c2b7e81d0a3"
DECOYS = {"AWS_SECRET_ACCESS_KEY": "decoy-aws-secret-1", "GITHUB_TOKEN": "ghp_decoytoken123",
          "NODE_OPTIONS": "--require /tmp/decoy-hijack.js", "SSH_AUTH_SOCK": "/tmp/decoy-agent.sock",
          "CRABBOX_TEST_SECRET": "decoy-crabbox", "LD_LIBRARY_PATH": "/tmp/decoy-lib"}
BASE = {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "TERM"}
PHALA_PASSTHROUGH = {"PHALA_CLOUD_API_KEY", "PHALA_CLOUD_DIR", "PHALA_CLOUD_API_PREFIX",
                     "PHALA_DISABLE_UPDATE_CHECK", "HOME", "NODE_EXTRA_CA_CERTS"}


def read_env_dumps(d, prefix):
    dumps = []
    for n in sorted(os.listdir(d)):
        if n.startswith(prefix):
            with open(os.path.join(d, n), "rb") as f:
                data = f.read()
            sep = b"\0" if b"\0" in data else b"\n"
            dumps.append((n, dict(v.split(b"=", 1) for v in data.split(sep) if b"=" in v)))
    return dumps


def main():
    ck = S.Checker()
    p = S.build_paths()
    here = os.path.dirname(os.path.abspath(__file__))
    fake = os.path.join(here, "fake-phala")
    if not os.path.exists(p["phaladriver"]):
        S.skip("the phala driver is not built")
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        S.skip("ssh-keygen not found")
    w = S.TestWorld(p)
    try:
        S.prove_detectors(ck, w.tmp)
        cloud = os.path.join(w.tmp, "cloud")
        wrap = os.path.join(w.tmp, "wrap")
        rec = os.path.join(w.tmp, "keygen-env")
        for d in (cloud, wrap, rec):
            os.makedirs(d, mode=0o700)
        # Where the host runs ssh-keygen from PATH: a wrapper that records the environment it got.
        with open(os.path.join(wrap, "ssh-keygen"), "w") as f:
            f.write("#!/bin/sh\nenv > %s/env-$$\nexec %s \"$@\"\n" % (rec, keygen))
        os.chmod(os.path.join(wrap, "ssh-keygen"), 0o755)
        os.makedirs(os.path.join(w.cfg_home, "crabbox"), mode=0o700)
        with open(os.path.join(w.cfg_home, "crabbox", "config.yaml"), "w") as f:
            f.write("phala:\n  cli: %s\n" % fake)
        env = dict(DECOYS, PHALA_CLOUD_DIR=cloud, PHALA_CLOUD_API_KEY=KEY, CRABBOX_PROVIDER="phala",
                   PATH=wrap + ":" + w.env["PATH"])
        outputs = []
        sampler = S.ProcSampler({"api key": KEY.encode()})
        sampler.start()
        try:
            for mode in ("ok", "fail"):
                with open(os.path.join(cloud, "mode"), "w") as f:
                    f.write(mode)
                for args in (["doctor"], ["--json", "doctor"], ["-v", "doctor"], ["list"], ["--json", "list"],
                             ["-v", "list"], ["warmup"], ["--json", "warmup"], ["-v", "warmup"], ["cleanup"],
                             ["--json", "-v", "cleanup"]):
                    r = w.crab(args, env_extra=env)
                    outputs.append(("%s %s" % (mode, " ".join(args)), r))
        finally:
            sampler.stop()
        ran_fake = [n for n in os.listdir(cloud) if n.startswith("env-")]
        ck.check("the fake CLI ran (%d calls)" % len(ran_fake), len(ran_fake) >= 10, ran_fake)
        warm = [r for n, r in outputs if n.endswith("warmup")]
        ck.check("warmups fail (deploy refused) with exit 1",
                 all(r.returncode == 1 for r in warm), [(r.returncode, S.txt(r)[-300:]) for r in warm])
        doc = next(r for n, r in outputs if n == "ok --json doctor")
        ck.check("the CLI's stdout is really seen by the host (doctor --json ok)", doc.returncode == 0, S.txt(doc))
        leaks = [(n, S.txt(r)[:600]) for n, r in outputs if S.find_secret(r.stdout + r.stderr, KEY.encode())]
        ck.check("the API key is in no output of crabbox though the CLI echoes it (%d runs)" % len(outputs),
                 not leaks, leaks)
        redacted = any(b"[redacted]" in r.stdout + r.stderr for _, r in outputs)
        ck.check("the echoed key shows up redacted (the CLI's text does reach the user)", redacted, "")
        ck.check("the API key was never on any process's argv (%d samples)" % sampler.samples,
                 not sampler.argv_hits and sampler.samples > 10, sampler.argv_hits)
        argv_hits = []
        for n in os.listdir(cloud):
            if n.startswith("argv-"):
                with open(os.path.join(cloud, n), "rb") as f:
                    if KEY.encode() in f.read():
                        argv_hits.append(n)
        ck.check("the CLI's recorded argv never holds the key", not argv_hits, argv_hits)
        dumps = read_env_dumps(cloud, "env-")
        allowed = {v.encode() for v in BASE | PHALA_PASSTHROUGH}
        # bash adds these to its own environment before `env` runs.
        shell_own = {b"PWD", b"SHLVL", b"_", b"OLDPWD"}
        extra = {n: sorted(k.decode() for k in e if k not in allowed | shell_own) for n, e in dumps}
        extra = {n: v for n, v in extra.items() if v}
        ck.check("the CLI's environment: only base variables and the driver's passthrough", not extra, extra)
        ck.check("the CLI gets the API key (it needs it) and PHALA_CLOUD_DIR",
                 dumps and all(e.get(b"PHALA_CLOUD_API_KEY") == KEY.encode() and b"PHALA_CLOUD_DIR" in e
                               for _, e in dumps), [sorted(e) for _, e in dumps[:1]])
        leaked = {n: [d for d in DECOYS if d.encode() in e] for n, e in dumps}
        leaked = {n: v for n, v in leaked.items() if v}
        ck.check("no decoy secret reaches the CLI", not leaked, leaked)
        kg = read_env_dumps(rec, "env-")
        ck.check("ssh-keygen ran through the PATH wrapper (%d)" % len(kg), len(kg) >= 2, kg)
        kg_key = [n for n, e in kg if b"PHALA_CLOUD_API_KEY" in e]
        ck.check("ssh-keygen (lease key) does not get PHALA_CLOUD_API_KEY", not kg_key,
                 "%d of %d ssh-keygen runs had it" % (len(kg_key), len(kg)))
        kg_decoy = [n for n, e in kg if any(d.encode() in e for d in DECOYS)]
        ck.check("ssh-keygen gets no decoy secret", not kg_decoy, kg_decoy)
        hits = []
        for root in (w.state_home, w.cfg_home, w.home, w.work):
            hits += S.scan_tree(root, {"api key": KEY.encode()})
        ck.check("the API key is in no file under state, config, home and the cwd", not hits, hits)
    finally:
        w.close()
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
