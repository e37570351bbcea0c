#!/usr/bin/env python3
"""phala_api_server.py — a loopback stand-in for the Phala Cloud HTTP API (Python 3 stdlib only).

Written from what the real `phala` CLI 1.1.18 sends and reads (its bundled JS, and by running it
against this server), for the routes crabbox uses. Point the CLI at it with
PHALA_CLOUD_API_PREFIX=http://127.0.0.1:<port>/api/v1.

  GET    /api/v1/auth/me                   `phala status` (X-Phala-Version 2026-01-21 shape)
  GET    /api/v1/apps?page=N&page_size=S   `phala cvms list` (dstack_apps, total, total_pages)
  POST   /api/v1/status/batch              `cvms list`: {"vm_uuids":[...]} -> {uuid: status}
  GET    /api/v1/cvms/app_<id>             `cvms get`, `cvms delete` (Tr shape, or the older
                                           shape when X-Phala-Version is 2025-10-28)
  DELETE /api/v1/cvms/app_<id>             `cvms delete`
  POST   /api/v1/cvms/provision            `deploy`, step 1: {name, instance_type, compose_file:
                                           {docker_compose_file, allowed_envs, public_logs,
                                           public_sysinfo, pre_launch_script?}, kms, prefer_dev,
                                           teepod_id?} -> app_id, app_env_encrypt_pubkey,
                                           compose_hash
  POST   /api/v1/cvms                      `deploy`, step 2: {app_id, encrypted_env,
                                           compose_hash} -> the new CVM
  PATCH  /api/v1/cvms/app_<id>...          recorded and answered 200: the CLI updates an
                                           existing CVM this way (a test proves it never happens)

Every request is recorded in the state file's "requests" list (method, path, X-Phala-Version,
whether an API key came, never its value). Answers without X-API-Key are 401
{"detail":"Not authenticated"}; a key listed in --reject-keys gets 401 {"detail":"Invalid API
key"}.

The CVM's SSH key arrives sealed (X25519 + AES-256-GCM to the app_env_encrypt_pubkey we hand out,
as the dstack KMS would): the server keeps the private key per app and opens the env in pure
Python, so the e2e fake CVM gets the key that really travelled.

State: --state FILE (JSON, written atomically after each change). The e2e hooks of the CLI double
apply unchanged (PHALA_DOUBLE_CVM_DIR, PHALA_DOUBLE_CVM_POOL, PHALA_DOUBLE_ROUTES,
PHALA_DOUBLE_ROUTE_FORM, PHALA_DOUBLE_EXPORT_KEY, PHALA_DOUBLE_GATEWAY_DOMAIN, read from this
server's environment): deploy exports app_id, compose.yml, authorized_keys and app_compose.json
(the app compose the platform measures, built from what the CLI sent, pre_launch_script included)
to the fake CVM.

Faults (--faults or the state file's "faults", settable at run time with
POST /__fake/faults {"faults": "..."}): "ROUTE=KIND[*COUNT]" separated by ';'.
  ROUTE: me list status get delete provision create any
  KIND:  401 | 402 | 403 | 404 | 429 | 500   that status with a JSON {"detail": ...}
         html502     a 502 with an HTML body (no JSON detail: the CLI says "Unknown API error")
         hang[:S]    hold the request S seconds (default 3600), then serve it (the CLI gives up
                     at 30 s); a client that closes its end meanwhile ends it unserved
         close       close the connection without an answer
         truncate    announce the full Content-Length, send half the body, close
         garbage     200 with a body that is not JSON
         create-then-500   create: commit the CVM, then answer 500 (the ambiguous deploy)
         create-then-close create: commit the CVM, then drop the connection (the CLI says
                           "Unknown API error": transient, ambiguous)
  COUNT: only the first COUNT matching requests.
POST /__fake/delete {"app_id": A} deletes a CVM behind the client's back (its pool slot freed).
POST /__fake/add {"name": N} adds a CVM the user already has (answers its app_id and vm_uuid).
It binds 127.0.0.1 on a free port (or --port) and writes "PORT <n>" to stdout (and to
--port-file). It exits on SIGTERM/SIGINT.
"""
import argparse
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import secrets
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
DOUBLE = os.path.join(HERE, "..", "phala-double", "phala")


def load_double():
    """The CLI double's e2e hooks (fake CVM pool, gateway routes, export), shared verbatim."""
    loader = importlib.machinery.SourceFileLoader("phala_double", DOUBLE)
    spec = importlib.util.spec_from_loader("phala_double", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


# ---- X25519 (RFC 7748) and AES-256-GCM (FIPS 197, SP 800-38D), decryption side only ----------

P25519 = 2 ** 255 - 19


def x25519(k, u):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(k, "little")
    u = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x1, x2, z2, x3, z3, swap = u, 1, 0, u, 1, 0
    for t in reversed(range(255)):
        kt = (k >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a, b = (x2 + z2) % P25519, (x2 - z2) % P25519
        aa, bb = a * a % P25519, b * b % P25519
        e = (aa - bb) % P25519
        c, d = (x3 + z3) % P25519, (x3 - z3) % P25519
        da, cb = d * a % P25519, c * b % P25519
        x3, z3 = (da + cb) ** 2 % P25519, x1 * (da - cb) ** 2 % P25519
        x2, z2 = aa * bb % P25519, e * (aa + 121665 * e) % P25519
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, P25519 - 2, P25519) % P25519).to_bytes(32, "little")


def _aes_tables():
    sbox = [0] * 256
    p = q = 1
    while True:
        p = p ^ ((p << 1) & 0xff) ^ (0x1b if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xff
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ \
            ((q << 4) | (q >> 4))
        sbox[p] = (x ^ 0x63) & 0xff
        if p == 1:
            break
    sbox[0] = 0x63
    return sbox


SBOX = _aes_tables()


def _xt(a):
    return ((a << 1) ^ 0x1b) & 0xff if a & 0x80 else a << 1


def aes256_key_schedule(key):
    w = [list(key[i:i + 4]) for i in range(0, 32, 4)]
    rcon = 1
    for i in range(8, 60):
        t = list(w[i - 1])
        if i % 8 == 0:
            t = [SBOX[b] for b in t[1:] + t[:1]]
            t[0] ^= rcon
            rcon = _xt(rcon)
        elif i % 8 == 4:
            t = [SBOX[b] for b in t]
        w.append([a ^ b for a, b in zip(w[i - 8], t)])
    return [sum(w[r * 4:r * 4 + 4], []) for r in range(15)]


def aes_encrypt_block(rk, block):
    s = [b ^ k for b, k in zip(block, rk[0])]
    for r in range(1, 15):
        s = [SBOX[b] for b in s]
        s = [s[(i + 4 * (i % 4)) % 16] for i in range(16)]  # ShiftRows (column-major state)
        if r != 14:
            m = []
            for c in range(4):
                a = s[4 * c:4 * c + 4]
                t = a[0] ^ a[1] ^ a[2] ^ a[3]
                m += [a[i] ^ t ^ _xt(a[i] ^ a[(i + 1) % 4]) for i in range(4)]
            s = m
        s = [b ^ k for b, k in zip(s, rk[r])]
    return bytes(s)


def _gmul(x, y):
    r, v = 0, x
    for i in range(127, -1, -1):
        if (y >> i) & 1:
            r ^= v
        v = (v >> 1) ^ (0xe1 << 120) if v & 1 else v >> 1
    return r


def aes256_gcm_open(key, iv, data):
    """data = ciphertext || 16-byte tag; raises ValueError on a bad tag."""
    if len(iv) != 12 or len(data) < 16:
        raise ValueError("bad GCM input")
    ct, tag = data[:-16], data[-16:]
    rk = aes256_key_schedule(key)
    h = int.from_bytes(aes_encrypt_block(rk, bytes(16)), "big")
    ghash = 0
    for i in range(0, len(ct), 16):
        ghash = _gmul(ghash ^ int.from_bytes(ct[i:i + 16].ljust(16, b"\0"), "big"), h)
    ghash = _gmul(ghash ^ (len(ct) * 8), h)
    j0 = iv + b"\0\0\0\1"
    want = int.from_bytes(aes_encrypt_block(rk, j0), "big") ^ ghash
    if want.to_bytes(16, "big") != tag:
        raise ValueError("GCM tag mismatch")
    out = bytearray()
    for i in range(0, len(ct), 16):
        ctr = iv + (2 + i // 16).to_bytes(4, "big")
        ks = aes_encrypt_block(rk, ctr)
        out += bytes(a ^ b for a, b in zip(ct[i:i + 16], ks))
    return bytes(out)


def open_env(priv_hex, sealed_hex):
    """The CLI's encryptEnvVars: ephemeral X25519 public key (32) || IV (12) || AES-GCM(json)."""
    blob = bytes.fromhex(sealed_hex[2:] if sealed_hex.startswith("0x") else sealed_hex)
    if len(blob) < 32 + 12 + 16:
        raise ValueError("sealed env too short")
    shared = x25519(bytes.fromhex(priv_hex), blob[:32])
    return json.loads(aes256_gcm_open(shared, blob[32:44], blob[44:]).decode("utf-8"))


def x25519_keypair():
    priv = secrets.token_bytes(32)
    return priv.hex(), x25519(priv, (9).to_bytes(32, "little")).hex()


# ---- the API ----------------------------------------------------------------------------------

RESOURCES = {"tdx.small": (1, 2, 20), "tdx.medium": (2, 4, 40), "tdx.large": (4, 8, 80),
             "tdx.xlarge": (8, 16, 160)}
ROUTES = ("me", "list", "status", "get", "delete", "provision", "create", "patch")


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_faults(text):
    out = []
    for item in filter(None, (p.strip() for p in (text or "").replace("\n", ";").split(";"))):
        route, sep, spec = item.partition("=")
        if not sep or (route not in ROUTES and route != "any"):
            raise ValueError("bad fault %r (want ROUTE=KIND[*COUNT])" % item)
        count = None
        if "*" in spec:
            spec, _, c = spec.rpartition("*")
            count = int(c)
        kind, _, arg = spec.partition(":")
        out.append({"route": route, "kind": kind, "arg": arg, "count": count, "used": 0})
    return out


class World:
    def __init__(self, path, faults, reject_keys, dbl):
        self.path = path
        self.lock = threading.Lock()
        self.dbl = dbl
        self.reject = set(k for k in reject_keys if k)
        try:
            with open(path, "r", encoding="utf-8") as f:
                self.data = json.load(f)
        except FileNotFoundError:
            self.data = {}
        self.data.setdefault("apps", [])
        self.data.setdefault("provisions", {})
        self.data.setdefault("requests", [])
        if faults is not None:
            self.data["faults"] = parse_faults(faults)
        self.data.setdefault("faults", [])
        self.save()

    def save(self):
        tmp = "%s.tmp.%d" % (self.path, os.getpid())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f, indent=1, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def take_fault(self, route):
        for f in self.data["faults"]:
            if f["route"] not in (route, "any"):
                continue
            if f["count"] is not None and f["used"] >= f["count"]:
                continue
            f["used"] += 1
            return f
        return None

    def find(self, ident):
        ident = ident[4:] if ident.startswith("app_") else ident
        for a in self.data["apps"]:
            if ident in (a["app_id"], a["vm_uuid"], a["name"], a["id"]):
                return a
        return None


def cvm_doc(a, version):
    vcpu, mem, disk = RESOURCES.get(a["instance_type"], (1, 2, 20))
    if version == "2025-10-28":
        return {"hosted": {"id": a["vm_uuid"], "name": a["name"], "status": a["status"],
                           "uptime": "1m", "app_url": None, "app_id": a["app_id"],
                           "instance_id": a["instance_id"], "exited_at": None,
                           "boot_progress": None, "boot_error": None, "shutdown_progress": None,
                           "image_version": "0.5.3"},
                "name": a["name"], "managed_user": None, "node": None, "listed": False,
                "status": a["status"], "in_progress": False, "dapp_dashboard_url": None,
                "syslog_endpoint": None, "allow_upgrade": False, "project_id": None,
                "project_type": None, "billing_period": None, "kms_info": None, "vcpu": vcpu,
                "memory": mem * 1024, "disk_size": disk, "gateway_domain": a["base_domain"],
                "public_urls": []}
    return {
        "id": a["id"], "name": a["name"], "app_id": a["app_id"], "vm_uuid": a["vm_uuid"],
        "instance_id": a["instance_id"],
        "resource": {"instance_type": a["instance_type"], "vcpu": vcpu, "memory_in_gb": mem,
                     "disk_in_gb": disk, "gpus": 0, "compute_billing_price": "0.058",
                     "billing_period": "hourly"},
        "node_info": {"object_type": "node", "id": a["node_id"], "name": "prod5",
                      "region": "us-west", "status": "online", "version": "0.5.3"},
        "os": {"name": "dstack-dev-0.5.3", "version": "0.5.3", "is_dev": a["prefer_dev"],
               "os_image_hash": hashlib.sha256(b"dstack-dev-0.5.3").hexdigest()},
        "kms_type": "phala", "kms_info": None, "status": a["status"], "progress": None,
        "compose_hash": a["compose_hash"],
        "gateway": {"base_domain": a["base_domain"], "cname": None},
        "services": [], "endpoints": [],
        "public_logs": a["public_logs"], "public_sysinfo": a["public_sysinfo"],
        "public_tcbinfo": True, "gateway_enabled": True, "secure_time": False, "listed": False,
        "storage_fs": "ext4", "workspace": None, "creator": None,
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    world = None  # set by main

    def log_message(self, *a):
        pass

    def send_json(self, status, doc, fault=None):
        body = json.dumps(doc).encode()
        if fault is not None and fault["kind"] == "garbage":
            status, body = 200, b"<<this is not json>>"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault is not None and fault["kind"] == "truncate":
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(body)

    def apply_fault(self, f):
        """True when the fault answered the request."""
        k = f["kind"]
        if k == "hang":
            # Held, as a slow API would; a client that gives up (the driver killed the CLI at its
            # deadline, or crabbox was interrupted) ends the request: nothing is done for it, so a
            # held deploy never creates a CVM after the test moved on. A client still waiting at
            # the end gets the answer (a held create then commits, as a slow API would).
            end = time.monotonic() + float(f["arg"] or 3600)
            while time.monotonic() < end:
                if self.client_gone(min(0.1, max(0.0, end - time.monotonic()))):
                    self.close_connection = True
                    return True
            return False
        if k == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if k == "html502":
            body = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True
        if k.isdigit():
            detail = f["arg"] or {"401": "Invalid API key", "402": "Insufficient balance",
                                  "403": "Forbidden", "404": "CVM not found",
                                  "429": "Too many requests",
                                  "500": "Internal server error"}.get(k, "error")
            self.send_json(int(k), {"detail": detail})
            return True
        return False

    def client_gone(self, wait):
        """True when the client closed its end (EOF within `wait` seconds)."""
        try:
            r, _, _ = select.select([self.connection], [], [], wait)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def route_of(self, method, path):
        if method == "GET" and path == "/auth/me":
            return "me"
        if method == "GET" and path == "/apps":
            return "list"
        if method == "POST" and path == "/status/batch":
            return "status"
        if method == "POST" and path == "/cvms/provision":
            return "provision"
        if method == "POST" and path == "/cvms":
            return "create"
        if path.startswith("/cvms/") and method == "GET" and path.count("/") == 2:
            return "get"
        if path.startswith("/cvms/") and method == "DELETE" and path.count("/") == 2:
            return "delete"
        if path.startswith("/cvms/") and method in ("PATCH", "PUT"):
            return "patch"
        return None

    def handle_any(self):
        w = self.world
        url = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if url.path == "/__fake/faults" and self.command == "POST":
            with w.lock:
                w.data["faults"] = parse_faults(json.loads(raw or b"{}").get("faults", ""))
                w.save()
            return self.send_json(200, {"ok": True})
        if url.path == "/__fake/delete" and self.command == "POST":
            # A CVM deleted behind crabbox's back (the user's dashboard, a test's clean-up).
            app_id = json.loads(raw or b"{}").get("app_id", "")
            with w.lock:
                a = w.find(app_id)
                if a is not None:
                    w.data["apps"].remove(a)
                    if w.dbl is not None and w.dbl.pool_slots() is not None:
                        w.dbl.pool_free(w.data, a["app_id"], a["base_domain"])
                    w.save()
            return self.send_json(200 if a is not None else 404, {"deleted": a is not None})
        if url.path == "/__fake/add" and self.command == "POST":
            # A CVM the user already has (not made through this API by the test's crabbox).
            req = json.loads(raw or b"{}")
            app_id = secrets.token_hex(20)
            vm = str(uuid.uuid4())
            with w.lock:
                w.data["apps"].append({
                    "id": vm, "name": req.get("name", "my-web-app"), "app_id": app_id,
                    "vm_uuid": vm, "instance_id": secrets.token_hex(20), "status": "running",
                    "instance_type": "tdx.small", "node_id": 12,
                    "base_domain": "dstack-pha-prod5.phala.network",
                    "compose_hash": hashlib.sha256(b"user app").hexdigest(), "prefer_dev": False,
                    "public_logs": True, "public_sysinfo": True, "compose_file": {},
                    "app_compose": "", "env_keys": [], "created_at": now_iso()})
                w.save()
            return self.send_json(200, {"app_id": app_id, "vm_uuid": vm})
        if not url.path.startswith("/api/v1/"):
            return self.send_json(404, {"detail": "Not Found"})
        path = url.path[len("/api/v1"):]
        query = dict(urllib.parse.parse_qsl(url.query))
        route = self.route_of(self.command, path)
        key = self.headers.get("X-API-Key")
        version = self.headers.get("X-Phala-Version", "")
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return self.send_json(422, {"detail": "invalid JSON body"})
        with w.lock:
            w.data["requests"].append({"method": self.command, "path": url.path,
                                       "query": url.query, "route": route,
                                       "version": version, "api_key": bool(key)})
            fault = w.take_fault(route) if route else None
            w.save()
        if fault is not None and self.apply_fault(fault):
            return None
        if route is None:
            return self.send_json(404, {"detail": "Not Found"})
        if not key:
            return self.send_json(401, {"detail": "Not authenticated"})
        if key in w.reject:
            return self.send_json(401, {"detail": "Invalid API key"})
        with w.lock:
            if w.dbl is not None:
                w.dbl._FILE_KNOBS = None  # re-read <cloud dir>/double.env: a test changes it per case
            status, doc = getattr(self, "r_" + route)(w, path, query, body, version, fault)
            w.save()
        if status is None:  # committed, then the connection drops: the ambiguous deploy
            return self.apply_fault({"kind": "close"})
        return self.send_json(status, doc, fault)

    do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = handle_any

    # -- routes (called under the world lock) --

    def r_me(self, w, path, q, body, version, fault):
        return 200, {"user": {"username": "crabbox-test", "email": "test@example.invalid",
                              "role": "user", "avatar": "", "email_verified": True,
                              "totp_enabled": False, "has_backup_codes": False,
                              "flag_has_password": True},
                     "workspace": {"id": "ws_1", "name": "crabbox-test", "slug": "crabbox-test",
                                   "tier": "free", "role": "owner", "avatar": None},
                     "credits": {"balance": "10.00", "granted_balance": "0",
                                 "is_post_paid": False, "outstanding_amount": None}}

    def r_list(self, w, path, q, body, version, fault):
        page = max(1, int(q.get("page", "1") or 1))
        size = max(1, int(q.get("page_size", "50") or 50))
        apps = w.data["apps"]
        chunk = apps[(page - 1) * size:page * size]
        items = [{"id": a["id"], "name": a["name"], "app_id": a["app_id"],
                  "created_at": a["created_at"], "kms_type": "phala",
                  "current_cvm": cvm_doc(a, "2026-01-21"), "cvms": [], "cvm_count": 1}
                 for a in chunk]
        return 200, {"dstack_apps": items, "page": page, "page_size": size, "total": len(apps),
                     "total_pages": (len(apps) + size - 1) // size}

    def r_status(self, w, path, q, body, version, fault):
        out = {}
        for u in body.get("vm_uuids") or []:
            for a in w.data["apps"]:
                if a["vm_uuid"] == u:
                    out[u] = {"vm_uuid": u, "status": a["status"], "uptime": "1m",
                              "in_progress": False}
        return 200, out

    def r_get(self, w, path, q, body, version, fault):
        a = w.find(path.split("/")[2])
        if a is None:
            return 404, {"detail": "CVM not found"}
        return 200, cvm_doc(a, version)

    def r_delete(self, w, path, q, body, version, fault):
        a = w.find(path.split("/")[2])
        if a is None:
            return 404, {"detail": "CVM not found"}
        w.data["apps"].remove(a)
        if w.dbl is not None and w.dbl.pool_slots() is not None:
            w.dbl.pool_free(w.data, a["app_id"], a["base_domain"])
        return 200, {}

    def r_patch(self, w, path, q, body, version, fault):
        return 200, {}

    def r_provision(self, w, path, q, body, version, fault):
        name = body.get("name") or ""
        cf = body.get("compose_file") or {}
        size = len((cf.get("docker_compose_file") or "").encode()) + \
            len((cf.get("pre_launch_script") or "").encode())
        if size > 200 * 1024:
            return 422, {"detail": "Compose file and pre-launch script exceed 200KB"}
        app_id = secrets.token_hex(20)
        priv, pub = x25519_keypair()
        ac = w.app_compose_of(cf, name)
        chash = hashlib.sha256(ac.encode()).hexdigest()
        w.data["provisions"][app_id] = {"body": body, "priv": priv, "app_compose": ac,
                                        "compose_hash": chash}
        return 200, {"app_id": app_id, "app_env_encrypt_pubkey": pub, "compose_hash": chash,
                     "fmspc": "b0c06f000000", "device_id": secrets.token_hex(32),
                     "os_image_hash": hashlib.sha256(b"dstack-dev-0.5.3").hexdigest(),
                     "instance_type": body.get("instance_type") or "tdx.small",
                     "node_id": body.get("teepod_id") or 12, "kms_id": "kms-phala"}

    def r_create(self, w, path, q, body, version, fault):
        app_id = body.get("app_id") or ""
        prov = w.data["provisions"].get(app_id)
        if prov is None or body.get("compose_hash") != prov["compose_hash"]:
            return 400, {"detail": "Unknown provision or compose hash mismatch"}
        env = {}
        if body.get("encrypted_env"):
            try:
                env = {e["key"]: e["value"] for e in open_env(prov["priv"],
                                                              body["encrypted_env"])["env"]}
            except (ValueError, KeyError, TypeError) as e:
                return 400, {"detail": "cannot decrypt env: %s" % e}
        pb = prov["body"]
        cf = pb.get("compose_file") or {}
        vm = str(uuid.uuid4())
        dbl = w.dbl
        domain = os.environ.get("PHALA_DOUBLE_GATEWAY_DOMAIN", "dstack-pha-prod5.phala.network")
        a = {"id": vm, "name": pb.get("name") or "", "app_id": app_id, "vm_uuid": vm,
             "instance_id": secrets.token_hex(20),
             "status": os.environ.get("PHALA_DOUBLE_DEPLOY_STATUS", "running"),
             "instance_type": pb.get("instance_type") or "tdx.small",
             "node_id": pb.get("teepod_id") or 12, "base_domain": domain,
             "compose_hash": prov["compose_hash"], "prefer_dev": bool(pb.get("prefer_dev")),
             "public_logs": bool(cf.get("public_logs", True)),
             "public_sysinfo": bool(cf.get("public_sysinfo", True)),
             "compose_file": cf, "app_compose": prov["app_compose"],
             "env_keys": sorted(env), "created_at": now_iso()}
        w.data["apps"].append(a)
        del w.data["provisions"][app_id]
        pubkey = env.get("DSTACK_AUTHORIZED_KEYS", "")
        slot = dbl.pool_take(w.data, app_id, domain) if dbl is not None else None
        if slot is False:
            w.data["apps"].remove(a)
            return 409, {"detail": "No capacity left on the node for %s" % a["name"]}
        if dbl is not None:
            dbl.export_cvm(app_id, (cf.get("docker_compose_file") or "").encode(), pubkey, slot,
                           prov["app_compose"])
        if fault is not None and fault["kind"] == "create-then-500":
            return 500, {"detail": "Internal server error"}
        if fault is not None and fault["kind"] == "create-then-close":
            return None, None
        return 200, {"id": 1000 + len(w.data["apps"]), "name": a["name"], "status": "creating",
                     "teepod_id": a["node_id"], "teepod": {"id": a["node_id"], "name": "prod5"},
                     "user_id": 1, "app_id": app_id, "vm_uuid": vm,
                     "instance_id": a["instance_id"], "app_url": None,
                     "base_image": "dstack-dev-0.5.3", "vcpu": 1, "memory": 2048,
                     "disk_size": 20, "manifest_version": 2, "version": "1.0.0",
                     "runner": "docker-compose",
                     "docker_compose_file": cf.get("docker_compose_file"),
                     "features": ["kms", "tproxy-net"], "created_at": a["created_at"],
                     "encrypted_env_pubkey": None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--faults", default=None)
    ap.add_argument("--reject-keys", default="")
    ap.add_argument("--no-hooks", action="store_true", help="do not load the double's e2e hooks")
    args = ap.parse_args()
    dbl = load_double()
    Handler.world = World(args.state, args.faults, args.reject_keys.split(","),
                          None if args.no_hooks else dbl)
    Handler.world.app_compose_of = dbl.app_compose_of
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("PORT %d" % port, flush=True)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
