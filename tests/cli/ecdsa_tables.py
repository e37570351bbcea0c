#!/usr/bin/env python3
"""ecdsa_tables.py — the fixed-key ECDSA tables change no verdict (docs/wolfssl.md, "Fixed-key tables").

Every real fixture (fixtures/real/*/expected.json) and tampered twins of dcap-qvl-tdx go through
`verify --json` twice: by crabbox-attest as built (with the build-time comb tables of Intel's
keys when the build has them) and by crabbox-attest-no-tables (the test build linked with an
empty table list, tests/no_fixed_tables.c: the ordinary sp_ecc_verify_256 path), whose symbols
are checked first: the tables in the one and not in the other. A build without tables (another
wolfSSL) has no second binary: then each tampered signature is still checked to be rejected. Exit status, verdict, failed check, error code,
TCB status and `where` must be the same.

Tampered: one flipped bit in each of the 7 signatures made by Intel's fixed keys in the sample,
in s (the last byte of the DER certificate / CRL, the last byte of the raw r||s) and in r:
  PCK cert (PCK Platform CA), PCK CRL (PCK Platform CA), PCK Platform CA cert (Root CA; both
  copies: the quote's chain and pck_crl_issuer_chain), root CA CRL (Root CA), TCB Signing cert
  (Root CA; tcb_info_issuer_chain and qe_identity_issuer_chain), TCB info and QE identity (TCB
  Signing key). Each must be rejected, by the same check with and without the tables.
Also: the keys the generator bundles (verifier/gen/ecdsa_table_gen.c) are the keys of Intel's
certificates in the fixtures (openssl reads them), so a wrong key text cannot go unnoticed.

usage: ecdsa_tables.py (env CRABBOX_ATTEST, CBA_FIXTURES, CBA_SOURCE_DIR; CRABBOX_ATTEST_NO_TABLES
in a build with tables)
"""
import base64
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

CLI = os.environ["CRABBOX_ATTEST"]
CLI_NO_TABLES = os.environ.get("CRABBOX_ATTEST_NO_TABLES")
REAL = os.path.join(os.environ["CBA_FIXTURES"], "real")
SRC = os.environ["CBA_SOURCE_DIR"]
PEM_RE = re.compile(rb"(-----BEGIN CERTIFICATE-----\r?\n)(.*?)(\r?\n-----END CERTIFICATE-----)", re.S)

failures = []
passed = 0


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(args, tables):
    cli = CLI if tables or CLI_NO_TABLES is None else CLI_NO_TABLES
    p = subprocess.run([cli, "verify", "--json", *args], capture_output=True, text=True, timeout=120)
    try:
        d = json.loads(p.stdout)
    except ValueError:
        d = {}
    err = d.get("reason") if isinstance(d, dict) else None
    return (p.returncode, d.get("verdict"), d.get("failed_check"), d.get("error"), d.get("tcb_status"),
            d.get("where"), err)


def both(args, what):
    """Runs with and without tables; returns the verdict tuple (with tables)."""
    a = run(args, True)
    b = run(args, False)
    check(a == b, "%s: with tables %r, without %r" % (what, a, b))
    check(a[1] is not None, "%s: no verdict (%r)" % (what, a))
    return a


def fixture_args(d, exp):
    args = ["--quote", os.path.join(d, exp["quote"]), "--at", str(exp["at"])]
    if exp.get("info"):
        args += ["--info", os.path.join(d, exp["info"])]
    if exp.get("collateral"):
        args += ["--collateral", os.path.join(d, exp["collateral"])]
    else:
        args += ["--no-dcap"]
    return args


def flip_der_sig(der, where):
    """der (a certificate or CRL) with one bit flipped in its signature: in s (the last byte) or
    in r (the first byte of r's value inside the trailing BIT STRING)."""
    b = bytearray(der)
    if where == "s":
        b[-1] ^= 0x01
        return bytes(b)
    # ECDSA-Sig-Value at the end: ... 03 len 00 30 len 02 rlen r 02 slen s
    for back in range(66, 80):                  # find "02 rlen r 02 slen s" ending at the last byte
        i = len(b) - back
        if b[i] != 0x02:
            continue
        rlen = b[i + 1]
        j = i + 2 + rlen
        if j + 2 <= len(b) and b[j] == 0x02 and j + 2 + b[j + 1] == len(b):
            b[i + 2 + rlen - 1] ^= 0x01         # the last byte of r: never a sign byte
            return bytes(b)
    raise AssertionError("no ECDSA signature at the end of the DER")


def flip_pem(text, index, where):
    """text (bytes) with certificate `index` (0-based, in order) re-encoded with a flipped
    signature bit; the line layout of its base64 is kept."""
    m = list(PEM_RE.finditer(text))[index]
    body = m.group(2)
    lines = body.split(b"\n")
    der = base64.b64decode(b"".join(l.strip() for l in lines))
    new = base64.b64encode(flip_der_sig(der, where))
    out, pos = [], 0
    for l in lines:
        n = len(l.strip())
        out.append(new[pos:pos + n] + (b"\r" if l.endswith(b"\r") else b""))
        pos += n
    assert pos == len(new)
    return text[:m.start(2)] + b"\n".join(out) + text[m.end(2):]


def flip_hex_sig(h, where, der):
    b = bytearray(bytes.fromhex(h))
    if der:
        b = bytearray(flip_der_sig(bytes(b), where))
    elif where == "s":
        b[-1] ^= 0x01
    else:
        b[31] ^= 0x01
    return b.hex()


def keys_match_fixtures():
    """The generator's key list equals the keys of Intel's certificates in the fixtures."""
    gen = open(os.path.join(SRC, "verifier", "gen", "ecdsa_table_gen.c")).read()
    bundled = {m[0]: m[1] + m[2] for m in
               re.findall(r'\{"[a-z_]+", "([^"]+)",\s*"([0-9a-f]{64})"\s*"([0-9a-f]{64})"\}', gen)}
    check(len(bundled) == 4, "generator lists 4 keys, found %d" % len(bundled))
    seen = {}
    for f in glob.glob(os.path.join(REAL, "*", "*")):
        data = open(f, "rb").read().replace(b"\\n", b"\n")
        for m in PEM_RE.finditer(data):
            pem = m.group(0).decode()
            p = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline", "-pubkey"],
                               input=pem.encode(), capture_output=True)
            if p.returncode != 0:
                continue
            out = p.stdout.decode()
            cn = re.search(r"commonName\s*=\s*(.*)", out)
            k = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                               input=out[out.index("-----BEGIN"):].encode(), capture_output=True)
            if cn and k.returncode == 0:
                seen.setdefault(cn.group(1).strip(), set()).add(k.stdout[-64:].hex())
    for name, hx in bundled.items():
        check(seen.get(name) == {hx}, "bundled key %s %s...: fixtures have %r" % (name, hx[:8], seen.get(name)))


def table_symbols(path):
    """The generated tables' own symbols (ecdsa_fixed_tables.c's statics) linked into `path`."""
    out = subprocess.run(["nm", path], capture_output=True, text=True, check=True).stdout
    return sorted(set(re.findall(r" [rRdD] (sgx_root_ca|pck_platform_ca|pck_processor_ca|tcb_signing)$", out, re.M)))


def main():
    # 0. Two different binaries: the tables in crabbox-attest exactly when the build has them
    # (--version says so), in crabbox-attest-no-tables never.
    version = subprocess.run([CLI, "--version"], capture_output=True, text=True, timeout=60).stdout
    built = "ecdsa-tables" in version
    check(built == (CLI_NO_TABLES is not None), "a second binary exactly when the build has tables (%r)" % version)
    check(len(table_symbols(CLI)) == (4 if built else 0), "crabbox-attest links the 4 tables: %r" % table_symbols(CLI))
    if CLI_NO_TABLES is not None:
        check(table_symbols(CLI_NO_TABLES) == [], "crabbox-attest-no-tables links no table: %r" % table_symbols(CLI_NO_TABLES))
    # 1. Every real fixture, as committed.
    for path in sorted(glob.glob(os.path.join(REAL, "*", "expected.json"))):
        exp = json.load(open(path))
        d = os.path.dirname(path)
        v = both(fixture_args(d, exp), os.path.basename(d))
        check(v[1] == exp["verdict"], "%s: verdict %r, expected %r" % (os.path.basename(d), v[1], exp["verdict"]))
    # 2. Tampered twins of dcap-qvl-tdx: each Intel-key signature, a bit of s and a bit of r.
    d = os.path.join(REAL, "dcap-qvl-tdx")
    exp = json.load(open(os.path.join(d, "expected.json")))
    quote = open(os.path.join(d, exp["quote"]), "rb").read()
    coll = json.load(open(os.path.join(d, exp["collateral"])))
    check(len(PEM_RE.findall(quote)) == 3, "the sample quote carries a 3-certificate PCK chain")
    with tempfile.TemporaryDirectory() as tmp:
        def write(q, c):
            qp, cp = os.path.join(tmp, "q"), os.path.join(tmp, "c.json")
            with open(qp, "wb") as f:
                f.write(q)
            with open(cp, "w") as f:
                json.dump(c, f)
            return ["--quote", qp, "--collateral", cp, "--at", str(exp["at"])]

        v = both(write(quote, coll), "re-serialised sample")
        check(v[1] == "verified", "re-serialised sample verifies (%r)" % (v,))
        cases = []
        for where in ("s", "r"):
            cases += [
                ("PCK cert (PCK Platform CA), quote chain", flip_pem(quote, 0, where), coll),
                ("PCK Platform CA cert (Root CA), quote chain", flip_pem(quote, 1, where), coll),
                ("PCK CRL (PCK Platform CA)", quote,
                 dict(coll, pck_crl=flip_hex_sig(coll["pck_crl"], where, True))),
                ("root CA CRL (Root CA)", quote,
                 dict(coll, root_ca_crl=flip_hex_sig(coll["root_ca_crl"], where, True))),
                ("PCK Platform CA cert (Root CA), pck_crl_issuer_chain", quote,
                 dict(coll, pck_crl_issuer_chain=flip_pem(coll["pck_crl_issuer_chain"].encode(), 0, where).decode())),
                ("TCB Signing cert (Root CA), tcb_info_issuer_chain", quote,
                 dict(coll, tcb_info_issuer_chain=flip_pem(coll["tcb_info_issuer_chain"].encode(), 0, where).decode())),
                ("TCB Signing cert (Root CA), qe_identity_issuer_chain", quote,
                 dict(coll, qe_identity_issuer_chain=flip_pem(coll["qe_identity_issuer_chain"].encode(), 0, where).decode())),
                ("TCB info (TCB Signing)", quote,
                 dict(coll, tcb_info_signature=flip_hex_sig(coll["tcb_info_signature"], where, False))),
                ("QE identity (TCB Signing)", quote,
                 dict(coll, qe_identity_signature=flip_hex_sig(coll["qe_identity_signature"], where, False))),
            ]
            cases = [(n if n.endswith("]") else "%s [bit of %s]" % (n, where), q, c) for n, q, c in cases]
        for name, q, c in cases:
            v = both(write(q, c), name)
            check(v[0] != 0 and v[1] != "verified" and v[2], "%s: rejected by a named check (%r)" % (name, v))
            print("%-70s %s %s" % (name, v[2], v[3]), flush=True)
    # 3. The bundled keys are Intel's.
    keys_match_fixtures()
    print("ecdsa_tables: %d checks passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
