#!/usr/bin/env bash
# `crabbox-attest collateral fetch` over HTTPS (issue 17, part 2): a TLS PCCS (tests/pccs/
# pccs_server.py --tls-cert, stdlib ssl) with a test CA made here with openssl, serving the real
# dcap-qvl TDX collateral. Checks that the fetch verifies the peer and the host name, and refuses
# a redirect to http:
#   right CA (--cacert) and host      -> collateral written, and it verifies
#   no --cacert (system store)        -> refused, exit 3, nothing written
#   another CA in --cacert            -> refused, exit 3
#   wrong host (cert for localhost, URL https://127.0.0.1) -> refused, exit 3
#   302 to http://localhost (a live plain PCCS) -> refused, exit 3, no request reaches it
#   302 to https://localhost (same CA) -> followed (so the refusal above is the downgrade's)
# The committed fixtures are mandatory (a missing one fails). Prints "N passed, M failed".
set -uo pipefail
tool=${CRABBOX_ATTEST:?set by ctest}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fx=${CBA_FIXTURES:?set by ctest}/real
quote="$fx/dcap-qvl-tdx/tdx_quote"
coll="$fx/dcap-qvl-tdx/tdx_quote_collateral.json"
AT=1752919234
for f in "$quote" "$coll"; do
    [ -f "$f" ] || { echo "FAIL: committed fixture $f is missing"; echo "0 passed, 1 failed"; exit 1; }
done
command -v openssl >/dev/null || { echo "FAIL: openssl (Debian package openssl) is needed"; exit 1; }
# The system store must not be steered by the environment: "no --cacert" means the real default.
unset SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE

tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL $1: $2"
    sed 's/^/  | /' "$tmp/err" 2>/dev/null | head -8
}

# --- a test CA, a server certificate for "localhost" only, and an unrelated CA ---------------
mkcert() {  # mkcert NAME CN [SAN]: NAME.key/NAME.pem, signed by ca (or self-signed when NAME is a CA)
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=$2" -keyout "$tmp/$1.key" -out "$tmp/$1.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        2>>"$tmp/openssl.log"
}
mkcert ca "crabbox test PCCS CA" && mkcert otherca "another test CA" &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tmp/srv.key" -out "$tmp/srv.csr" 2>>"$tmp/openssl.log" &&
openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days 2 -out "$tmp/srv.pem" -extfile <(printf '%s\n' 'subjectAltName=DNS:localhost' \
    'extendedKeyUsage=serverAuth' 'basicConstraints=critical,CA:FALSE') 2>>"$tmp/openssl.log" || {
    echo "FAIL: cannot make the test CA:"; cat "$tmp/openssl.log"; exit 1; }

# start NAME ARGS...: a PCCS server; waits for its "PORT n" line (the event, bounded by 60 s so
# a loaded machine cannot make it flaky), sets port_NAME.
start() {
    local name=$1 p i
    shift
    python3 "$here/../pccs/pccs_server.py" "$coll" --idle-exit 300 --max-lifetime 600 "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.log" &
    pids+=($!)
    for i in $(seq 600); do
        p=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$tmp/$name.out" 2>/dev/null)
        if [ -n "$p" ]; then printf -v "port_$name" %s "$p"; return 0; fi
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL: cannot start the $name server:"; cat "$tmp/$name.log"; exit 1
}
tls=(--tls-cert "$tmp/srv.pem" --tls-key "$tmp/srv.key")
start https "${tls[@]}"
start plain
start down "${tls[@]}" --fault "all=redirect:http://localhost:$port_plain"
start up "${tls[@]}" --fault "all=redirect:https://localhost:$port_https"

fetch() {  # fetch NAME URL [ARGS...]: one fetch into $tmp/NAME.json, exit in $rc
    local name=$1 url=$2
    shift 2
    rm -f "$tmp/$name.json"
    timeout 120 "$tool" collateral fetch --quote "$quote" --pccs "$url" --no-cache --at "$AT" \
        --tries 1 --timeout 30 -o "$tmp/$name.json" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
requests() { grep -c "^REQ " "$tmp/$1.log"; }
handshake_failures() { grep -c "^TLS handshake failed" "$tmp/$1.log"; }
refused() {  # refused NAME WHAT MESSAGE: exit 3, no output file, MESSAGE (an ERE) on stderr
    if [ "$rc" -ne 3 ]; then bad "$1" "exit $rc, want 3 ($2)"
    elif [ -e "$tmp/$1.json" ]; then bad "$1" "an output file was written ($2)"
    elif ! grep -Eq -- "$3" "$tmp/err"; then bad "$1" "no message matching '$3' ($2)"
    else ok "$1 ($2): $(tail -n 1 "$tmp/err" | cut -c1-110)"
    fi
}

# right CA and host: written, and it verifies
fetch good "https://localhost:$port_https" --cacert "$tmp/ca.pem"
if [ "$rc" -eq 0 ] && [ -s "$tmp/good.json" ] &&
   "$tool" verify --quote "$quote" --collateral "$tmp/good.json" --at "$AT" >/dev/null 2>&1; then
    ok "good: https with --cacert, collateral written and verified"
else
    bad good "exit $rc, or the written collateral does not verify"
fi
n=$(requests https)
[ "$n" -ge 4 ] && ok "good: the TLS server answered $n requests" || bad good "server logged $n requests"

before=$(handshake_failures https)
fetch nocacert "https://localhost:$port_https"
refused nocacert "no --cacert: the test CA is not in the system store" "SSL certificate problem"
fetch otherca "https://localhost:$port_https" --cacert "$tmp/otherca.pem"
refused otherca "--cacert of another CA" "SSL certificate problem"
after=$(handshake_failures https)
[ "$after" -ge $((before + 2)) ] && ok "the server saw both handshakes refused ($before -> $after)" ||
    bad handshakes "server logged $before -> $after failed handshakes"

fetch wronghost "https://127.0.0.1:$port_https" --cacert "$tmp/ca.pem"
refused wronghost "certificate for localhost, URL host 127.0.0.1" "subject name|host name"

fetch downgrade "https://localhost:$port_down" --cacert "$tmp/ca.pem"
refused downgrade "302 to http://localhost" '"http" not supported|[Pp]rotocol'

n=$(requests plain)
[ "$n" -eq 0 ] && ok "downgrade: no request reached the plain http server" ||
    bad downgrade "the plain http server got $n requests"
n=$(grep -c "^REQ [a-z]* 302" "$tmp/down.log")
[ "$n" -ge 1 ] && ok "downgrade: the redirect was served ($n)" || bad downgrade "no 302 served"

fetch upgrade "https://localhost:$port_up" --cacert "$tmp/ca.pem"
if [ "$rc" -eq 0 ] && cmp -s "$tmp/upgrade.json" "$tmp/good.json"; then
    ok "redirect to https with the same CA is followed (same collateral)"
else
    bad upgrade "exit $rc, or other collateral than the direct fetch"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -eq 10 ]
