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
    "o['verdict']=='verified' and o['dcap']=='checked' and o['tcb_status']=='UpToDate' and o['warning'] and o['bundle']=='authentic'"
py bundle_has_mac "len(o['mac'])==64" "$with_coll"
same bundle_key_mode "$(mode_of "$state/bundle.key")" 600
# The bundle's "dcap": "skipped" is reported, never obeyed: without collateral it is exit 3.
vexpect reverify_plain_needs_collateral 3 --bundle "$plain" && py reverify_plain_json "o['verdict']=='rejected' and o['failed_check']=='crl' and o['bundle']=='authentic'"
has dcap_note 'records dcap=skipped \(reported, not obeyed\)' "$tmp/err"
vexpect reverify_plain 0 --bundle "$plain" --no-dcap && py reverify_plain_no_dcap_json "o['verdict']=='verified' and o['dcap']=='skipped' and o['at']==$btime"
has bundle_authentic_line '^bundle: authentic$' "$tmp/err"
expect attest_reports_authentic 0 attest "$(field lease "$plain")" && has attest_bundle_line '^bundle: authentic$' "$tmp/out"
vexpect reverify_plain_with_collateral 0 --bundle "$plain" --collateral "$tmp/collateral.json" && \
    py plain_checked_json "o['verdict']=='verified' and o['dcap']=='checked'"
vexpect explicit_at 0 --bundle "$plain" --no-dcap --at $((btime + 60)) && py explicit_at_json "o['at']==$((btime + 60))"
if "$attest_tool" verify --json --bundle "$plain" --no-dcap >"$tmp/out" 2>"$tmp/err"; then bad "verified without the test root"; else
    py untrusted_root "o['verdict']=='rejected' and o['failed_check']=='pck_chain'"; fi

# Edits are caught: the MAC names the bundle EDITED (its expectations are then claims, not used),
# and an edit of the evidence still fails its own check.
for e in "nonce:n = bytearray.fromhex(b['nonce']); n[0] ^= 1; b['nonce'] = n.hex()" \
         "hk:k = raw('host_key'); k[-1] ^= 1; put('host_key', k)" \
         "app:b['expected_app_id'] = '00' * 20" \
         "compose:c = raw('compose'); c += b'# more\\n'; put('compose', c)" \
         "time:b['time'] = b['time'] + 1" "verdict:b['verdict'] = 'verified'; b['detail'] = 'fine'" \
         "mac_removed:b['mac'] = None"; do
    edit "$plain" "$tmp/${e%%:*}.json" "${e#*:}"
    vexpect "edited_${e%%:*}" 1 --bundle "$tmp/${e%%:*}.json" --no-dcap && \
        py "edited_${e%%:*}_json" "o['verdict']=='rejected' and o['failed_check']=='bundle' and o['bundle']=='EDITED' and 'EDITED' in o['reason']"
    has "edited_${e%%:*}_claims" 'is EDITED: its expectations are claims, NOT used' "$tmp/err"
done
edit "$plain" "$tmp/quote.json" "q = raw('quote'); q[100] ^= 1; put('quote', q)"
vexpect edited_quote 1 --bundle "$tmp/quote.json" --no-dcap && py edited_quote_json "o['failed_check']=='quote_signature' and o['bundle']=='EDITED'"
edit "$plain" "$tmp/stale.json" "b['fresh'] = False"
vexpect not_fresh_needs_same_quote 1 --bundle "$tmp/stale.json" --no-dcap && py stale_json "o['failed_check']=='quote_parse'"
# The issue's attack: a bundle with collateral edited to "dcap": "skipped", "collateral": null.
edit "$with_coll" "$tmp/nodcap.json" "b['dcap'] = 'skipped'; b['collateral'] = None"
vexpect edited_dcap_not_obeyed 3 --bundle "$tmp/nodcap.json" && py edited_dcap_json "o['failed_check']=='crl' and o['bundle']=='EDITED'"

# Elsewhere (no bundle key): not authenticated; the expectations are claims; flags supply them.
other=$tmp/elsewhere
mkdir -p "$other"
noauth() { XDG_STATE_HOME=$other HOME=$other vexpect "$@"; }
noauth no_key_claims 0 --bundle "$tmp/app.json" --no-dcap && \
    py no_key_json "o['verdict']=='verified' and o['bundle']=='not authenticated (no host key)' and o['app_id']!='00'*20"
has no_key_claims_msg 'not authenticated \(no host key\): its expectations are claims, NOT used: expected_app_id=0000' "$tmp/err"
noauth no_key_wrong_app_id 1 --bundle "$plain" --no-dcap --app-id $(printf '0%.0s' $(seq 40)) && py no_key_app_json "o['failed_check']=='app_id'"
nonce=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['nonce'])" "$plain")
noauth no_key_nonce 0 --bundle "$plain" --no-dcap --nonce "$nonce" && py no_key_nonce_json "o['checks'][16]['status']=='pass' and 'equals the expected value' in o['checks'][16]['detail']"
noauth no_key_wrong_nonce 1 --bundle "$plain" --no-dcap --nonce $(printf '1%.0s' $(seq 64)) && py no_key_wrong_nonce_json "o['failed_check']=='report_data'"
[ ! -e "$other/crabbox/bundle.key" ] && ok || bad "verify made a bundle key"

# A rejected bundle re-verifies as rejected, at the same check.
CRABBOX_TEST_MODE=tamper-compose expect warm_rejected 3 warmup
rejected=$(ls -t "$state"/evidence/*.json | head -1)
py rejected_bundle "o['verdict']=='rejected' and o['failed_check']=='compose_binding'" "$rejected"
vexpect reverify_rejected 1 --bundle "$rejected" --no-dcap && py reverify_rejected_json "o['failed_check']=='compose_binding'"

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
