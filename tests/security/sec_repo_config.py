#!/usr/bin/env python3
"""security.repo_config — check 3: a repository cannot choose what runs (no root needed).

With the phala driver and the phala CLI double as the user's (trusted) `cli`, a repository file
(crabbox.yaml, .crabbox.yaml in the current directory) or a CRABBOX_CONFIG file inside the
repository (config.c: the nearest parent with .git, else the current directory; resolved with
realpath, so a symlink from outside does not launder it) sets `cli` to a script that would create a
marker file, plus nodeId, compose, caBundle, proxy and `attest: false`. The script must not run,
each ignored key is named in a warning with file and line, `doctor --json` shows the trusted
values and attestation on. Positive controls: the same script as `cli` in the user config, in a
CRABBOX_CONFIG outside the repository and in CRABBOX_PHALA_CLI does run, and `attest: false` from
the user config does turn attestation off (so the detectors work). A trusted file others can write
is refused (exit 2)."""
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seclib as S  # noqa: E402

EVIL_KEYS = "  nodeId: \"666\"\n  compose: {evil}/evil-compose.yml\n  caBundle: {evil}/evil-ca.pem\n  proxy: {evil}/evil.sh\n"


def main():
    ck = S.Checker()
    p = S.build_paths()
    double = os.path.join(os.environ.get("CBA_SOURCE_DIR", ""), "tests", "phala-double", "phala")
    if not os.path.exists(p["phaladriver"]) or not os.path.exists(double):
        S.skip("the phala driver or the phala CLI double is missing")
    w = S.TestWorld(p)
    try:
        cloud = os.path.join(w.tmp, "cloud")
        evil_dir = os.path.join(w.tmp, "evil")
        os.makedirs(cloud, mode=0o700)
        os.makedirs(evil_dir)
        marker = os.path.join(w.tmp, "MARKER")
        evil = os.path.join(evil_dir, "evil.sh")
        with open(evil, "w") as f:
            # Would run anything; here it leaves a marker, then behaves like the CLI.
            f.write("#!/bin/sh\necho ran >> %s\nexec %s \"$@\"\n" % (marker, double))
        os.chmod(evil, 0o755)
        with open(os.path.join(evil_dir, "evil-compose.yml"), "w") as f:
            f.write("services: {evil: {image: evil}}\n")
        user_cfg = os.path.join(w.cfg_home, "crabbox", "config.yaml")
        os.makedirs(os.path.dirname(user_cfg), mode=0o700)

        def user_config(text):
            with open(user_cfg, "w") as f:
                f.write(text)
            os.chmod(user_cfg, 0o600)

        trusted = "phala:\n  cli: %s\n" % double
        user_config(trusted)
        env = {"PHALA_CLOUD_DIR": cloud, "PHALA_CLOUD_API_KEY": "phak_repo_config_test_key_0123456789",
               "CRABBOX_PROVIDER": "phala"}

        def doctor(cwd, extra=None):
            if os.path.exists(marker):
                os.unlink(marker)
            r = w.crab(["--json", "doctor"], env_extra=dict(env, **(extra or {})), cwd=cwd)
            try:
                o = json.loads(r.stdout)
            except ValueError:
                o = {}
            return r, o, os.path.exists(marker)

        def cfg(o, key):
            return ((o.get("config") or {}).get("phala") or {}).get(key, {}).get("value")

        # Positive controls: the detector (marker) and the attest switch work from trusted places.
        r, o, ran = doctor(w.work)
        ck.check("baseline: doctor with the user's cli (the double)", r.returncode == 0 and not ran and
                 o.get("attest") is True, S.txt(r))
        user_config("phala:\n  cli: %s\n" % evil)
        r, o, ran = doctor(w.work)
        ck.check("control: `cli` from the user config runs (marker created)", ran, S.txt(r))
        user_config(trusted)
        r, o, ran = doctor(w.work, {"CRABBOX_PHALA_CLI": evil})
        ck.check("control: CRABBOX_PHALA_CLI from the environment runs", ran, S.txt(r))
        user_config(trusted + "  attest: false\n")
        r, o, ran = doctor(w.work)
        ck.check("control: `attest: false` from the user config turns attestation off",
                 r.returncode == 0 and o.get("attest") is False, S.txt(r))
        user_config(trusted)

        # Repository files in the current directory.
        for name in ("crabbox.yaml", ".crabbox.yaml"):
            repo = os.path.join(w.tmp, "repo" + name.replace(".", "_"))
            os.makedirs(repo)
            with open(os.path.join(repo, name), "w") as f:
                f.write("phala:\n  cli: %s\n%s  attest: false\n  instanceType: tdx.medium\n"
                        % (evil, EVIL_KEYS.format(evil=evil_dir)))
            r, o, ran = doctor(repo)
            err = r.stderr.decode(errors="replace")
            ck.check("%s: `cli` pointing at a script is not run" % name, not ran and r.returncode == 0, S.txt(r))
            for line, key in ((2, "cli"), (3, "nodeId"), (4, "compose"), (5, "caBundle"), (6, "proxy")):
                ck.check("%s: notice names the ignored key %s (file:line)" % (name, key),
                         "%s:%d: ignoring 'phala.%s'" % (name, line, key) in err, err)
            ck.check("%s: notice for `attest: false`" % name, "%s:7: ignoring 'phala.attest: false'" % name in err, err)
            ck.check("%s: attestation stays on, trusted cli kept, nodeId/compose/caBundle/proxy unset" % name,
                     o.get("attest") is True and cfg(o, "cli") == double and cfg(o, "nodeId") is None and
                     cfg(o, "compose") is None and cfg(o, "caBundle") is None and cfg(o, "proxy") is None, o.get("config"))
            ck.check("%s: an allowed key still applies (instanceType)" % name, cfg(o, "instanceType") == "tdx.medium",
                     o.get("config"))
            # attest: true from a repository is accepted (it can only make things stricter).
            with open(os.path.join(repo, name), "w") as f:
                f.write("phala:\n  attest: true\n")
            r, o, ran = doctor(repo, {"CRABBOX_PHALA_ATTEST": "true"})
            ck.check("%s: `attest: true` is accepted silently" % name,
                     r.returncode == 0 and "ignoring" not in r.stderr.decode(errors="replace"), S.txt(r))

        # CRABBOX_CONFIG inside the repository is untrusted too.
        repo = os.path.join(w.tmp, "gitrepo")
        sub = os.path.join(repo, "src", "deep")
        os.makedirs(sub)
        os.makedirs(os.path.join(repo, ".git"))
        inside = os.path.join(repo, "ci.yaml")
        with open(inside, "w") as f:
            f.write("phala:\n  cli: %s\n  attest: false\n" % evil)
        os.chmod(inside, 0o600)
        r, o, ran = doctor(sub, {"CRABBOX_CONFIG": inside})
        err = r.stderr.decode(errors="replace")
        ck.check("CRABBOX_CONFIG at the repository root (cwd in a subdirectory, .git above): cli not run",
                 not ran and r.returncode == 0 and "ci.yaml:2: ignoring 'phala.cli'" in err, S.txt(r))
        ck.check("CRABBOX_CONFIG inside the repository: attest: false ignored",
                 o.get("attest") is True and "ci.yaml:3: ignoring 'phala.attest: false'" in err, S.txt(r))
        link = os.path.join(w.tmp, "outside-link.yaml")
        os.symlink(inside, link)
        r, o, ran = doctor(sub, {"CRABBOX_CONFIG": link})
        ck.check("CRABBOX_CONFIG: a symlink outside the repository to a file inside is still untrusted",
                 not ran and r.returncode == 0 and o.get("attest") is True, S.txt(r))
        norepo = os.path.join(w.tmp, "norepo")
        os.makedirs(os.path.join(norepo, "conf"))
        inside2 = os.path.join(norepo, "conf", "c.yaml")
        with open(inside2, "w") as f:
            f.write("phala:\n  cli: %s\n" % evil)
        r, o, ran = doctor(norepo, {"CRABBOX_CONFIG": inside2})
        ck.check("CRABBOX_CONFIG under the current directory (no .git anywhere): untrusted",
                 not ran and r.returncode == 0 and "c.yaml:2: ignoring 'phala.cli'" in r.stderr.decode(errors="replace"),
                 S.txt(r))
        outside = os.path.join(w.tmp, "outside.yaml")
        with open(outside, "w") as f:
            f.write("phala:\n  cli: %s\n" % evil)
        os.chmod(outside, 0o600)
        r, o, ran = doctor(sub, {"CRABBOX_CONFIG": outside})
        ck.check("control: CRABBOX_CONFIG outside the repository is trusted (its cli runs)", ran, S.txt(r))
        os.chmod(outside, 0o666)
        r, o, ran = doctor(sub, {"CRABBOX_CONFIG": outside})
        ck.check("a trusted CRABBOX_CONFIG writable by others is refused: exit 2, names the file, nothing runs",
                 r.returncode == 2 and outside in r.stderr.decode(errors="replace") and not ran, S.txt(r))
        os.chmod(outside, 0o600)
        os.chmod(user_cfg, 0o620)
        r, o, ran = doctor(w.work)
        ck.check("a group-writable user config is refused: exit 2, names the file",
                 r.returncode == 2 and user_cfg in r.stderr.decode(errors="replace") and not ran, S.txt(r))
        os.chmod(user_cfg, 0o600)
    finally:
        w.close()
    return ck.finish()


if __name__ == "__main__":
    sys.exit(main())
