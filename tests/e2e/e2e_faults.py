#!/usr/bin/env python3
"""e2e.phala_faults: a failure or a kill at every step of warmup, run (with and without --id), stop,
list and doctor, through the real host, phala driver, libssh2, ssh and proxy on loopback (TEST ONLY).

Only the cloud is a stand-in. By default each case runs the real `phala` CLI (1.1.18, installed by
the setup.phala_cli fixture) against the lane's own loopback Phala Cloud API
(tests/phala-api/phala_api_server.py), which makes the case's fault at the HTTP level: an error
answer with a JSON detail (400, 401, 402, 500), an HTML 502, a held request (hang: the driver's
deadline fires first), a dropped connection before or after creating, a truncated or non-JSON body,
a refused connection (the API's address unreachable). Only faults of the CLI itself — garbage or a
cut-off document on its stdout, anything of `--version` (answered locally) — run the CLI double
(tests/phala-double/phala, PHALA_DOUBLE_FAULTS); each such case says why in its line
(check_table refuses a double case without a reason or with an HTTP-expressible fault). Other
faults: the gateway's route forms (tests/e2e/gateway.c: no route, closed port, drop after the TLS
handshake, stall, drop in the middle of the SSH stream), the lease key not being authorised, the
guest agent's modes (tests/e2e/agent.c: hang, close, garbage, tampered quote) and SIGKILL / SIGINT
of crabbox at each step (a kill during a CLI call is triggered by the API fake's record of the
request it holds). After every case:
  (a) the exit code of docs (phala-provider.md §12) and a message naming the cause, no traceback;
  (b) `crabbox list --json` agrees with the cloud's state; a claim naming a CVM that is gone is
      allowed only when marked for recovery or declared so by the case (then `cleanup` removes it);
  (c) after the case's recovery (none, `stop` again, or `cleanup` — column `rec` of the table) no
      CVM, claim, lease key dir or driver record is left;
  (d) no temp file (*.tmp*, mkstemp / rsync leftovers) under the state, config, home and work dirs,
      and no lease dir without a claim.
Each invariant check is first shown to fire on a planted violation. Cases run in three independent
lanes (own API fake and double, fake CVMs, XDG dirs) at once; then a parallel phase runs several
leases of one lane concurrently with faults hitting some of them. Needs what e2e.phala_loopback
needs and the real CLI (else 77).

Ambiguous-create claims wait 5 minutes before cleanup touches them (phala-provider.md §6): cases
with recovery `cleanup*` age the claim and the driver record by 10 minutes first (their created_at
is rewritten), which stands in for the wait."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2elib as E  # noqa: E402

# Short deadlines so that hangs end in seconds; the evidence cap leaves a healthy agent (ASan build,
# loaded 2-core machine) room to answer, the CLI cap the real CLI (node: ~1.2-1.8 s a call on an idle
# machine, of which ~1 s start-up; three lanes at once on a loaded 2-core machine) room to finish.
CLI_CAP, EVIDENCE_CAP, ADOPT_WAIT, SSH_WAIT = 10, 4, 2, 1
LANE_CONFIG = ("  cliTimeoutSeconds: %d\n  evidenceTimeoutSeconds: %d\n  adoptWaitSeconds: %d\n"
               % (CLI_CAP, EVIDENCE_CAP, ADOPT_WAIT))
TEMP_RE = re.compile(r"(\.tmp|\.new-|^\..+\.[A-Za-z0-9]{6}$)")
GARBAGE_RE = re.compile(r"Traceback \(most recent call last\)|AddressSanitizer|runtime error:|Segmentation")


class Failed(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Failed(what)


# ---- the state of one lane --------------------------------------------------------------------

def claims(ln):
    d = os.path.join(ln.state, "crabbox", "claims")
    out = {}
    for n in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if n.endswith(".json") and n.startswith("cbx_"):
            with open(os.path.join(d, n)) as f:
                out[n[:-5]] = json.load(f)
    return out


def lease_dirs(ln):
    d = os.path.join(ln.state, "crabbox", "leases")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def records(ln):
    d = os.path.join(ln.state, "crabbox", "phala")
    return sorted(n for n in (os.listdir(d) if os.path.isdir(d) else []) if not n.endswith(".lock"))


def temp_files(ln):
    found = []
    for top in (ln.state, ln.cfg, ln.home, ln.work):
        for dp, _, fns in os.walk(top):
            found += [os.path.join(dp, f) for f in fns if TEMP_RE.search(f)]
    return found


def age(ln, lease, seconds=600):
    """Stand in for the 5-minute grace of ambiguous claims: move created_at back."""
    _age_files(ln, [os.path.join(ln.state, "crabbox", "claims", lease + ".json"),
                    os.path.join(ln.state, "crabbox", "phala", lease + ".json")], seconds)


def age_records(ln, seconds=600):
    """The driver's records too (a `stop` of an ambiguous claim that found no CVM removes the claim
    but leaves the driver's record to the driver's own cleanup, after the same grace)."""
    d = os.path.join(ln.state, "crabbox", "phala")
    _age_files(ln, [os.path.join(d, n) for n in (os.listdir(d) if os.path.isdir(d) else [])
                    if n.endswith(".json")], seconds)


def _age_files(ln, paths, seconds):
    for path in paths:
        try:
            with open(path) as f:
                t = f.read()
        except FileNotFoundError:
            continue
        t = re.sub(r'"created_at":\s*(\d+)', lambda m: '"created_at":%d' % (int(m.group(1)) - seconds), t)
        with open(path + ".aged", "w") as f:
            f.write(t)
        os.chmod(path + ".aged", 0o600)
        os.replace(path + ".aged", path)


def name_of(lease):
    return "crabbox-" + lease.replace("_", "-")


def check_consistent(ln, allow_stale=()):
    """(b) and (d) right after a case; returns a list of problems."""
    probs = []
    cvms = {c["app_id"]: c for c in ln.cvms()}
    cl = claims(ln)
    r, _ = ln.crab(["--json", "list"])
    try:
        listed = json.loads(r.stdout)
    except ValueError:
        listed = None
    if r.returncode != 0 or not isinstance(listed, list):
        probs.append("list --json failed: rc=%d %s" % (r.returncode, E.txt(r)[-300:]))
        listed = []
    for item in listed:
        cid = item.get("cloud_id")
        if not cid:
            # an ambiguous claim (no CVM id yet): list shows it when a CVM carries its name
            if not any(c["name"] == name_of(item.get("lease", "")) for c in cvms.values()):
                probs.append("list shows lease %s without a CVM named for it" % item.get("lease"))
        elif cid not in cvms:
            probs.append("list shows %s (lease %s) but the cloud has no such CVM" % (cid, item.get("lease")))
    listed_leases = {i.get("lease") for i in listed}
    for lease, c in cl.items():
        cid = c.get("cloud_id") or ""
        if cid and cid in cvms:
            if lease not in listed_leases:
                probs.append("claim %s names live CVM %s but list does not show it" % (lease, cid))
            if cvms[cid]["name"] != name_of(lease):
                probs.append("claim %s names CVM %s of another lease" % (lease, cid))
        elif cid and not c.get("recovery") and lease not in allow_stale:
            probs.append("claim %s names CVM %s that is gone and is not marked for cleanup" % (lease, cid))
    by_name = {c["name"]: c for c in cvms.values()}
    for name in by_name:
        lease = "cbx_" + name[len("crabbox-cbx-"):] if name.startswith("crabbox-cbx-") else None
        if lease not in cl:
            probs.append("CVM %s has no claim: nothing would ever clean it up" % name)
    for d in lease_dirs(ln):
        if d not in cl:
            probs.append("lease dir %s has no claim (a key left behind)" % d)
    for t in temp_files(ln):
        probs.append("temp file left: %s" % t)
    return probs


def check_clean(ln):
    """(c) and (d) after the recovery: nothing left at all."""
    probs = []
    left = [c["name"] for c in ln.cvms()]
    if left:
        probs.append("CVMs left in the cloud: %s" % left)
    if claims(ln):
        probs.append("claims left: %s" % {k: (v.get("state"), v.get("recovery")) for k, v in claims(ln).items()})
    if lease_dirs(ln):
        probs.append("lease dirs left: %s" % lease_dirs(ln))
    if records(ln):
        probs.append("driver records left: %s" % records(ln))
    probs += ["temp file left: %s" % t for t in temp_files(ln)]
    return probs


def self_test(ln):
    """Each invariant check must be able to fail: plant one violation at a time."""
    planted = os.path.join(ln.state, "crabbox", "claims", "cbx_000000000000.json.tmp.Ab12Cd")
    os.makedirs(os.path.dirname(planted), exist_ok=True)
    open(planted, "w").close()
    need(any("temp file" in p for p in check_consistent(ln)), "the temp-file check misses a planted temp file")
    os.unlink(planted)
    stray = os.path.join(ln.state, "crabbox", "leases", "cbx_0000000000ff")
    os.makedirs(stray)
    need(any("lease dir" in p for p in check_consistent(ln)), "the lease-dir check misses a stray key dir")
    os.rmdir(stray)
    planted_app = ln.cloud_add("crabbox-cbx-00000000abcd")
    need(any("has no claim" in p for p in check_consistent(ln)), "the unclaimed-CVM check misses a planted CVM")
    need(any("CVMs left" in p for p in check_clean(ln)), "the leak check misses a planted CVM")
    ln.cloud_delete(planted_app)
    need(not ln.cvms(), "self-test: the planted CVM is still there after its delete")
    # a claim naming a CVM that is gone (deleted behind crabbox's back)
    r, _ = ln.crab(["--json", "warmup"])
    need(r.returncode == 0, "self-test warmup: " + E.txt(r)[-500:])
    lease = json.loads(r.stdout)["lease"]
    app = claims(ln)[lease]["cloud_id"]
    ln.cloud_delete(app)
    need(any("is gone" in p for p in check_consistent(ln)), "the stale-claim check misses a claim of a gone CVM")
    need(any("claims left" in p for p in check_clean(ln)), "the clean check misses a claim")
    r, _ = ln.crab(["stop", lease])
    need(r.returncode == 0 and not check_clean(ln), "self-test stop: %s %s" % (E.txt(r)[-300:], check_clean(ln)))


# ---- the case table ---------------------------------------------------------------------------

def C(name, cmd, rc, needle, rec="none", http="", route=None, key=None, agent="ok", kill=None, trigger=None,
      stale=False, pre_route=None, pre_unauth=False, env=None, pre_gone=False, double=None):
    """One case. http: the fault at the loopback Phala Cloud API (phala_api_server.py's
    ROUTE=KIND[*COUNT]), met by the real CLI; the default. double=(faults, why): a fault of the CLI
    itself (PHALA_DOUBLE_FAULTS) that no HTTP answer can make, run on the CLI double; `why` says
    so in the case line. env: extra environment of the case's crabbox command only (a rejected
    API key, the API's address unreachable). pre_gone: the lease's CVM is deleted behind
    crabbox's back before the command."""
    faults, why = double if double else ("", "")
    return dict(name=name, cmd=cmd, rc=rc, needle=needle, rec=rec, http=http, faults=faults, route=route,
                key=key, agent=agent, kill=kill, trigger=trigger, stale=stale, pre_route=pre_route,
                pre_unauth=pre_unauth, env=env or {}, pre_gone=pre_gone,
                via="double" if double else "api", why=why)


# What only the CLI itself can do wrong: print garbage or a cut-off document on stdout (exit 0),
# a libuv assertion line, anything of `--version` (answered locally, no request). Every other
# fault is made at the HTTP level, where the real CLI meets it.
CLI_ONLY_KINDS = ("garbage", "truncated", "assert-line")


def check_table(table):
    """A case on the double must say why and must hold a fault the HTTP fake cannot make; a case
    on the API must not carry double faults. A violation is a broken table, not a failed case."""
    bad = []
    for c in table:
        if c["via"] == "double":
            items = [f.split("=", 1) for f in c["faults"].split(";") if "=" in f]
            cli_only = [op for op, spec in items
                        if op == "version" or spec.split("*")[0].split(":")[0] in CLI_ONLY_KINDS]
            if not c["why"].strip():
                bad.append("%s: on the double without a reason" % c["name"])
            if not cli_only:
                bad.append("%s: on the double, but its faults (%s) are expressible at HTTP" % (c["name"], c["faults"]))
            if c["http"]:
                bad.append("%s: on the double with HTTP faults" % c["name"])
        elif c["faults"] or c["why"]:
            bad.append("%s: on the API with double faults" % c["name"])
    return bad


FETCH = "TDX attestation fetch failed"
# Each gateway fault with what the message must name besides FETCH (issue 17 §5: never the exit
# code alone): the step that failed and libssh2's / wolfSSL's reason.
ROUTES = [("no route", "unrouted", "TLS handshake failed"),
          ("closed port (sshd not listening)", "127.0.0.1:1", "failed: Failed getting banner"),
          ("drop after the TLS handshake", "drop-after-handshake", "failed: Failed getting banner"),
          ("stall after the TLS handshake", "stall-after-handshake", "failed: Timed out waiting on socket"),
          ("drop in the middle of the SSH stream", "drop-after:1200@127.0.0.1:{port}", "SSH handshake through")]
AGENT = [("agent hangs", "hang", FETCH), ("agent hangs on GetQuote", "hang-quote", FETCH),
         ("agent closes the connection", "close", "Info call failed"),
         ("agent closes on GetQuote", "close-quote", "quote call failed"),
         ("agent answers garbage", "garbage", "not strict JSON"), ("agent answers garbage to GetQuote", "garbage-quote",
                                                        "quote response"),
         ("agent returns a tampered quote", "tamper-quote", "verification failed"),
         # Every agent RPC failure is HTTP 400; the agent's own message is named (issue 11 §3).
         ("agent's GetQuote fails (HTTP 400)", "quote-error",
          ("quote call failed (HTTP 400: Failed to get quote", FETCH))]
GARBAGE = "CLI prints garbage on stdout, exit 0 (an HTTP body reaches the CLI's parser, never stdout)"
TRUNC = "CLI's stdout cut off mid-document, exit 0 (not expressible at HTTP)"
API_DOWN = {"PHALA_CLOUD_API_PREFIX": "http://127.0.0.1:1/api/v1"}
REJECTED = {"PHALA_CLOUD_API_KEY": "phak_rejected"}
# The real CLI (ofetch) retries a GET once after a 5xx, a 502 or a dropped connection: "*2" makes
# one failed `cvms get`. A POST / DELETE is never retried.


def cases():
    t = []
    W = "warmup"
    # -- warmup: the API at each call (deploy = provision + create, adoption list, get, rollback delete) --
    t += [C("deploy fails (structured API error)", W, 1, "phala deploy failed", "cleanup*",
            "provision=500:Internal server error"),
          # The API's 400 names the request as invalid: the driver says "invalid argument" (exit 2).
          C("deploy rejected: 400 invalid request", W, 2, "invalid argument: Invalid compose file", "none",
            "provision=400:Invalid compose file"),
          C("deploy fails: quota (402)", W, 1, "quota or balance", "none", "provision=402:Insufficient balance"),
          C("deploy fails: API key rejected (401)", W, 1, "API key", "none", env=REJECTED),
          C("deploy hangs", W, 5, "phala deploy failed: timed out", "cleanup*", "create=hang:60"),
          C("deploy: HTML 502 from a proxy", W, 1, "ambiguous-create", "cleanup*", "provision=html502"),
          C("deploy: API down (connection refused)", W, 1, "ambiguous-create", "cleanup*", env=API_DOWN),
          C("deploy: create answers 500 after creating", W, 0, "adopt", "stop", "create=create-then-500"),
          C("deploy drops the connection after creating", W, 0, "adopt", "stop", "create=create-then-close"),
          C("deploy: create answer truncated", W, 0, "adopt", "stop", "create=truncate"),
          C("deploy drops the connection, nothing created", W, 1, "ambiguous-create", "cleanup*", "create=close"),
          C("deploy drops, adoption list fails", W, 1, "ambiguous-create", "cleanup*", "create=close;list=500"),
          C("deploy drops after creating, adoption list HTML 502", W, 1, "ambiguous-create", "cleanup*",
            "create=create-then-close;list=html502"),
          C("deploy drops after creating, adoption list hangs", W, 1, "ambiguous-create", "cleanup*",
            "create=create-then-close;list=hang:60"),
          C("deploy drops after creating, adoption list truncated", W, 1, "ambiguous-create", "cleanup*",
            "create=create-then-close;list=truncate"),
          C("get fails after deploy", W, 1, "deleted Phala CVM", "cleanup*", "get=500*2"),
          C("get hangs after deploy", W, 5, "phala cvms get failed: timed out", "cleanup*", "get=hang:60*1"),
          C("get answers non-JSON", W, 5, "malformed", "cleanup*", "get=garbage*1"),
          # A body cut off mid-answer: the CLI says undici's "terminated", a transient failure of the
          # call (not a malformed document: none was printed); the CVM is rolled back as for any failed get.
          C("get answer truncated", W, 1, ("transient error: terminated", "deleted Phala CVM"), "cleanup*",
            "get=truncate*1"),
          C("get fails, rollback delete fails", W, 1, "failed too", "cleanup*", "get=500*2;delete=500"),
          C("get fails, rollback delete hangs", W, 1, "failed too", "cleanup*", "get=500*2;delete=hang:60"),
          # -- the CLI itself misbehaving: the double --
          C("deploy prints garbage after creating", W, 0, "adopt", "stop", double=("deploy=garbage", GARBAGE)),
          C("deploy prints truncated JSON", W, 0, "adopt", "stop", double=("deploy=truncated", TRUNC)),
          C("deploy drops after creating, adoption list garbage", W, 1, "ambiguous-create", "cleanup*",
            double=("deploy=transient;list=garbage", GARBAGE)),
          C("get prints garbage", W, 5, "malformed", "cleanup*", double=("get=garbage*1", GARBAGE)),
          C("get prints truncated JSON", W, 5, "malformed", "cleanup*", double=("get=truncated*1", TRUNC)),
          C("get fails, rollback delete garbage", W, 1, "failed too", "cleanup*",
            double=("get=fail*1;delete=garbage", GARBAGE))]
    # -- warmup: the gateway, sshd and the guest agent during SSH wait and evidence fetch --
    t += [C("gateway: " + n, W, 3, (FETCH, why), "none", route=f) for n, f, why in ROUTES]
    t += [C("sshd refuses the lease key", W, 3, "SSH login", "none", key="wrong")]
    t += [C(n, W, 3, needle, "none", agent=m) for n, m, needle in AGENT]
    # -- warmup: kills (the trigger: the API fake's record of the held request) --
    t += [C("SIGKILL during deploy", W, -9, "", "cleanup*", "create=hang:2", kill="KILL", trigger="deploy"),
          C("SIGINT during deploy", W, 130, "cancel", "cleanup*", "create=hang:60", kill="INT", trigger="deploy"),
          C("SIGKILL during get", W, -9, "", "cleanup", "get=hang:60*1", kill="KILL", trigger="get"),
          C("SIGINT during get", W, 130, "cancel", "cleanup*", "get=hang:60*1", kill="INT", trigger="get"),
          C("SIGKILL during SSH wait", W, -9, "", "cleanup", route="stall-after-handshake", kill="KILL",
            trigger="stall"),
          C("SIGINT during SSH wait", W, 130, "cancel", "none", route="stall-after-handshake", kill="INT",
            trigger="stall"),
          C("SIGKILL during evidence fetch", W, -9, "", "cleanup", agent="hang-quote", kill="KILL",
            trigger="GetQuote"),
          C("SIGINT during evidence fetch", W, 130, "cancel", "none", agent="hang-quote", kill="INT",
            trigger="GetQuote")]
    # -- run without --id: acquire, session, release --
    R = "run"
    t += [C("run: deploy fails", R, 1, "phala deploy failed", "cleanup*", "provision=500:Internal server error"),
          C("run: get fails", R, 1, "deleted Phala CVM", "cleanup*", "get=500*2"),
          C("run: gateway drops after the handshake", R, 3, FETCH, "none", route="drop-after-handshake"),
          C("run: agent hangs on GetQuote", R, 3, FETCH, "none", agent="hang-quote"),
          C("run: release delete fails", R, 1, "phala cvms delete failed", "stop", "delete=500"),
          C("run: release delete hangs", R, 5, "phala cvms delete failed: timed out", "stop", "delete=hang:60"),
          C("run: release delete garbage (CVM gone)", R, 5, "malformed", "cleanup", stale=True,
            double=("delete=garbage", GARBAGE)),
          C("run: SIGKILL during evidence fetch", R, -9, "", "cleanup", agent="hang-quote", kill="KILL",
            trigger="GetQuote"),
          C("run: SIGINT during evidence fetch", R, 130, "cancel", "none", agent="hang-quote", kill="INT",
            trigger="GetQuote"),
          # the ephemeral lease of a `run` that died is released by the next cleanup, at once
          C("run: SIGKILL during the command", R, -9, "", "cleanup", kill="KILL", trigger="marker"),
          C("run: SIGINT during the command", R, 130, "", "none", kill="INT", trigger="marker"),
          # the killed command's CLI child still completes its held DELETE: a claim naming a gone CVM
          C("run: SIGKILL during release", R, -9, "", "cleanup", "delete=hang:2", kill="KILL", trigger="delete",
            stale=True)]
    # -- run --id: re-attestation and session on a ready lease --
    I = "run-id"
    # Evidence that cannot be fetched proves nothing against a running lease: no session, the lease
    # is kept (and said so); only evidence that is rejected destroys it.
    t += [C("run --id: gateway " + n, I, 3, ("kept: no session", why), "stop", pre_route=f)
          for n, f, why in ROUTES[1:4]]
    t += [C("run --id: sshd refuses the lease key", I, 3, "SSH login", "stop", pre_unauth=True),
          C("run --id: agent hangs on GetQuote", I, 3, FETCH, "stop", agent="hang-quote"),
          C("run --id: agent garbage", I, 3, FETCH, "stop", agent="garbage"),
          C("run --id: tampered quote", I, 3, "verification failed", "none", agent="tamper-quote"),
          C("run --id: SIGKILL during evidence fetch", I, -9, "", "stop", agent="hang-quote", kill="KILL",
            trigger="GetQuote"),
          C("run --id: SIGINT during evidence fetch", I, 130, "cancel", "stop", agent="hang-quote", kill="INT",
            trigger="GetQuote"),
          C("run --id: SIGKILL during the command", I, -9, "", "stop", kill="KILL", trigger="marker")]
    # -- stop --
    S = "stop"
    t += [C("stop: get fails", S, 1, "phala cvms get failed", "stop", "get=500"),
          C("stop: get hangs", S, 5, "phala cvms get failed: timed out", "stop", "get=hang:60"),
          C("stop: get answers non-JSON", S, 5, "malformed", "stop", "get=garbage"),
          # the real CLI's words for a cut-off body and for a refused connection: transient (exit 1)
          C("stop: get answer truncated", S, 1, "phala cvms get failed: transient error: terminated", "stop",
            "get=truncate"),
          C("stop: API down (connection refused)", S, 1, "phala cvms get failed: transient error: Unknown API error",
            "stop", env=API_DOWN),
          C("stop: delete fails", S, 1, "phala cvms delete failed", "stop", "delete=500"),
          C("stop: delete hangs", S, 5, "phala cvms delete failed: timed out", "stop", "delete=hang:60"),
          C("stop: CVM already gone (404)", S, 0, "", "none", pre_gone=True),
          C("stop: SIGKILL during delete", S, -9, "", "cleanup", "delete=hang:2", kill="KILL", trigger="delete",
            stale=True),
          C("stop: SIGINT during delete", S, None, "cvms delete failed: cancelled", "stop?", "delete=hang:2",
            kill="INT", trigger="delete"),
          C("stop: get garbage", S, 5, "malformed", "stop", double=("get=garbage", GARBAGE)),
          C("stop: get truncated", S, 5, "malformed", "stop", double=("get=truncated", TRUNC)),
          C("stop: delete garbage (CVM gone)", S, 5, "malformed", "cleanup", stale=True,
            double=("delete=garbage", GARBAGE))]
    # -- list and doctor (no state change) --
    t += [C("list: " + k, "list", rc, nd, "none", f, env=e) for k, f, e, rc, nd in (
        ("fails", "list=500", None, 1, "phala cvms list failed"), ("hangs", "list=hang:60", None, 5, "timed out"),
        ("HTML 502", "list=html502", None, 1, "phala cvms list failed: transient error: Unknown API error"),
        ("API key rejected (401)", "", REJECTED, 1, "API key"),
        ("API down (connection refused)", "", API_DOWN, 1, "phala cvms list failed: transient error"),
        ("answers non-JSON", "list=garbage", None, 5, "malformed"),
        ("answer truncated", "list=truncate", None, 1, "transient error: terminated"))]
    t += [C("list: garbage", "list", 5, "malformed", double=("list=garbage", GARBAGE)),
          C("list: truncated", "list", 5, "malformed", double=("list=truncated", TRUNC))]
    t += [C("doctor: " + k, "doctor", rc, nd, "none", f, env=e) for k, f, e, rc, nd in (
        ("status fails", "me=500", None, 1, "phala status failed"),
        ("status hangs", "me=hang:60", None, 5, "timed out"),
        ("status answers non-JSON", "me=garbage", None, 5, "malformed"),
        ("not logged in", "", {"PHALA_CLOUD_API_KEY": ""}, 1, "not logged in"),
        ("list fails", "list=500", None, 1, "phala cvms list failed"))]
    VERSION = "`phala --version` is answered by the CLI itself: no HTTP request to fault"
    t += [C("doctor: " + k, "doctor", rc, nd, "none", double=(f, VERSION)) for k, f, rc, nd in (
        ("version fails", "version=fail", 1, "phala --version failed"),
        ("version hangs", "version=hang:60", 5, "timed out"),
        ("version garbage", "version=garbage", 5, "version"))]
    t += [C("doctor: status garbage", "doctor", 5, "malformed", double=("status=garbage", GARBAGE))]
    return t


# ---- running one case -------------------------------------------------------------------------

def warm(ln):
    """A ready lease for a case that starts from one (set-up, not a fault run: one retry on a loaded
    machine)."""
    r, _ = ln.crab(["--json", "warmup"])
    if r.returncode != 0:
        r, _ = ln.crab(["--json", "warmup"])
    need(r.returncode == 0, "pre-warmup failed: " + E.txt(r)[-800:])
    lease = json.loads(r.stdout)["lease"]
    return lease, claims(ln)[lease]["cloud_id"]


def trigger_ready(ln, case, ctx):
    trig = case["trigger"]
    if trig in ("deploy", "get", "delete"):
        # the double's recorded call, or the API fake's record of the request it now holds
        return ln.counts()[trig] > ctx["calls0"][trig]
    if trig == "stall":
        # The gateway is shared by the lanes: only a stall of this lane's own CVM counts.
        return _stalls(ln) > ctx["stall0"]
    if trig == "GetQuote":
        return sum(ln.agent_log(s).count("GetQuote") for s in ln.slots) > ctx["gq0"]
    if trig == "marker":
        return os.path.exists(ctx["marker"])
    raise AssertionError(trig)


def _stalls(ln):
    """Stalled gateway connections whose SNI names a CVM of this lane (app ids are unique)."""
    apps = [c["app_id"].encode() for c in ln.cvms()]
    try:
        with open(os.path.join(ln.w.root, "gw-good.log"), "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return 0
    return sum(1 for line in lines if b"stalling" in line and any(a in line for a in apps))


def run_case(ln, case):
    """One fault run; returns (ok, detail)."""
    ln.use(case["via"])
    ln.double_env()
    ln.agent_mode("ok")
    lease = app = None
    cmd = case["cmd"]
    if cmd in ("run-id", "stop"):
        lease, app = warm(ln)
        if case["pre_route"]:
            ln.set_route(app, case["pre_route"])
        if case["pre_unauth"]:
            with open(os.path.join(ln.slot_of(app), "authorized_keys"), "w") as f:
                f.write("# nobody\n")
        if case["pre_gone"]:
            ln.cloud_delete(app)
    marker = os.path.join(ln.work, "marker-%d" % time.monotonic_ns())
    remote = ["sh", "-c", "touch %s; sleep 10" % marker] if case["trigger"] == "marker" else ["true"]
    args = {"warmup": ["warmup"], "run": ["run", "--"] + remote, "run-id": ["run", "--id", lease or "", "--"] + remote,
            "stop": ["stop", lease or ""], "list": ["--json", "list"], "doctor": ["doctor"]}[cmd]
    ln.double_env(case["faults"], case["route"], case["key"], case["http"])
    if case["agent"] != "ok":
        ln.agent_mode(case["agent"])
    ctx = {"calls0": ln.counts(), "stall0": _stalls(ln),
           "gq0": sum(ln.agent_log(s).count("GetQuote") for s in ln.slots), "marker": marker}
    t0 = time.monotonic()
    if case["kill"]:
        p = ln.popen(args, env_extra=case["env"])
        try:
            E.wait_for(lambda: trigger_ready(ln, case, ctx) or p.poll() is not None, 40, "trigger " + case["trigger"])
            if p.poll() is not None:
                raise Failed("crabbox ended before the kill point: " +
                             (p.stdout.read() + p.stderr.read()).decode(errors="replace")[-800:])
            time.sleep(0.2)
            sig = signal.SIGKILL if case["kill"] == "KILL" else signal.SIGINT
            if case["trigger"] == "marker":
                # during the remote command: like a terminal, signal the whole process group (ssh too)
                os.killpg(p.pid, sig)
            else:
                p.send_signal(sig)
            out, err = p.communicate(timeout=90)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        rc, text = p.returncode, (out + err).decode(errors="replace")
    else:
        r, _ = ln.crab(args, env_extra=case["env"], timeout=90)
        rc, text = r.returncode, E.txt(r)
    dt = time.monotonic() - t0
    ln.double_env()
    ln.agent_mode("ok")
    problems = []
    # (a) the exit code and the message
    want = case["rc"]
    if want is not None and rc not in (want if isinstance(want, tuple) else (want,)):
        problems.append("exit %d, want %s" % (rc, want))
    if case["kill"] != "KILL" and case["trigger"] != "marker":
        errtext = text
        if rc != 0 and "crabbox: " not in errtext and not (cmd.startswith("run") and rc == 130):
            problems.append("no 'crabbox: <message>' line")
        for needle in (case["needle"] if isinstance(case["needle"], tuple) else (case["needle"],)):
            if needle and needle.lower() not in errtext.lower():
                problems.append("message does not say '%s'" % needle)
    if GARBAGE_RE.search(text):
        problems.append("garbage in the output (traceback or sanitizer report)")
    if case["kill"] == "KILL" and case["trigger"] in ("deploy", "delete"):
        # The killed command's CLI child outlives it and its held request completes (a CVM
        # created / deleted after the kill): let that settle before the state is compared.
        time.sleep(2.5)
    # (b), (d)
    lease_now = lease
    if lease_now is None:
        cl = claims(ln)
        lease_now = next(iter(cl)) if len(cl) == 1 else None
    if case["pre_route"] and app is not None and any(c["app_id"] == app for c in ln.cvms()):
        ln.set_route(app, "127.0.0.1:{port}")
    stale = (lease_now,) if case["stale"] and lease_now else ()
    left_after = "%d claim(s), %d CVM(s) after the case" % (len(claims(ln)), len(ln.cvms()))
    problems += check_consistent(ln, stale)
    # (c) the recovery the case's message points at
    rec = case["rec"]
    if rec == "stop?":
        rec = "stop" if claims(ln) else "none"
    if rec.startswith("cleanup"):
        for lz in claims(ln):
            if rec == "cleanup*" or not claims(ln)[lz].get("cloud_id"):
                age(ln, lz)
        r, _ = ln.crab(["cleanup"])
        if r.returncode != 0:
            problems.append("cleanup exit %d: %s" % (r.returncode, E.txt(r)[-600:]))
    elif rec == "stop":
        for lz in list(claims(ln)):
            r, _ = ln.crab(["stop", lz])
            if r.returncode != 0:
                problems.append("stop again: exit %d: %s" % (r.returncode, E.txt(r)[-600:]))
    problems += check_clean(ln)
    via = "real CLI" if case["via"] == "api" else "double: " + case["why"]
    if problems:
        # leave the lane clean for the next case, whatever happened
        _force_clean(ln)
        return False, "%s [%s] (%.1fs): %s\n--- output:\n%s" % (case["name"], via, dt, "; ".join(problems),
                                                                text[-1500:])
    return True, "%s [%s]: exit %s (%.1fs; %s; rec %s)" % (case["name"], via, rc, dt, left_after, case["rec"])


def _force_clean(ln):
    ln.double_env()
    ln.agent_mode("ok")
    for lz in list(claims(ln)):
        age(ln, lz)
    ln.crab(["cleanup"])
    for lz in list(claims(ln)):
        ln.crab(["stop", lz])
    for c in ln.cvms():
        ln.cloud_delete(c["app_id"])
    ln.crab(["cleanup"])
    for t in temp_files(ln):
        os.unlink(t)


# ---- the parallel phase -----------------------------------------------------------------------

def _par_faults(ln, double, http):
    return {"http": http} if ln.via == "api" else {"faults": double}


def parallel_phase(ln, n, report):
    """n leases at once in one lane (one fake CVM each), faults hitting some of them."""
    problems = []
    ln.use("api" if ln.w.real else "double")
    ln.double_env(**_par_faults(ln, "deploy=fail*1;get=garbage*1", "provision=500:Internal server error*1;get=500*2"))
    ln.agent_mode("hang-quote", ln.slots[1])
    procs = [ln.popen(["--json", "warmup"]) for _ in range(n)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        results.append((p.returncode, (out + err).decode(errors="replace"), out))
    ln.double_env()
    ln.agent_mode("ok")
    rcs = sorted(r[0] for r in results)
    report("parallel warmups: exit codes %s" % rcs)
    if rcs.count(0) < 1 or any(rc not in (0, 1, 3, 5) for rc in rcs) or rcs.count(0) == n:
        problems.append("parallel warmups: unexpected exit codes %s" % rcs)
    for rc, text, _ in results:
        if rc != 0 and "crabbox: " not in text:
            problems.append("a failed parallel warmup gave no message: %s" % text[-400:])
        if GARBAGE_RE.search(text):
            problems.append("garbage in a parallel warmup's output")
    ready = [json.loads(o)["lease"] for rc, _, o in results if rc == 0]
    problems += ["after parallel warmups: " + p for p in check_consistent(ln)]
    # Round 2: the ready leases run concurrently (one killed with SIGINT during evidence fetch),
    # while new ephemeral runs acquire, one of them hitting a failing release delete.
    ln.double_env(**_par_faults(ln, "delete=fail*1", "delete=500*1"))
    ln.agent_mode("hang-quote", ln.slots[1])
    runs = [ln.popen(["run", "--id", lz, "--", "true"]) for lz in ready]
    free = n - len(ready)
    runs += [ln.popen(["run", "--", "true"]) for _ in range(max(free, 1))]
    outs = []
    for p in runs:
        out, err = p.communicate(timeout=120)
        outs.append((p.returncode, (out + err).decode(errors="replace")))
    ln.double_env()
    ln.agent_mode("ok")
    run_rcs = sorted(o[0] for o in outs)
    report("parallel runs: exit codes %s" % run_rcs)
    if run_rcs.count(0) < 1 or any(rc not in (0, 1, 3, 5) for rc in run_rcs):
        problems.append("parallel runs: unexpected exit codes %s" % run_rcs)
    for rc, text in outs:
        if rc != 0 and "crabbox: " not in text:
            problems.append("a failed parallel run gave no message: %s" % text[-400:])
    problems += ["after parallel runs: " + p for p in check_consistent(ln)]
    # Stop everything concurrently, then cleanup (ambiguous claims aged).
    stops = [ln.popen(["stop", lz]) for lz in claims(ln)]
    stop_rcs = []
    for p in stops:
        p.communicate(timeout=120)
        stop_rcs.append(p.returncode)
    report("parallel stops: exit codes %s" % sorted(stop_rcs))
    if any(rc not in (0, 1) for rc in stop_rcs):
        problems.append("parallel stops: unexpected exit codes %s" % sorted(stop_rcs))
    for lz in claims(ln):
        age(ln, lz)
    age_records(ln)
    r, _ = ln.crab(["cleanup"])
    if r.returncode != 0:
        problems.append("parallel cleanup: exit %d %s" % (r.returncode, E.txt(r)[-500:]))
    problems += ["after the parallel phase: " + p for p in check_clean(ln)]
    return problems, len(procs) + len(runs)


# ---- main ---------------------------------------------------------------------------------------

def main():
    t_start = time.monotonic()
    # Default: the whole table, then the CLI double's cases once more;
    # FAULTS_REPEAT=N runs the whole table N times.
    repeat = os.environ.get("FAULTS_REPEAT")
    only = os.environ.get("FAULTS_ONLY")
    lanes_n = int(os.environ.get("FAULTS_LANES", "3"))
    # The lanes run the real phala CLI against their own loopback Phala Cloud API by default;
    # only the cases whose fault is the CLI's own (garbage or a cut-off document on stdout,
    # anything of --version) run the CLI double, each saying why (check_table).
    bad = check_table(cases())
    # the table check itself must fire: a double case without a reason, one whose fault the HTTP
    # fake can make, one on the API carrying double faults
    planted = [C("p1", "list", 1, "", double=("list=garbage", " ")),
               C("p2", "list", 1, "", double=("list=fail;get=hang:60", "a reason")),
               dict(C("p3", "list", 1, "", "none", "list=500"), faults="list=garbage")]
    if len(check_table(planted)) != 3 or check_table(planted[:0]):
        bad.append("check_table misses a planted bad case: %s" % check_table(planted))
    if bad:
        print("FAIL the case table: " + "; ".join(bad), flush=True)
        return 1
    w = E.World(cvms=(), real=True)
    if not w.real:
        w.close()
        E.skip("the real phala CLI is not installed (setup.phala_cli skipped: offline?); the fault "
               "suite runs it by default")
    failures, log_lock = [], threading.Lock()
    runs = [0]
    by_via = {"api": 0, "double": 0}

    def report(line):
        with log_lock:
            print(line, flush=True)

    try:
        lanes = [w.add_lane("l%d" % i, 2, LANE_CONFIG, SSH_WAIT) for i in range(lanes_n)]
        plane = w.add_lane("par", 4, LANE_CONFIG, SSH_WAIT)
        for ln in lanes:
            ln.agent_mode("ok")
        self_test(lanes[0])
        report("invariant self-test: every check fires on a planted violation")
        table = [c for c in cases() if not only or re.search(only, c["name"])]
        # the repeat pass: the CLI double's cases (cheap: no node start-up) once more
        work = ([c for _ in range(int(repeat)) for c in table] if repeat else
                table + [c for c in table if c["via"] == "double"])
        queue = list(enumerate(work))
        qlock = threading.Lock()

        def lane_worker(ln):
            try:
                lane_loop(ln)
            except BaseException as e:  # noqa: BLE001 - a dead lane is a failure, never silence
                with log_lock:
                    failures.append("lane %s died: %r" % (ln.name, e))

        def lane_loop(ln):
            while True:
                with qlock:
                    if not queue:
                        return
                    i, case = queue.pop(0)
                try:
                    ok, detail = run_case(ln, case)
                except Exception as e:  # noqa: BLE001 - any exception is a failed case (issue 17 §5)
                    ok, detail = False, "%s: harness: %r" % (case["name"], e)
                    try:
                        _force_clean(ln)
                    except Exception:  # noqa: BLE001 - keep the lane going
                        pass
                # No process of this lane outlives its case: crabbox, ssh, the proxy (what a killed
                # crabbox's CLI child leaves is ended too, but it is the product's, not counted).
                left = E.no_process_left(ln.home, w.procs.groups(), grace=15.0, environ=True)
                ours = [c for _, c in left if "phala-double" not in c and "phala-cli" not in c]
                if ours:
                    ok, detail = False, "%s: processes left after the case: %s" % (case["name"], ours)
                with log_lock:
                    runs[0] += 1
                    by_via[case["via"]] += 1
                    print(("ok   " if ok else "FAIL ") + "[%s] " % ln.name + detail, flush=True)
                    if not ok:
                        failures.append(detail.split("\n")[0])

        threads = [threading.Thread(target=lane_worker, args=(ln,)) for ln in lanes]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if runs[0] != len(work):
            failures.append("ran %d of %d fault cases" % (runs[0], len(work)))
            report("FAIL ran %d of %d fault cases" % (runs[0], len(work)))
        par_problems, par_runs = parallel_phase(plane, 4, report) if not only else ([], 0)
        for p in par_problems:
            report("FAIL parallel: " + p)
        failures += par_problems
        wall = time.monotonic() - t_start
        report("case table: %d distinct cases (%s)" % (len(table), ", ".join(
            "%s=%d" % (k, sum(1 for c in table if c["cmd"] == k)) for k in
            ("warmup", "run", "run-id", "stop", "list", "doctor"))))
    finally:
        w.close()
    if w.leftovers:
        failures.append("harness processes left after the suite: %s" % w.leftovers)
        print("FAIL harness processes left after the suite: %s" % w.leftovers, flush=True)
    if failures:
        print("%d failure(s) in %d fault runs" % (len(failures), runs[0]))
        return 1
    print("fault injection: %d runs (%d distinct cases, %d parallel leases), all invariants held; wall %.0f s"
          % (runs[0] + par_runs, len(table), par_runs, wall))
    print("fault runs by CLI: %d real CLI + loopback API, %d CLI double (CLI-level faults); %d of %d distinct "
          "cases on the real CLI" % (by_via["api"], by_via["double"], sum(1 for c in table if c["via"] == "api"),
                                     len(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
