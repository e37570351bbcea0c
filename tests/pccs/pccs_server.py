#!/usr/bin/env python3
"""pccs_server.py — a small PCCS-compatible HTTP server for tests (Python 3 stdlib only).

Serves DCAP collateral split back out of a dcap-qvl QuoteCollateralV3 JSON file, shaped like
Intel PCS v4 / PCCS responses (dcap-spec §3.6):

  GET /sgx/certification/v4/pckcrl?ca=platform|processor[&encoding=der]
        DER (encoding=der) or hex text; header SGX-PCK-CRL-Issuer-Chain (percent-encoded PEM).
        The other CA kind than the CRL's issuer gets 404.
  GET /tdx/certification/v4/tcb?fmspc=<12 hex>
        {"tcbInfo":<exact tcb_info text>,"signature":"<hex>"}; header TCB-Info-Issuer-Chain
        (SGX-TCB-Info-Issuer-Chain with --legacy-headers). Another FMSPC gets 404.
  GET /tdx/certification/v4/qe/identity
        {"enclaveIdentity":<exact qe_identity text>,"signature":"<hex>"};
        header SGX-Enclave-Identity-Issuer-Chain.
  GET /sgx/certification/v4/rootcacrl
        hex text of the root CA CRL.

It binds 127.0.0.1 on a free port and prints "PORT <n>" as its first stdout line. It exits by
itself after --idle-exit seconds without a request (default 30) or --max-lifetime seconds
(default 300), or when killed. Each request is logged to stderr as "REQ <object> <status>".

Fault injection (object = pckcrl | tcb | qe | rootcacrl | all):
  --fault OBJ=SPEC (repeatable), env PCCS_FAULTS="OBJ=SPEC,OBJ=SPEC", query ?fault=OBJ=SPEC,
  or a path prefix /fault/OBJ=SPEC[,OBJ=SPEC]/ before the API path (so that one server can give
  each test its own faults through the base URL). SPEC:
    404, 500, 429, ...   answer with that status (Error-Code / Error-Message headers set)
    500x2                that status for the first 2 requests (per fault source), then normal
    slow:5               wait 5 seconds before answering
    truncate             announce the full Content-Length, send half the body, close
    cut                  send the first half of the body with a matching Content-Length
    badsig               flip one hex digit of the signature (tcb / qe) or one CRL byte
    badheader            a malformed percent-escape in the issuer-chain header
    noheader             omit the issuer-chain header
    big:N                append N bytes of padding to the body (size-cap tests)
    redirect:URL         answer 302 with Location URL + the API path and query (without the
                         /fault/... prefix), e.g. redirect:http://localhost:8080 (a downgrade)

TLS: with --tls-cert FILE --tls-key FILE the server speaks https only (stdlib ssl, TLS 1.2+);
the test makes its CA and certificate at test time (tests/cli/collateral_fetch_tls.sh).
"""
import argparse
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OBJECTS = ("pckcrl", "tcb", "qe", "rootcacrl")


def parse_faults(text):
    """'tcb=404,qe=500x2' -> {'tcb': '404', 'qe': '500x2'}"""
    faults = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        obj, sep, spec = item.partition("=")
        if not sep or obj not in OBJECTS + ("all",):
            raise ValueError("bad fault %r (want OBJECT=SPEC)" % item)
        faults[obj] = spec
    return faults


class Collateral:
    def __init__(self, path):
        with open(path, "rb") as f:
            c = json.loads(f.read().decode("utf-8"))
        self.pck_crl = bytes.fromhex(c["pck_crl"])
        self.root_ca_crl = bytes.fromhex(c["root_ca_crl"])
        self.pck_chain = c["pck_crl_issuer_chain"]
        self.tcb_chain = c["tcb_info_issuer_chain"]
        self.qe_chain = c["qe_identity_issuer_chain"]
        self.tcb_info = c["tcb_info"]
        self.tcb_sig = c["tcb_info_signature"]
        self.qe_identity = c["qe_identity"]
        self.qe_sig = c["qe_identity_signature"]
        self.fmspc = json.loads(self.tcb_info)["fmspc"].lower()
        # The PCK CRL's CA kind: its issuer name (the first certificate of the chain) says
        # "Intel SGX PCK Platform CA" or "... Processor CA".
        self.ca = "processor" if b"PCK Processor CA" in self.pck_crl else "platform"


def enc(text):
    return urllib.parse.quote(text, safe="")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pccs-test/1"

    def log_message(self, fmt, *args):  # quiet default logging; we log our own lines
        pass

    def _log(self, obj, status):
        sys.stderr.write("REQ %s %s %s\n" % (obj, status, self.path))
        sys.stderr.flush()

    def _fault_for(self, obj, path, query):
        srv = self.server
        sources = []
        m = re.match(r"^/fault/([^/]*)(/.*)$", path)
        if m:
            sources.append(("path:" + m.group(1), parse_faults(urllib.parse.unquote(m.group(1)))))
            path = m.group(2)
        if "fault" in query:
            sources.append(("query:" + query["fault"][0], parse_faults(query["fault"][0])))
        sources.append(("env", srv.env_faults))
        sources.append(("flag", srv.flag_faults))
        for key, faults in sources:
            spec = faults.get(obj) or faults.get("all")
            if spec:
                return key + "/" + obj, spec, path
        return None, None, path

    def do_GET(self):
        srv = self.server
        srv.touch()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        m = re.match(r"^/fault/[^/]*(/.*)$", path)
        api = m.group(1) if m else path
        routes = {
            "/sgx/certification/v4/pckcrl": "pckcrl",
            "/tdx/certification/v4/tcb": "tcb",
            "/tdx/certification/v4/qe/identity": "qe",
            "/sgx/certification/v4/rootcacrl": "rootcacrl",
        }
        obj = routes.get(api)
        if obj is None:
            return self._error("?", 404, "NotFound", "no such API")
        try:
            fkey, spec, _ = self._fault_for(obj, path, query)
        except ValueError as e:
            return self._error(obj, 400, "InvalidFault", str(e))
        c = srv.collateral
        headers = {}
        if obj == "pckcrl":
            ca = query.get("ca", [""])[0]
            if ca not in ("platform", "processor"):
                return self._error(obj, 400, "InvalidParameters", "ca must be platform or processor")
            if ca != c.ca:
                return self._error(obj, 404, "NotFound", "no CRL for this CA")
            der = query.get("encoding", [""])[0] == "der"
            body = c.pck_crl if der else c.pck_crl.hex().encode()
            ctype = "application/pkix-crl" if der else "text/plain"
            chain_header, chain = "SGX-PCK-CRL-Issuer-Chain", c.pck_chain
        elif obj == "tcb":
            fmspc = query.get("fmspc", [""])[0]
            if not re.fullmatch(r"[0-9a-fA-F]{12}", fmspc):
                return self._error(obj, 400, "InvalidParameters", "bad fmspc")
            if fmspc.lower() != c.fmspc:
                return self._error(obj, 404, "NotFound", "no TCB info for this FMSPC")
            sig = c.tcb_sig
            if spec == "badsig":
                sig = ("1" if sig[0] != "1" else "2") + sig[1:]
            body = ('{"tcbInfo":' + c.tcb_info + ',"signature":"' + sig + '"}').encode("utf-8")
            ctype = "application/json"
            chain_header = "SGX-TCB-Info-Issuer-Chain" if srv.legacy_headers else "TCB-Info-Issuer-Chain"
            chain = c.tcb_chain
        elif obj == "qe":
            sig = c.qe_sig
            if spec == "badsig":
                sig = ("1" if sig[0] != "1" else "2") + sig[1:]
            body = ('{"enclaveIdentity":' + c.qe_identity + ',"signature":"' + sig + '"}').encode("utf-8")
            ctype = "application/json"
            chain_header, chain = "SGX-Enclave-Identity-Issuer-Chain", c.qe_chain
        else:
            crl = c.root_ca_crl
            if spec == "badsig":
                crl = crl[:-1] + bytes([crl[-1] ^ 1])
            body = crl.hex().encode()
            ctype = "text/plain"
            chain_header, chain = None, None
        if obj == "pckcrl" and spec == "badsig":
            body = body[:-1] + bytes([body[-1] ^ 1]) if query.get("encoding", [""])[0] == "der" else body
        if chain_header and spec != "noheader":
            value = enc(chain)
            if spec == "badheader":
                value = value[:40] + "%G1" + value[40:]
            headers[chain_header] = value

        if spec:
            m = re.fullmatch(r"(\d{3})(?:x(\d+))?", spec)
            if m:
                status, times = int(m.group(1)), m.group(2)
                if times is None or srv.count(fkey) < int(times):
                    return self._error(obj, status, "Injected", "injected fault " + spec)
            elif spec.startswith("slow:"):
                time.sleep(min(float(spec[5:]), 60.0))
            elif spec.startswith("big:"):
                body += b" " * min(int(spec[4:]), 64 << 20)
            elif spec == "truncate":
                self._send(obj, 200, ctype, headers, body, truncate=True)
                return
            elif spec == "cut":
                body = body[: len(body) // 2]
            elif spec.startswith("redirect:"):
                target = spec[len("redirect:"):] + api + ("?" + url.query if url.query else "")
                return self._redirect(obj, target)
            elif spec in ("badsig", "badheader", "noheader"):
                pass
            else:
                return self._error(obj, 400, "InvalidFault", "unknown fault " + spec)
        self._send(obj, 200, ctype, headers, body)

    def _send(self, obj, status, ctype, headers, body, truncate=False):
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Request-ID", os.urandom(16).hex())
            for k, v in headers.items():
                self.send_header(k, v)
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self._log(obj, "%d%s" % (status, " truncated" if truncate else ""))

    def _redirect(self, obj, location):
        try:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self._log(obj, 302)

    def _error(self, obj, status, code, message):
        body = json.dumps({"error": message}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Error-Code", code)
            self.send_header("Error-Message", message)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self._log(obj, status)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, collateral, flag_faults, env_faults, legacy_headers):
        super().__init__(addr, Handler)
        self.collateral = collateral
        self.flag_faults = flag_faults
        self.env_faults = env_faults
        self.legacy_headers = legacy_headers
        self.lock = threading.Lock()
        self.counts = {}
        self.last = time.monotonic()

    def finish_request(self, request, client_address):
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(10)
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                sys.stderr.write("TLS handshake failed: %s\n" % (getattr(e, "reason", None) or e))
                sys.stderr.flush()
                return
        super().finish_request(request, client_address)

    def touch(self):
        with self.lock:
            self.last = time.monotonic()

    def count(self, key):
        """Returns how many times key was counted before, and counts this one."""
        with self.lock:
            n = self.counts.get(key, 0)
            self.counts[key] = n + 1
            return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("collateral", help="QuoteCollateralV3 JSON file")
    ap.add_argument("--fault", action="append", default=[], help="OBJECT=SPEC (repeatable)")
    ap.add_argument("--legacy-headers", action="store_true",
                    help="send SGX-TCB-Info-Issuer-Chain instead of TCB-Info-Issuer-Chain")
    ap.add_argument("--idle-exit", type=float, default=30.0, help="exit after this many idle seconds")
    ap.add_argument("--max-lifetime", type=float, default=300.0, help="exit after this many seconds")
    ap.add_argument("--tls-cert", help="serve https with this certificate chain (PEM)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = ap.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    flag_faults = {}
    for f in args.fault:
        flag_faults.update(parse_faults(f))
    env_faults = parse_faults(os.environ.get("PCCS_FAULTS", ""))
    srv = Server(("127.0.0.1", 0), Collateral(args.collateral), flag_faults, env_faults, args.legacy_headers)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in the handler thread (not in accept), so a client that refuses
        # the certificate does not stall the server; its failure is logged as "TLS <reason>".
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    print("PORT %d" % srv.server_address[1], flush=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    start = time.monotonic()
    try:
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            with srv.lock:
                idle = now - srv.last
            if idle > args.idle_exit or now - start > args.max_lifetime:
                break
    except KeyboardInterrupt:
        pass
    srv.shutdown()
    srv.server_close()


if __name__ == "__main__":
    main()
