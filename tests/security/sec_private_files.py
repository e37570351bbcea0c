#!/usr/bin/env python3
"""security.private_files — check 2 with the test driver (no root needed).

A lease's life (doctor, warmup, list, attest, run --id, stop, cleanup and a rejected warmup) runs
with the user's umask set to 000. Afterwards the state directory and every directory under it are
0700 and every file in it 0600; the lease directory under the config directory is 0700 with
id_ed25519 and known_hosts 0600 and nothing group/world-writable. The lease's private key never
appears on any process's argv (sampled every few ms), in any output (plain, -v, --json) or in any
file the tools wrote other than the key itself (claims, bundles, logs, known_hosts).
The gate's HMAC key (gate.c: gate_keys, 32 bytes from getrandom per process) lives only in memory:
nothing under the state or config directory may hold a file named like a key besides id_ed25519."""
import json
import os
import stat
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seclib as S  # noqa: E402


def main():
    ck = S.Checker()
    p = S.build_paths()
    w = S.TestWorld(p)
    try:
        S.prove_detectors(ck, w.tmp)
        outputs = []

        def crab(args, **kw):
            r = w.crab(args, umask=0o000, **kw)
            outputs.append((" ".join(args), r))
            return r

        r = crab(["doctor"])
        ck.check("doctor (umask 000)", r.returncode == 0, S.txt(r))
        r = crab(["-v", "--json", "warmup", "--keep"])
        lease = None
        try:
            lease = json.loads(r.stdout)["lease"]
        except (ValueError, KeyError):
            pass
        if not ck.check("warmup (umask 000)", r.returncode == 0 and lease, S.txt(r)):
            return ck.finish()
        lease_dir = os.path.join(w.state_home, "crabbox", "leases", lease)
        keyfile = os.path.join(lease_dir, "id_ed25519")
        body = S.private_key_secret(keyfile)
        frags = S.key_fragments(body)
        ck.check("the lease key is an OpenSSH private key", len(body) > 100 and len(frags) >= 3, len(body))
        sampler = S.ProcSampler(frags, watch=set(), env_names=())
        sampler.start()
        try:
            for args in (["list", "--json"], ["-v", "list"], ["attest", lease], ["--json", "attest", lease],
                         ["-v", "run", "--no-sync", "--id", lease, "--", "sh", "-c", "echo ran"],
                         ["--json", "run", "--no-sync", "--id", lease, "--", "true"]):
                r = crab(args)
                ck.check("%s (umask 000)" % " ".join(args), r.returncode == 0, S.txt(r))
            r = crab(["--json", "warmup"], env_extra={"CRABBOX_TEST_MODE": "tamper-quote"})
            ck.check("rejected warmup: exit 3", r.returncode == 3, S.txt(r))
            # Modes while the lease exists (stop removes its directory).
            bad = S.mode_violations(w.state)
            ck.check("state dir: every directory 0700, every file 0600 (umask 000)", not bad, bad)
            cfg_bad = [v for v in S.mode_violations(os.path.join(w.cfg_home, "crabbox"))
                       if not v[0].endswith(".pub")]
            ck.check("config dir: every directory 0700, private files 0600 (umask 000)", not cfg_bad, cfg_bad)
            st = os.stat(keyfile + ".pub")
            ck.check("id_ed25519.pub not group/world-writable", stat.S_IMODE(st.st_mode) & 0o022 == 0,
                     oct(st.st_mode))
            for n in ("id_ed25519", "known_hosts"):
                m = stat.S_IMODE(os.stat(os.path.join(lease_dir, n)).st_mode)
                ck.check("%s is 0600" % n, m == 0o600, oct(m))
            keyish = []
            for root in (w.state, os.path.join(w.cfg_home, "crabbox")):
                for dp, _, fns in os.walk(root):
                    keyish += [os.path.join(dp, f) for f in fns
                               if any(t in f.lower() for t in ("secret", "hmac", "token", ".key", "id_"))
                               and not f.startswith("id_ed25519")]
            # The per-user bundle MAC key (issue 12 §2) is the one other key: 32 bytes, 0600.
            bundle_key = os.path.join(w.state, "bundle.key")
            ck.check("the bundle MAC key exists, 32 bytes, 0600 (umask 000)",
                     os.path.isfile(bundle_key) and os.path.getsize(bundle_key) == 32 and
                     stat.S_IMODE(os.stat(bundle_key).st_mode) == 0o600,
                     bundle_key)
            keyish = [k for k in keyish if k != bundle_key]
            ck.check("no key-like file besides the lease key and the bundle MAC key (the gate HMAC key stays in "
                     "memory)", not keyish, keyish)
            hits = S.scan_tree(w.tmp, frags, skip_paths=(keyfile,))
            ck.check("the private key is in no other file (claims, bundles, logs, known_hosts)", not hits, hits)
            r = crab(["stop", lease])
            ck.check("stop (umask 000)", r.returncode == 0, S.txt(r))
            r = crab(["cleanup"])
            ck.check("cleanup (umask 000)", r.returncode == 0, S.txt(r))
        finally:
            sampler.stop()
        ck.check("the private key was never on any process's argv (%d samples)" % sampler.samples,
                 not sampler.argv_hits and sampler.samples > 10, sampler.argv_hits)
        leaks = [cmd for cmd, r in outputs if any(S.find_secret(r.stdout + r.stderr, f) for f in frags.values())]
        ck.check("the private key is in no output (%d commands)" % len(outputs), not leaks, leaks)
        ck.check("stop removed the lease directory with its key", not os.path.exists(lease_dir), lease_dir)
        bad = S.mode_violations(w.state)
        ck.check("state dir after stop/cleanup: 0700 dirs, 0600 files", not bad, bad)
    finally:
        w.close()
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
