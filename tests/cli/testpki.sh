#!/usr/bin/env bash
# CLI tests of `crabbox-attest verify` on evidence from the test PKI (crabbox-mkevidence presets):
# verdicts, failed checks, error names and exit codes; --trust-root warns in text and JSON output;
# --accept / --allow-advisory turn a rejected status into a verified one, never Revoked.
# Prints "N passed, M failed".
set -uo pipefail
tool=${CRABBOX_ATTEST:?set by ctest}
build=${CBA_BUILD_DIR:?set by ctest}
gen=$build/testkit/mkevidence/crabbox-mkevidence
at=1767225600 # MKE_DEFAULT_NOW, 2026-01-01T00:00:00Z
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

if [ ! -x "$gen" ]; then
    echo "FAIL generator not built: $gen"
    echo "0 passed, 1 failed"
    exit 1
fi

# make PRESET: writes the preset's evidence to $tmp/PRESET (once).
make_preset() {
    [ -d "$tmp/$1" ] && return 0
    if ! "$gen" -o "$tmp/$1" --preset "$1" >"$tmp/gen.out" 2>&1; then
        bad "generate $1"; sed 's/^/  /' "$tmp/gen.out"; return 1
    fi
}

# evidence_args PRESET [ARGS...]: --quote/--collateral/--info/--trust-root for the preset's
# directory (no --collateral when ARGS has --no-dcap: the tool refuses both).
evidence_args() {
    local d=$tmp/$1 a
    shift
    args=(--quote "$d/quote.bin" --trust-root "$d/root.der" --at "$at")
    [ -f "$d/info.json" ] && args+=(--info "$d/info.json")
    for a in "$@"; do [ "$a" = --no-dcap ] && return; done
    args+=(--collateral "$d/collateral.json")
}

# expect NAME PRESET WANT_EXIT PY_ASSERTION [EXTRA ARGS...]: runs `verify --json` on the preset's
# evidence and checks the exit code and a python expression over the parsed output `o`.
expect() {
    local name=$1 preset=$2 want=$3 assertion=$4
    shift 4
    make_preset "$preset" || return
    evidence_args "$preset" "$@"
    "$tool" verify --json "${args[@]}" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, want $want"; head -c 600 "$tmp/out"; echo; sed 's/^/  /' "$tmp/err" | head -5; return
    fi
    if ! python3 -c "import json,sys; o=json.load(open('$tmp/out')); sys.exit(0 if ($assertion) else 1)" 2>"$tmp/pyerr"; then
        bad "$name: assertion ($assertion) on:"; head -c 800 "$tmp/out"; echo; cat "$tmp/pyerr"; return
    fi
    ok
}

rejected() { # rejected CHECK ERROR -> python assertion
    echo "o['verdict']=='rejected' and o['failed_check']=='$1' and o['error']=='$2' and 'warning' in o"
}

# The generator lists its presets.
if "$gen" --list >"$tmp/list" 2>&1 && grep -q '^valid-v4 ' "$tmp/list" && grep -q '^revoked-platform ' "$tmp/list"; then
    ok
else
    bad "crabbox-mkevidence --list"; cat "$tmp/list"
fi
"$gen" -o "$tmp/nope" --preset no-such-preset >/dev/null 2>&1
if [ $? -eq 2 ]; then ok; else bad "unknown preset must exit 2"; fi

# Every valid preset verifies, UpToDate, under the test root.
for p in valid-v4 valid-v5 valid-v5-td10 processor-ca tappd getquote quote-only mrconfig-v2 events-v2; do
    expect "$p" "$p" 0 "o['verdict']=='verified' and o['failed_check'] is None and o['tcb_status']=='UpToDate' and o['advisory_ids']==[] and o['fmspc']=='b0c06f000000' and o['warning'].startswith('WARNING: --trust-root')"
done
expect valid_v4_dstack_facts valid-v4 0 "o['app_id'] is not None and o['compose_hash'] is not None and len(o['rtmr'])==4 and o['quote_version']==4"
expect valid_v5_version valid-v5 0 "o['quote_version']==5"
expect quote_only_no_dstack quote-only 0 "o['app_id'] is None and any(c['name']=='event_log' and c['status']=='skip' for c in o['checks'])"

# Negative presets: the failed check and the error name.
expect debug_td debug-td 1 "$(rejected td_attributes CBA_E_TD_DEBUG)"
expect debug_td_allowed debug-td 0 "o['verdict']=='verified'" --allow-debug
expect revoked_platform revoked-platform 1 "$(rejected tcb_status CBA_E_TCB_REVOKED) and o['tcb_status']=='Revoked'"
expect revoked_platform_accept_all revoked-platform 1 "$(rejected tcb_status CBA_E_TCB_REVOKED)" \
    --accept SWHardeningNeeded,ConfigurationNeeded,ConfigurationAndSWHardeningNeeded,OutOfDate,OutOfDateConfigurationNeeded,TDRelaunchAdvised,TDRelaunchAdvisedConfigurationNeeded \
    --allow-advisory INTEL-SA-00837
expect accept_revoked_is_usage_error revoked-platform 2 "o['verdict']=='error' and 'Revoked' in o['reason']" --accept Revoked
expect revoked_pck revoked-pck 1 "$(rejected crl CBA_E_CERT_REVOKED)"
expect out_of_date out-of-date 1 "$(rejected tcb_status CBA_E_TCB_STATUS_REJECTED) and o['tcb_status']=='OutOfDate' and o['advisory_ids']==['INTEL-SA-00837']"
expect out_of_date_accepted_advisory_not out-of-date 1 "$(rejected tcb_status CBA_E_TCB_STATUS_REJECTED) and 'INTEL-SA-00837' in o['reason']" --accept OutOfDate
# The core's details name no flags; the CLI adds its own (tools/common/hints.c).
expect out_of_date_hint out-of-date 1 "o['reason'].endswith('TCB status OutOfDate is not accepted by the policy (see --accept)')"
expect advisory_hint out-of-date 1 "o['reason'].endswith('advisory INTEL-SA-00837 is not allowed by the policy (see --allow-advisory)')" --accept OutOfDate
expect out_of_date_advisory_not_status out-of-date 1 "$(rejected tcb_status CBA_E_TCB_STATUS_REJECTED)" --allow-advisory INTEL-SA-00837
expect out_of_date_accepted out-of-date 0 "o['verdict']=='verified' and o['tcb_status']=='OutOfDate' and o['advisory_ids']==['INTEL-SA-00837']" \
    --accept OutOfDate --allow-advisory INTEL-SA-00837
expect out_of_date_accepted_in_list out-of-date 0 "o['verdict']=='verified' and o['tcb_status']=='OutOfDate'" \
    --accept SWHardeningNeeded,OutOfDate --allow-advisory INTEL-SA-00001,INTEL-SA-00837
expect out_of_date_other_status_accepted out-of-date 1 "$(rejected tcb_status CBA_E_TCB_STATUS_REJECTED)" \
    --accept SWHardeningNeeded --allow-advisory INTEL-SA-00837
expect expired_tcb_info expired-tcb-info 1 "$(rejected tcb_info CBA_E_COLLATERAL_EXPIRED)"
expect expired_tcb_info_no_dcap expired-tcb-info 0 "o['verdict']=='verified' and o['dcap']=='skipped' and o['tcb_status'] is None" --no-dcap
expect bad_quote_signature bad-quote-signature 1 "$(rejected quote_signature CBA_E_QUOTE_SIGNATURE) and o['mrtd'] is None"
expect bad_quote_signature_no_dcap bad-quote-signature 1 "$(rejected quote_signature CBA_E_QUOTE_SIGNATURE)" --no-dcap
expect tampered_tcb_info tampered-tcb-info 1 "$(rejected tcb_info CBA_E_TCB_INFO_SIGNATURE)"
expect trailing_garbage trailing-garbage 1 "$(rejected quote_parse CBA_E_QUOTE_TRAILING_DATA)"

# Time bounds: the PCK CRL is valid for 20 more days (inclusive), then expired.
expect pck_crl_last_second valid-v4 0 "o['verdict']=='verified' and o['at']==$((at + 20 * 86400))" --at $((at + 20 * 86400))
expect pck_crl_expired valid-v4 1 "$(rejected crl CBA_E_CRL_EXPIRED)" --at $((at + 20 * 86400 + 1))
expect before_pck_leaf valid-v4 1 "$(rejected pck_chain CBA_E_CERT_EXPIRED)" --no-dcap --at 1700000000
expect collateral_and_no_dcap_is_usage_error valid-v4 2 "o['verdict']=='error'" --collateral "$tmp/valid-v4/collateral.json" --no-dcap
expect rfc3339_time valid-v4 0 "o['verdict']=='verified' and o['at']==$at" --at 2026-01-01T00:00:00Z

# Expectations on the dstack identity.
make_preset valid-v4 && {
    app=$(python3 -c "import json; print(json.load(open('$tmp/valid-v4/info.json'))['app_id'])")
    expect expected_app_id valid-v4 0 "o['verdict']=='verified' and o['app_id']=='$app'" --app-id "$app"
    expect wrong_app_id valid-v4 1 "$(rejected app_id CBA_E_APP_ID_MISMATCH)" --app-id 0000000000000000000000000000000000000000
    expect wrong_compose_hash valid-v4 1 "$(rejected compose_binding CBA_E_COMPOSE_HASH_MISMATCH)" \
        --compose-hash "$(printf '0%.0s' $(seq 64))"
    expect wrong_report_data valid-v4 1 "$(rejected report_data CBA_E_REPORT_DATA_MISMATCH)" \
        --report-data "$(printf '1%.0s' $(seq 128))"
}

# The test root warning: JSON member, text output and stderr; absent without --trust-root.
make_preset valid-v4 && {
    d=$tmp/valid-v4
    "$tool" verify --quote "$d/quote.bin" --collateral "$d/collateral.json" --info "$d/info.json" \
        --trust-root "$d/root.der" --at "$at" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] && grep -q '^WARNING: --trust-root is for tests only' "$tmp/out" && grep -q 'verdict: verified' "$tmp/out" &&
       grep -q 'WARNING: --trust-root' "$tmp/err"; then
        ok
    else
        bad "text output warning (exit $rc)"; head -3 "$tmp/out"; head -3 "$tmp/err"
    fi
    "$tool" verify --quote "$d/quote.bin" --collateral "$d/collateral.json" --trust-root "$d/root.der" \
        --at "$at" --accept OutOfDate >"$tmp/out" 2>/dev/null
    if grep -q '^WARNING: --trust-root' "$tmp/out"; then ok; else bad "text warning with --accept"; fi

    # The same evidence under the embedded Intel root is untrusted, and no warning is printed.
    "$tool" verify --json --quote "$d/quote.bin" --collateral "$d/collateral.json" --info "$d/info.json" \
        --at "$at" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 1 ] && python3 -c "import json,sys; o=json.load(open('$tmp/out')); sys.exit(0 if o['verdict']=='rejected' and o['error']=='CBA_E_CHAIN_UNTRUSTED' and 'warning' not in o else 1)" &&
       ! grep -q 'WARNING' "$tmp/err"; then
        ok
    else
        bad "intel root rejects test evidence (exit $rc)"; head -c 600 "$tmp/out"; echo
    fi
    "$tool" verify --quote "$d/quote.bin" --info "$d/info.json" --no-dcap --at "$at" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && ! grep -q 'WARNING' "$tmp/out" && grep -q 'verdict: rejected at pck_chain' "$tmp/out"; then
        ok
    else
        bad "intel root, --no-dcap: exit $rc"; tail -3 "$tmp/out"
    fi

    # A PEM trust root works like the DER one.
    python3 - "$d/root.der" "$tmp/root.pem" <<'PY'
import base64, sys, textwrap
der = open(sys.argv[1], 'rb').read()
b64 = '\n'.join(textwrap.wrap(base64.b64encode(der).decode(), 64))
open(sys.argv[2], 'w').write('-----BEGIN CERTIFICATE-----\n' + b64 + '\n-----END CERTIFICATE-----\n')
PY
    "$tool" verify --json --quote "$d/quote.bin" --collateral "$d/collateral.json" --info "$d/info.json" \
        --trust-root "$tmp/root.pem" --at "$at" >"$tmp/out" 2>/dev/null
    rc=$?
    if [ $rc -eq 0 ] && python3 -c "import json,sys; o=json.load(open('$tmp/out')); sys.exit(0 if o['verdict']=='verified' and 'warning' in o else 1)"; then
        ok
    else
        bad "PEM trust root: exit $rc"
    fi

    # Collateral needed but not given: exit 3; a trust root that is not a certificate: exit 2.
    "$tool" verify --json --quote "$d/quote.bin" --trust-root "$d/root.der" --at "$at" >"$tmp/out" 2>/dev/null
    rc=$?
    if [ $rc -eq 3 ] && python3 -c "import json,sys; o=json.load(open('$tmp/out')); sys.exit(0 if o['error']=='CBA_E_COLLATERAL_MISSING' and 'warning' in o else 1)"; then
        ok
    else
        bad "collateral missing: exit $rc, want 3"; head -c 400 "$tmp/out"; echo
    fi
    printf 'not a certificate' >"$tmp/junk.der"
    "$tool" verify --json --quote "$d/quote.bin" --trust-root "$tmp/junk.pem" --at "$at" >/dev/null 2>&1
    rc=$?
    if [ $rc -eq 2 ]; then ok; else bad "missing trust root file: exit $rc, want 2"; fi
    "$tool" verify --json --quote "$d/quote.bin" --collateral "$d/collateral.json" --trust-root "$tmp/junk.der" \
        --at "$at" >"$tmp/out" 2>/dev/null
    rc=$?
    if [ $rc -eq 1 ] && python3 -c "import json,sys; o=json.load(open('$tmp/out')); sys.exit(0 if o['error']=='CBA_E_CHAIN_UNTRUSTED' else 1)"; then
        ok
    else
        bad "junk trust root: exit $rc, want 1 (untrusted)"; head -c 400 "$tmp/out"; echo
    fi
}

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
