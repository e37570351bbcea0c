#!/usr/bin/env bash
# CLI tests of issue 14 for `crabbox-attest`: the quote input forms (§1), --at RFC 3339, PCCS URL
# forms and fetch options, failures that explain themselves (§2), the report fields (§3) and the
# policy document (§4). Prints "N passed, M failed".
set -uo pipefail
tool=${CRABBOX_ATTEST:?set by ctest}
fx=${CBA_SHARED_FIXTURES:-}
[ -d "$fx" ] || fx=${CBA_FIXTURES:?}/real
src=${CBA_SOURCE_DIR:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
unset PCCS_URL

# expect NAME WANT_EXIT PY_ASSERTION -- ARGS...: runs the tool, checks the exit code and a python
# expression over `o` (stdout parsed as JSON, or None) and `out`/`err` (the texts).
expect() {
    local name=$1 want=$2 assertion=$3
    shift 4
    "$tool" "$@" <"${STDIN:-/dev/null}" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, want $want"; sed 's/^/  /' "$tmp/out" "$tmp/err" | tail -5; fail=$((fail + 1)); return
    fi
    if ! python3 - "$tmp" "$assertion" <<'PY' 2>"$tmp/pyerr"
import json, sys
d, assertion = sys.argv[1], sys.argv[2]
out = open(d + '/out').read(); err = open(d + '/err').read()
try:
    o = json.loads(out)
except Exception:
    o = None
sys.exit(0 if eval(assertion) else 1)
PY
    then
        echo "FAIL $name: assertion ($assertion) on:"; head -c 800 "$tmp/out"; head -c 400 "$tmp/err"; echo
        fail=$((fail + 1)); return
    fi
    pass=$((pass + 1))
}

q="$fx/dcap-qvl-tdx/tdx_quote"
coll="$fx/dcap-qvl-tdx/tdx_quote_collateral.json"
at=1752919234
info="$fx/crabbox/real_attestation_info.json"

# ---- §1 inputs ----------------------------------------------------------------------------
xxd -p "$q" >"$tmp/q.hex"
python3 -c "import sys; h=open('$q','rb').read().hex(); print('0x' + ' '.join(h[i:i+8] for i in range(0, len(h), 8)))" >"$tmp/q.spaced"
base64 "$q" >"$tmp/q.b64"
python3 -c "import base64; print(base64.urlsafe_b64encode(open('$q','rb').read()).decode().rstrip('='))" >"$tmp/q.b64url"
python3 -c "import json; print(json.dumps({'quote': open('$q','rb').read().hex()}))" >"$tmp/q.json"
python3 -c "import json,base64; print(json.dumps({'quote': base64.b64encode(open('$q','rb').read()).decode(), 'event_log': ''}))" >"$tmp/q64.json"
python3 -c "import json; print(json.dumps({'attestation': (b'\x00\x01\x10' + open('$q','rb').read() + b'\x00\x07').hex()}))" >"$tmp/att.json"
for f in q.hex:'hex text' q.spaced:'hex text' q.b64:'base64 text' q.b64url:'base64 text' \
         q.json:'JSON {"quote"' q64.json:'JSON {"quote"' att.json:'dstack attestation envelope'; do
    file=${f%%:*} label=${f#*:}
    expect "input_$file" 0 "o['verdict']=='verified' and o['input'].startswith('''$label''')" -- \
        verify --json --quote "$tmp/$file" --collateral "$coll" --at $at
done
STDIN="$tmp/q.hex" expect input_stdin 0 "o['verdict']=='verified' and o['input'].startswith('hex text')" -- \
    verify --json --quote - --collateral "$coll" --at $at
# An RA-TLS certificate (PEM and DER): its quote, and its key's binding checked as report data.
python3 -c "import json; p=json.load(open('$info'))['app_cert']; open('$tmp/cert.pem','w').write(p.split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n')"
openssl x509 -in "$tmp/cert.pem" -outform DER -out "$tmp/cert.der" 2>/dev/null
expect input_ratls_pem 0 "o['verdict']=='verified' and o['input']=='PEM certificate' and [c for c in o['checks'] if c['name']=='report_data'][0]['status']=='pass'" -- \
    verify --json --quote "$tmp/cert.pem" --no-dcap --at 1774003274
expect input_ratls_der 0 "o['verdict']=='verified' and o['input']=='DER certificate'" -- \
    verify --json --quote "$tmp/cert.der" --no-dcap --at 1774003274
expect input_ratls_wrong_binding 1 "o['failed_check']=='report_data'" -- \
    verify --json --quote "$tmp/cert.der" --no-dcap --at 1774003274 --report-data "$(printf '%0128d' 0)"
# Malformed evidence: exit 1 at quote_parse, the detected format named (verify and inspect).
: >"$tmp/empty"
printf '\x06\x00' >"$tmp/v6"; tail -c +3 "$q" >>"$tmp/v6"
echo '{"foo": 1}' >"$tmp/noquote.json"
echo 'hello, world' >"$tmp/text"
expect malformed_empty 1 "o['rejection']=='malformed' and o['failed_check']=='quote_parse' and 'empty file' in o['reason']" -- \
    verify --json --quote "$tmp/empty" --no-dcap
expect malformed_v6 1 "o['rejection']=='malformed' and o['failed_check']=='quote_parse' and o['input']=='binary, version 6' and 'version 6' in o['reason']" -- \
    verify --json --quote "$tmp/v6" --no-dcap
expect malformed_json 1 "o['failed_check']=='quote_parse' and 'JSON without a quote member' in o['reason']" -- \
    verify --json --quote "$tmp/noquote.json" --no-dcap
expect malformed_info_as_quote 1 "'pass it with --info' in o['reason']" -- verify --json --quote "$info" --no-dcap
expect malformed_text 1 "'neither hex nor base64' in o['reason'] and 'offset' in o['reason']" -- \
    verify --json --quote "$tmp/text" --no-dcap
expect malformed_empty_with_info 1 "o['failed_check']=='quote_parse'" -- \
    verify --json --quote "$tmp/empty" --info "$info" --no-dcap
expect fetch_malformed_quote 1 "o['code']=='malformed' and o['exit']==1" -- collateral fetch --json --quote "$tmp/text" --no-cache -o "$tmp/c.json"
expect fetch_quote_forms 3 "o['code']=='unavailable'" -- \
    collateral fetch --json --quote "$tmp/q.json" --pccs http://127.0.0.1:1 --no-cache --tries 1 -o "$tmp/c.json"
expect inspect_v6 1 "'version 6' in err" -- inspect "$tmp/v6"
expect inspect_empty 1 "'empty file' in err" -- inspect "$tmp/empty"
expect inspect_hex_spaced 0 "o is not None and 'error' not in o" -- inspect --json "$tmp/q.spaced"
# --at: full RFC 3339 through one parser.
for t in 2025-07-19T10:00:34Z 2025-07-19t10:00:34z 2025-07-19T10:00:34.987Z 2025-07-19T12:00:34+02:00 \
         "2025-07-19 05:30:34-04:30" 1752919234; do
    expect "at_$t" 0 "o['at']==1752919234" -- verify --json --quote "$q" --collateral "$coll" --at "$t"
done
for t in 2025-07-19T10:00:34 2025-07-19T10:00:60Z 2025-02-29T00:00:00Z 2025-07-19T10:00:34.Z 2025-07-19T10:00:34+2:00 x; do
    expect "at_bad_$t" 2 "'RFC 3339' in err" -- verify --quote "$q" --no-dcap --at "$t"
done
# PCCS URL forms (the loopback port 1 refuses: nothing is fetched), $PCCS_URL, fetch options.
for u in http://127.0.0.1:1 http://127.0.0.1:1/ http://127.0.0.1:1/sgx/certification/v4/ \
         http://127.0.0.1:1/tdx/certification/v4; do
    expect "pccs_form_$u" 3 "'from http://127.0.0.1:1/sgx/certification/v4/pckcrl?' in o['hint'] and 'v4/sgx' not in o['hint'] and '1//sgx' not in o['hint']" -- \
        verify --json --quote "$q" --pccs "$u" --no-cache --tries 1 --timeout 2 --at $at
done
expect pccs_hint_names_what_was_tried 3 "'--pccs http://127.0.0.1:1' in o['hint'] and 'give --collateral FILE or --pccs URL' not in json.dumps(o)" -- \
    verify --json --quote "$q" --pccs http://127.0.0.1:1 --no-cache --tries 1 --at $at
PCCS_URL=http://127.0.0.1:1 expect pccs_url_env 3 "'from \$PCCS_URL' in o['hint']" -- \
    verify --json --quote "$q" --no-cache --at $at
expect pccs_cacert_missing 3 "o['verdict']=='rejected'" -- \
    verify --json --quote "$q" --pccs https://127.0.0.1:1 --cacert "$tmp/none.pem" --no-cache --tries 1 --at $at
expect fetch_opts_need_pccs 2 "'go with --pccs' in err" -- verify --quote "$q" --tries 2 --no-dcap
expect pccs_bad_url 2 "'--pccs' in err" -- verify --quote "$q" --pccs "a b" --no-cache

# ---- §2 failures that explain themselves -------------------------------------------------
expect expired_hints_at 1 "o['rejection']=='policy' and '--at' in o['hint']" -- \
    verify --json --quote "$q" --collateral "$coll"
expect window_shown 1 "'collateral.pck_crl is valid 2025-06-19T10:00:35Z to 2025-07-19T10:00:35Z, not at 2025-07-19T11:00:35Z (expired)' in o['reason'] and 'outside that validity window' in o['hint']" -- \
    verify --json --quote "$q" --collateral "$coll" --at 1752922835
expect window_not_yet 1 "'not yet valid' in o['reason'] and o['failed_check']=='pck_chain'" -- \
    verify --json --quote "$q" --collateral "$coll" --at 2000-01-01T00:00:00Z
expect text_hint_line 1 "'hint: verified at the current time' in out" -- verify --quote "$q" --collateral "$coll"
expect mrtd_expected_actual 1 "o['rejection']=='policy' and 'MRTD differs' in o['reason'] and 'MRTD is ' in o['reason'] and 'expected 00000000' in o['reason']" -- \
    verify --json --quote "$q" --collateral "$coll" --at $at --mrtd "$(printf '%096d' 0)"
"$tool" verify --json --quote "$q" --collateral "$coll" --at $at >"$tmp/rep0.json"
mrtd=$(python3 -c "import json; print(json.load(open('$tmp/rep0.json'))['mrtd'])")
expect mrtd_flag_list 0 "o['verdict']=='verified'" -- \
    verify --json --quote "$q" --collateral "$coll" --at $at --mrtd "$(printf '%096d' 0),$mrtd"
expect rtmr3_flag 1 "o['failed_check']=='quote_measurements' and 'rtmr3 is 00000000' in o['reason']" -- \
    verify --json --quote "$q" --collateral "$coll" --at $at --rtmr3 "$(printf 'ab%.0s' $(seq 48))"
expect rtmr_flag_bad 2 "'--rtmr1: \"abc\" is not 96 hex digits' in err" -- verify --quote "$q" --no-dcap --rtmr1 abc
expect report_data_expected_actual 1 "o['rejection']=='forged' and 'expected 00000000' in o['reason']" -- \
    verify --json --quote "$q" --collateral "$coll" --at $at --report-data "$(printf '%0128d' 0)"
cp "$fx/crabbox/default-compose.yml" "$tmp/docker-compose.yml"
expect compose_yaml_points_at_docker_compose 2 "'--docker-compose' in err and 'app-compose JSON' in err" -- \
    verify --info "$info" --no-dcap --at 1774003274 --compose "$tmp/docker-compose.yml"
expect compose_hash_expected_actual 1 "'compose hash 609b684c' in o['reason'] and 'expected 00000000' in o['reason']" -- \
    verify --json --info "$info" --no-dcap --at 1774003274 --compose-hash "$(printf '%064d' 0)"
expect app_id_expected_actual 1 "'app id is 944edab771280ede410e7b9e66fcaee6b2c4a12c; expected 0000' in o['reason']" -- \
    verify --json --info "$info" --no-dcap --at 1774003274 --app-id "$(printf '%040d' 0)"
# Checks print in the order they ran: a CRL failure (collateral authenticated right after
# quote_parse) comes before pck_chain, which did not run.
expect order_ran_first 1 "[c['name'] for c in o['checks']][:2]==['quote_parse','crl'] and all(c['status']=='not_run' for c in o['checks'][2:])" -- \
    verify --json --quote "$q" --collateral "$coll"
expect rejection_null_when_verified 0 "o['rejection'] is None and o['hint'] is None" -- \
    verify --json --quote "$q" --collateral "$coll" --at $at

# One JSON shape: ok, exit, code, message in every --json output (verify, inspect, collateral fetch;
# crabbox: tests/cli/crabbox_policy.sh).
shape="set(['ok','exit','code','message']) <= set(o)"
expect shape_verify_usage 2 "$shape and o['ok'] is False and o['exit']==2 and o['code']=='usage' and 'app-id' in o['message']" -- \
    verify --json --quote "$q" --app-id zz
expect shape_verify_rejected 1 "$shape and o['ok'] is False and o['exit']==1 and o['code']=='rejected' and o['message']==o['reason']" -- \
    verify --json --quote "$tmp/v6" --no-dcap
expect shape_verify_unavailable 3 "$shape and o['exit']==3 and o['code']=='unavailable'" -- verify --json --quote "$q" --at $at
expect shape_verify_ok 0 "$shape and o['ok'] is True and o['exit']==0 and o['message'] is None" -- \
    verify --json --quote "$q" --collateral "$coll" --at $at
expect shape_inspect_malformed 1 "$shape and o['exit']==1 and o['code']=='malformed' and o['error']=='CBA_E_QUOTE_UNSUPPORTED'" -- \
    inspect --json "$tmp/v6"
expect shape_inspect_usage 2 "$shape and o['exit']==2 and o['code']=='usage'" -- inspect --json "$tmp/nope"
expect shape_fetch_usage 2 "$shape and o['exit']==2 and o['code']=='usage'" -- collateral fetch --json --quote "$q" --tries 99
expect shape_fetch_unavailable 3 "$shape and o['exit']==3 and o['code']=='unavailable' and 'port 1' in o['message']" -- \
    collateral fetch --json --quote "$q" --pccs http://127.0.0.1:1 --no-cache --tries 1 -o "$tmp/c.json"

# ---- §3 everything the quote proves ------------------------------------------------------
expect report_fields 0 "all(o[k] is not None for k in ['mrseam','mrsignerseam','mrowner','mrownerconfig','mrconfigid','xfam','td_attributes','tee_tcb_svn','pce_id','pcesvn','qe_isvsvn','platform_tcb_status','tdx_module_tcb_status','qe_tcb_status','tcb_date','collateral_expires']) and len(o['xfam'])==16 and o['tcb_date'].endswith('Z')" -- \
    verify --json --quote "$q" --collateral "$coll" --at $at

# ---- §4 policy document ------------------------------------------------------------------
"$tool" verify --json --quote "$q" --collateral "$coll" --at $at >"$tmp/rep.json"
py() { python3 -c "import json; o=json.load(open('$tmp/rep.json')); $1"; }
zero48=$(printf '%096d' 0)
# every pin accepts a list; the real value among others passes, without it fails with expected/actual
for key in mrtd:mrtd mrseam:mrseam mrsignerseam:mrsignerseam mrconfigid:mrconfigid mrowner:mrowner \
           mrownerconfig:mrownerconfig xfam:xfam tdAttributes:td_attributes reportData:report_data \
           rtmr0:rtmr.0 rtmr1:rtmr.1 rtmr2:rtmr.2 rtmr3:rtmr.3; do
    k=${key%%:*} f=${key#*:}
    val=$(py "f='$f'; print(o[f.split('.')[0]][int(f.split('.')[1])] if '.' in f else o[f])")
    other=$(python3 -c "print('ff' * (len('$val') // 2))")
    printf '%s:\n  - "%s"\n  - "%s"\n' "$k" "$other" "$val" >"$tmp/pol_ok.yaml"
    printf '{"%s": ["%s"]}\n' "$k" "$other" >"$tmp/pol_bad.json"
    expect "policy_${k}_allowed" 0 "o['verdict']=='verified'" -- \
        verify --json --quote "$q" --collateral "$coll" --at $at --policy "$tmp/pol_ok.yaml"
    expect "policy_${k}_refused" 1 "o['rejection'] in ('policy','forged') and o['failed_check'] in ('quote_measurements','report_data') and 'ffffffff' in o['reason'] and ' is ' in o['reason']" -- \
        verify --json --quote "$q" --collateral "$coll" --at $at --policy "$tmp/pol_bad.json"
done
pcesvn=$(py "print(o['pcesvn'])"); qesvn=$(py "print(o['qe_isvsvn'])"); svn=$(py "print(o['tee_tcb_svn'])")
for kv in "minPcesvn: $pcesvn" "minQeIsvsvn: $qesvn" "minTeeTcbSvn: \"$svn\"" "minTcbEvaluationNumber: 1" \
          "acceptTcbStatus: [UpToDate, OutOfDate]" "maxCollateralAgeSeconds: 100000000" "allowedAdvisories: INTEL-SA-00837"; do
    echo "$kv" >"$tmp/pol.yaml"
    expect "policy_min_ok_${kv%%:*}" 0 "o['verdict']=='verified'" -- \
        verify --json --quote "$q" --collateral "$coll" --at $at --policy "$tmp/pol.yaml"
done
for kv in "minPcesvn: $((pcesvn + 1))" "minQeIsvsvn: $((qesvn + 1))" "minTeeTcbSvn: \"ff${svn:2}\"" \
          "minTcbEvaluationNumber: 100000" "acceptTcbStatus: OutOfDate" "maxCollateralAgeSeconds: 1"; do
    echo "$kv" >"$tmp/pol.yaml"
    expect "policy_min_refused_${kv%%:*}" 1 "o['rejection']=='policy' and o['verdict']=='rejected'" -- \
        verify --json --quote "$q" --collateral "$coll" --at $at --policy "$tmp/pol.yaml"
done
for bad in "bogus: 1" "mrtd: abc" "acceptTcbStatus: Revoked" "minPcesvn: -1" "mrtd: &a [\"$zero48\"]" \
           "mrtd: {x: 1}" "minPcesvn: [1, 2]" "mrtd: []" "- a"; do
    echo "$bad" >"$tmp/pol.yaml"
    expect "policy_bad_${bad%%:*}" 2 "'pol.yaml' in err" -- verify --quote "$q" --no-dcap --policy "$tmp/pol.yaml"
done
printf 'mrtd: ["%s"]\nmrtd: ["%s"]\n' "$zero48" "$zero48" >"$tmp/pol.yaml"
expect policy_duplicate_key 2 "'duplicate' in err" -- verify --quote "$q" --no-dcap --policy "$tmp/pol.yaml"
# osImageHash pins dstack's measured OS image (the os-image-hash event): right value, one bit off
os_hash=de9c74f0c85d0820ce075cb4a99f8e39f7b681be632907c5bf8bdc95ea72feb9
printf 'osImageHash: ["%s"]\n' "$os_hash" >"$tmp/pol_os.yaml"
expect policy_os_image_hash_allowed 0 "o['verdict']=='verified' and o['os_image_hash']=='$os_hash'" -- \
    verify --json --info "$info" --no-dcap --at 1774003274 --policy "$tmp/pol_os.yaml"
printf 'osImageHash: ["%s"]\n' "${os_hash%?}8" >"$tmp/pol_os.yaml"
expect policy_os_image_hash_refused 1 "o['failed_check']=='quote_measurements' and 'os_image_hash is de9c74f0' in o['reason']" -- \
    verify --json --info "$info" --no-dcap --at 1774003274 --policy "$tmp/pol_os.yaml"
printf 'osImageHash: ["%s"]\n' "$os_hash" >"$tmp/pol_os.yaml"
expect policy_os_image_hash_needs_event 1 "o['failed_check']=='quote_measurements' and 'not measured' in o['reason']" -- \
    verify --json --quote "$q" --collateral "$coll" --at $at --policy "$tmp/pol_os.yaml"
expect help_names_policy 0 "'--policy FILE' in out and 'RFC 3339' in out and \"'-' reads standard input\" in out" -- verify --help

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
