#!/usr/bin/env python3
"""security.e2e_secrets — checks 1, 2 and 3 through full phala flows on the loopback world
(tests/e2e/e2elib.World: real sshd fake CVMs, TLS gateway, the phala CLI double). Needs root,
unshare, sshd (else SKIP 77).

With a distinctive PHALA_CLOUD_API_KEY and the user's umask at 000: doctor, warmup, run --id
(work-tree rsync + ssh + crabbox-phala-proxy), attest, list, cleanup, stop, a rejected warmup
(tampered quote), a failing deploy and a warmup from a repository whose crabbox.yaml says
`attest: false` and names another compose — each plain, -v and --json where it applies.
Meanwhile a sampler reads every process's argv every few ms; ssh, rsync and ssh-keygen are
wrapped on PATH to record their environment, and the sampler reads /proc/PID/environ of the
crabbox-phala-proxy processes it sees. Checked afterwards:
- the API key: on no argv (sampled, and the double's recorded call argv), in no output, in no
  file under the state, config, home, work-tree and double directories, not in the environment
  of ssh, rsync or crabbox-phala-proxy (ssh-keygen too);
- the lease's private key: on no argv, in no output, in no file but itself; the state dir and
  every dir under it 0700, every file 0600; the lease dir 0700 with id_ed25519 0600;
- a repository's `attest: false` does not turn attestation off (bundle verdict `verified`), and
  its `compose` is not what gets deployed."""
import json
import os
import shutil
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import seclib as S  # noqa: E402
import e2elib as E  # noqa: E402

KEY = "phak_E2eSecurityKey_7d3e91a0c5b2f4"
WRAPPED = ("ssh", "rsync", "ssh-keygen")


def main():
    ck = S.Checker()
    for tool in WRAPPED:
        if shutil.which(tool) is None:
            S.skip("%s not found" % tool)
    w = E.World()
    try:
        S.prove_detectors(ck, w.root)
        rec = os.path.join(w.root, "env-records")
        wrap = os.path.join(w.root, "wrap")
        os.makedirs(rec)
        os.makedirs(wrap)
        for tool in WRAPPED:
            real = shutil.which(tool)
            with open(os.path.join(wrap, tool), "w") as f:
                f.write("#!/bin/sh\nenv > %s/%s-$$\nexec %s \"$@\"\n" % (rec, tool, real))
            os.chmod(os.path.join(wrap, tool), 0o755)
        w.base_env["PHALA_CLOUD_API_KEY"] = KEY
        w.base_env["PATH"] = wrap + ":" + w.base_env["PATH"]
        proj = os.path.join(w.root, "proj")
        os.makedirs(proj)
        with open(os.path.join(proj, "hello.txt"), "w") as f:
            f.write("work tree file\n")
        outputs = []

        def crab(args, cwd=proj, env_extra=None, timeout=120):
            env = dict(w.base_env, **(env_extra or {}))
            r = subprocess.run(w.crab_argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                               timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL,
                               preexec_fn=lambda: os.umask(0o000))
            outputs.append((" ".join(args), r))
            return r

        sampler = S.ProcSampler({"api key": KEY.encode()}, watch={"crabbox-phala-proxy", "ssh", "rsync", "ssh-keygen"},
                                env_names=["PHALA_CLOUD_API_KEY"])
        sampler.start()
        lease = keyfile = frags = None
        try:
            w.agent_mode("ok")
            for args in (["doctor"], ["-v", "doctor"], ["--json", "doctor"]):
                r = crab(args)
                ck.check("%s" % " ".join(args), r.returncode == 0, S.txt(r))
            r = crab(["-v", "--json", "warmup"])
            try:
                lease = json.loads(r.stdout)["lease"]
            except (ValueError, KeyError):
                pass
            if ck.check("warmup (umask 000)", r.returncode == 0 and lease, S.txt(r)):
                lease_dir = os.path.join(w.state, "crabbox", "leases", lease)
                keyfile = os.path.join(lease_dir, "id_ed25519")
                frags = S.key_fragments(S.private_key_secret(keyfile))
                sampler.secrets = dict(frags, **{"api key": KEY.encode()})
                for args in (["run", "--id", lease, "--", "sh", "-c", "cat hello.txt"],
                             ["-v", "run", "--id", lease, "--", "true"],
                             ["--json", "run", "--id", lease, "--", "true"],
                             ["attest", lease], ["-v", "--json", "attest", lease],
                             ["list"], ["--json", "list"], ["-v", "cleanup"], ["--json", "cleanup", "--dry-run"]):
                    r = crab(args)
                    ck.check("%s (umask 000)" % " ".join(args), r.returncode == 0, S.txt(r)[-1500:])
                ck.check("run synced the work tree and ran there",
                         any(b"work tree file" in r.stdout for n, r in outputs if n.startswith("run --id")),
                         [S.txt(r)[-400:] for n, r in outputs if n.startswith("run --id")])
                bad = S.mode_violations(w.state)
                ck.check("state dir during the lease: 0700 dirs, 0600 files (umask 000)", not bad, bad)
                bad = [v for v in S.mode_violations(lease_dir) if not v[0].endswith(".pub")]
                ck.check("lease dir 0700, id_ed25519 / known_hosts / compose 0600 (umask 000)", not bad, bad)
                m = stat.S_IMODE(os.stat(keyfile).st_mode)
                ck.check("id_ed25519 is 0600", m == 0o600, oct(m))
                hits = []
                for root in (w.state, w.cfg, w.home, w.cloud, w.export, proj, w.work):
                    hits += S.scan_tree(root, frags, skip_paths=(keyfile,))
                ck.check("the lease's private key is in no other file", not hits, hits)
            # Failure paths.
            w.agent_mode("tamper-quote")
            r = crab(["--json", "warmup"])
            ck.check("rejected warmup (tampered quote): exit 3, says 'verification failed'",
                     r.returncode == 3 and "verification failed" in S.txt(r), S.txt(r)[-1200:])
            w.agent_mode("ok")
            w.double_env("deploy=fail:Insufficient balance*1")
            r = crab(["-v", "warmup"])
            ck.check("failing deploy: exit 1, says 'quota or balance'",
                     r.returncode == 1 and "quota or balance" in S.txt(r), S.txt(r)[-1200:])
            w.double_env("status=reject*1")
            r = crab(["doctor"])
            ck.check("doctor with a rejected key: fails, says 'not authenticated: Invalid API key'",
                     r.returncode != 0 and "not authenticated: Invalid API key" in S.txt(r), S.txt(r)[-1200:])
            w.double_env()
            # A repository that tries to turn attestation off and deploy its own compose.
            repo = os.path.join(w.root, "repo")
            os.makedirs(os.path.join(repo, ".git"))
            evil_compose = os.path.join(repo, "evil-compose.yml")
            with open(evil_compose, "w") as f:
                f.write("services:\n  evil:\n    image: evil/evil:latest\n")
            with open(os.path.join(repo, "crabbox.yaml"), "w") as f:
                f.write("phala:\n  attest: false\n  compose: %s\n" % evil_compose)
            r = crab(["--json", "warmup"], cwd=repo)
            o = {}
            try:
                o = json.loads(r.stdout)
            except ValueError:
                pass
            err = r.stderr.decode(errors="replace")
            ck.check("repo `attest: false`: warmup still attests (exit 0, attested true)",
                     r.returncode == 0 and o.get("attested") is True, S.txt(r)[-1200:])
            verdict = None
            try:
                with open(o.get("bundle", "")) as f:
                    verdict = json.load(f).get("verdict")
            except (OSError, ValueError):
                pass
            ck.check("repo `attest: false`: the bundle's verdict is verified", verdict == "verified", verdict)
            ck.check("repo `attest: false` and `compose`: notices printed",
                     "ignoring 'phala.attest: false'" in err and "ignoring 'phala.compose'" in err, err)
            deployed = ""
            try:
                with open(os.path.join(w.export, "compose.yml")) as f:
                    deployed = f.read()
            except OSError:
                pass
            ck.check("repo `compose` is not what was deployed", deployed and "evil/evil" not in deployed,
                     deployed[:300])
            if o.get("lease"):
                r = crab(["stop", o["lease"]], cwd=repo)
                ck.check("stop the repo lease", r.returncode == 0, S.txt(r)[-800:])
            if lease:
                r = crab(["--json", "stop", lease])
                ck.check("stop (umask 000)", r.returncode == 0 and w.cvms_left() == [], S.txt(r)[-800:])
            r = crab(["cleanup"])
            ck.check("cleanup after stop", r.returncode == 0, S.txt(r)[-800:])
        finally:
            time.sleep(0.05)
            sampler.stop()

        # ---- the API key -----------------------------------------------------------------------
        ck.check("the API key was on no process's argv (%d samples)" % sampler.samples,
                 sampler.samples > 50 and not [h for h in sampler.argv_hits if h[1] == "api key"],
                 sampler.argv_hits[:5])
        if frags:
            ck.check("the private key was on no process's argv",
                     not [h for h in sampler.argv_hits if h[1] != "api key"], sampler.argv_hits[:5])
        dump = w.dump() or {}
        calls = dump.get("calls", [])
        ck.check("the double recorded the CLI calls (%d), each with the key in its environment" % len(calls),
                 len(calls) >= 5 and all(c.get("api_key_in_env") for c in calls), calls[:2])
        ck.check("the double's recorded argv never holds the key", KEY not in json.dumps(calls), "")
        leaks = [(n, S.txt(r)[:300]) for n, r in outputs if S.find_secret(r.stdout + r.stderr, KEY.encode())]
        ck.check("the API key is in no output (%d commands)" % len(outputs), not leaks, leaks)
        if frags:
            leaks = [n for n, r in outputs if any(S.find_secret(r.stdout + r.stderr, f) for f in frags.values())]
            ck.check("the private key is in no output", not leaks, leaks)
        hits = []
        for root in (w.state, w.cfg, w.home, w.cloud, w.export, proj, w.work, os.path.join(w.root, "repo")):
            hits += S.scan_tree(root, {"api key": KEY.encode()})
        ck.check("the API key is in no file (state, config, home, double, export, work trees)", not hits, hits)
        bad = S.mode_violations(w.state)
        ck.check("state dir at the end: 0700 dirs, 0600 files (umask 000)", not bad, bad)

        # ---- environments of programs that do not need the key -----------------------------------
        recs = {}
        for n in os.listdir(rec):
            tool = n.rsplit("-", 1)[0]
            with open(os.path.join(rec, n), "rb") as f:
                recs.setdefault(tool, []).append(b"\nPHALA_CLOUD_API_KEY=" in b"\n" + f.read())
        for tool in ("ssh", "rsync"):
            got = recs.get(tool, [])
            ck.check("%s ran (%d, via the PATH wrapper)" % (tool, len(got)), len(got) >= 1, recs.keys())
            ck.check("%s does not get PHALA_CLOUD_API_KEY" % tool, got and not any(got), got)
        got = recs.get("ssh-keygen", [])
        ck.check("ssh-keygen ran (%d)" % len(got), len(got) >= 1, recs.keys())
        ck.check("ssh-keygen does not get PHALA_CLOUD_API_KEY", got and not any(got), got)
        seen = sampler.seen.get("crabbox-phala-proxy", 0)
        ck.check("the sampler saw crabbox-phala-proxy processes (%d)" % seen, seen >= 1, sampler.seen)
        for prog in ("crabbox-phala-proxy", "ssh", "rsync"):
            ck.check("sampled %s processes: no PHALA_CLOUD_API_KEY in /proc/PID/environ" % prog,
                     not sampler.env_hits.get(prog), sampler.env_hits.get(prog))
    finally:
        w.close()
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
