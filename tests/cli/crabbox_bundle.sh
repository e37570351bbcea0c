#!/usr/bin/env bash
# Evidence bundles saved by `crabbox` re-verify offline with `crabbox-attest verify --bundle`:
# same verdict as the host, at the bundle's time, with the bundle's collateral; any edit of the
# nonce, host key, app id, compose or quote is caught by its own check. Prints "N passed, M failed".
. "$(dirname "$0")/crabbox_lib.bash"
[ -x "$attest_tool" ] || { echo "missing $attest_tool"; exit 1; }

verify() { # verify WANT_EXIT ARGS...: crabbox-attest verify --json with the test root
    local want=$1
    shift
    "$attest_tool" verify --json --trust-root "$tmp/root.der" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    [ "$rc" -eq "$want" ]
}
vexpect() {
    local name=$1
    shift
    if verify "$@"; then ok; else bad "$name: exit $rc, want $1"; sed 's/^/  err: /' "$tmp/err" | tail -4; head -c 300 "$tmp/out"; echo; fi
}
# edit BUNDLE OUT PYTHON: writes a copy of the bundle with `b` changed by the statement.
edit() {
    "$python" - "$1" "$2" "$3" <<'PY'
import base64, json, sys
b = json.load(open(sys.argv[1]))
def raw(k): return bytearray(base64.b64decode(b[k]))
def put(k, v): b[k] = base64.b64encode(bytes(v)).decode()
exec(sys.argv[3])
json.dump(b, open(sys.argv[2], 'w'))
PY
}

# A lease verified with collateral, and one without.
expect warm_collateral 0 warmup --json --collateral "$tmp/collateral.json"
with_coll=$(field bundle)
expect warm_plain 0 warmup --json
plain=$(field bundle)
btime=$(field time "$plain")

vexpect reverify_collateral 0 --bundle "$with_coll" && py reverify_collateral_json \
    "o['verdict']=='verified' and o['dcap']=='checked' and o['tcb_status']=='UpToDate' and o['warning']"
vexpect reverify_plain 0 --bundle "$plain" && py reverify_plain_json "o['verdict']=='verified' and o['dcap']=='skipped' and o['at']==$btime"
has dcap_note 'verified without collateral' "$tmp/err"
vexpect reverify_plain_with_collateral 0 --bundle "$plain" --collateral "$tmp/collateral.json" && \
    py plain_checked_json "o['verdict']=='verified' and o['dcap']=='checked'"
vexpect explicit_at 0 --bundle "$plain" --at $((btime + 60)) && py explicit_at_json "o['at']==$((btime + 60))"
if "$attest_tool" verify --json --bundle "$plain" >"$tmp/out" 2>"$tmp/err"; then bad "verified without the test root"; else
    py untrusted_root "o['verdict']=='rejected' and o['failed_check']=='pck_chain'"; fi

# Edits are caught, each by its check.
edit "$plain" "$tmp/nonce.json" "n = bytearray.fromhex(b['nonce']); n[0] ^= 1; b['nonce'] = n.hex()"
vexpect edited_nonce 1 --bundle "$tmp/nonce.json" && py edited_nonce_json "o['failed_check']=='report_data'"
edit "$plain" "$tmp/hk.json" "k = raw('host_key'); k[-1] ^= 1; put('host_key', k)"
vexpect edited_host_key 1 --bundle "$tmp/hk.json" && py edited_hk_json "o['failed_check']=='report_data'"
edit "$plain" "$tmp/app.json" "b['expected_app_id'] = '00' * 20"
vexpect edited_app_id 1 --bundle "$tmp/app.json" && py edited_app_json "o['failed_check']=='app_id'"
edit "$plain" "$tmp/compose.json" "c = raw('compose'); c += b'# more\n'; put('compose', c)"
vexpect edited_compose 1 --bundle "$tmp/compose.json" && py edited_compose_json "o['failed_check']=='compose_binding'"
edit "$plain" "$tmp/quote.json" "q = raw('quote'); q[100] ^= 1; put('quote', q)"
vexpect edited_quote 1 --bundle "$tmp/quote.json" && py edited_quote_json "o['failed_check']=='quote_signature'"
edit "$plain" "$tmp/stale.json" "b['fresh'] = False"
vexpect not_fresh_needs_same_quote 1 --bundle "$tmp/stale.json" && py stale_json "o['failed_check']=='quote_parse'"

# A rejected bundle re-verifies as rejected, at the same check.
CRABBOX_TEST_MODE=tamper-compose expect warm_rejected 3 warmup
rejected=$(ls -t "$state"/evidence/*.json | head -1)
py rejected_bundle "o['verdict']=='rejected' and o['failed_check']=='compose_binding'" "$rejected"
vexpect reverify_rejected 1 --bundle "$rejected" && py reverify_rejected_json "o['failed_check']=='compose_binding'"

# Bundles without evidence, broken bundles, and wrong usage.
expect warm_skipped 0 warmup --json --test-skip-attestation
vexpect skipped_bundle 2 --bundle "$(field bundle)" && has skipped_msg 'holds no evidence' "$tmp/err"
printf '{"format": "crabbox-evidence-bundle-v1"' >"$tmp/broken.json"
vexpect broken_bundle 2 --bundle "$tmp/broken.json" && has broken_msg "broken.json" "$tmp/err"
edit "$plain" "$tmp/b64.json" "b['info'] = b['info'][:-1]"
vexpect bad_base64 2 --bundle "$tmp/b64.json" && has b64_msg '"info" is not valid base64' "$tmp/err"
vexpect missing_bundle 2 --bundle "$tmp/nonexistent.json"
vexpect bundle_and_info 2 --bundle "$plain" --info "$plain" && py usage_json "o['verdict']=='error'"

finish
