#!/usr/bin/env bash
# The host's verifier policy (issue 12 §3, issue 14 §4): the keys of `crabbox-attest verify
# --policy` as config keys, CRABBOX_* variables and flags; a repository file (crabbox.yaml) can only
# tighten them: a test per key (`doctor --json` shows the effective policy), then leases through the
# gate with the test driver refused and accepted by pins. Prints "N passed, M failed".
. "$(dirname "$0")/crabbox_lib.bash"
user=$XDG_CONFIG_HOME/crabbox/config.yaml
mkdir -p "$(dirname "$user")"
A=$(printf 'aa%.0s' $(seq 48)) B=$(printf 'bb%.0s' $(seq 48)) C=$(printf 'cc%.0s' $(seq 48))
a8=0100000000000000 b8=0200000000000000 c8=0300000000000000

# setcfg USER_YAML REPO_YAML: writes both files (empty text: no file).
setcfg() {
    rm -f "$user" crabbox.yaml
    if [ -n "$1" ]; then printf '%s\n' "$1" >"$user"; chmod 600 "$user"; fi
    if [ -n "$2" ]; then printf '%s\n' "$2" >crabbox.yaml; fi
}
# pol NAME USER REPO EXPR: doctor --json with those files; EXPR over p = o['policy'].
pol() {
    setcfg "$2" "$3"
    if expect "$1" 0 doctor --json; then py "$1_json" "(lambda p: $4)(o['policy'])"; fi
}

# ---- a test per key: trusted sets, the repository only tightens --------------------------------
pol accept_loosen 'acceptTcbStatus: [UpToDate, OutOfDate]' 'acceptTcbStatus: [UpToDate, OutOfDate, SWHardeningNeeded]' \
    "p['acceptTcbStatus']==['UpToDate','OutOfDate']"
pol accept_tighten 'acceptTcbStatus: [UpToDate, OutOfDate]' 'acceptTcbStatus: UpToDate' "p['acceptTcbStatus']==['UpToDate']"
pol accept_repo_only '' 'acceptTcbStatus: [UpToDate, OutOfDate]' "p['acceptTcbStatus']==['UpToDate']"
pol advisories_loosen 'allowedAdvisories: [INTEL-SA-1, INTEL-SA-2]' 'allowedAdvisories: [INTEL-SA-1, INTEL-SA-2, INTEL-SA-3]' \
    "p['allowedAdvisories']==['INTEL-SA-1','INTEL-SA-2']"
pol advisories_tighten 'allowedAdvisories: [INTEL-SA-1, INTEL-SA-2]' 'allowedAdvisories: [INTEL-SA-2]' \
    "p['allowedAdvisories']==['INTEL-SA-2']"
pol advisories_repo_only '' 'allowedAdvisories: INTEL-SA-1' "p['allowedAdvisories']==[]"
pol min_eval_loosen 'minTcbEvaluationNumber: 10' 'minTcbEvaluationNumber: 5' "p['minTcbEvaluationNumber']==10"
pol min_eval_tighten 'minTcbEvaluationNumber: 10' 'minTcbEvaluationNumber: 20' "p['minTcbEvaluationNumber']==20"
pol max_age_loosen 'maxCollateralAgeSeconds: 1000' 'maxCollateralAgeSeconds: 5000' "p['maxCollateralAgeSeconds']==1000"
pol max_age_tighten 'maxCollateralAgeSeconds: 1000' 'maxCollateralAgeSeconds: 10' "p['maxCollateralAgeSeconds']==10"
pol max_age_repo_only '' 'maxCollateralAgeSeconds: 10' "p['maxCollateralAgeSeconds']==10"
a32=${A:0:64} b32=${B:0:64} c32=${C:0:64}
for k in mrtd rtmr0 rtmr1 rtmr2 rtmr3 mrseam mrsignerseam mrconfigid mrowner mrownerconfig xfam tdAttributes osImageHash; do
    x=$A y=$B z=$C
    if [ "$k" = xfam ] || [ "$k" = tdAttributes ]; then x=$a8 y=$b8 z=$c8; fi
    if [ "$k" = osImageHash ]; then x=$a32 y=$b32 z=$c32; fi
    pol "${k}_narrowed" "$k: [\"$x\", \"$y\"]" "$k: [\"$x\", \"$z\"]" "p['$k']==['$x']"
    pol "${k}_repo_adds" '' "$k: \"$z\"" "p['$k']==['$z']"
    pol "${k}_trusted_kept" "$k: [\"$x\", \"$y\"]" '' "p['$k']==['$x','$y']"
    setcfg "$k: [\"$x\"]" "$k: [\"$z\"]"
    expect "${k}_repo_disjoint" 2 doctor --json && has "${k}_disjoint_msg" "crabbox.yaml:1: $k: none of the repository's values" "$tmp/err"
done
pol tee_svn_loosen 'minTeeTcbSvn: "0303000000000000000000000000000a"' 'minTeeTcbSvn: "01010000000000000000000000000000"' \
    "p['minTeeTcbSvn']=='0303000000000000000000000000000a'"
pol tee_svn_tighten 'minTeeTcbSvn: "0303000000000000000000000000000a"' 'minTeeTcbSvn: "0104000000000000000000000000000b"' \
    "p['minTeeTcbSvn']=='0304000000000000000000000000000b'"
pol qe_svn_loosen 'minQeIsvsvn: 8' 'minQeIsvsvn: 2' "p['minQeIsvsvn']==8"
pol qe_svn_tighten 'minQeIsvsvn: 8' 'minQeIsvsvn: 9' "p['minQeIsvsvn']==9"
pol pcesvn_loosen 'minPcesvn: 11' 'minPcesvn: 1' "p['minPcesvn']==11"
pol pcesvn_tighten 'minPcesvn: 11' 'minPcesvn: 13' "p['minPcesvn']==13"
# trusted precedence: environment over the user file, flags over the environment; the repository
# still only tightens on top
setcfg 'minPcesvn: 3' 'minPcesvn: 2'
CRABBOX_MIN_PCESVN=7 expect env_over_user 0 doctor --json && py env_over_user_json "o['policy']['minPcesvn']==7"
CRABBOX_MRTD="$A,$B" expect env_list 0 doctor --json && py env_list_json "o['policy']['mrtd']==['$A','$B']"
expect flag_over_env 0 doctor --json --min-pcesvn 9 --mrtd "$C" && py flag_json "o['policy']['minPcesvn']==9 and o['policy']['mrtd']==['$C']"
setcfg '' ''
expect text_summary 0 doctor --mrtd "$A" && has text_summary_line 'verifier policy: mrtd\(1\)' "$tmp/out"
# bad values name the source; reportData belongs to the host
setcfg 'mrtd: [abc]' ''
expect bad_pin 2 doctor && has bad_pin_msg 'config.yaml:1: mrtd: "abc" is not 96 hex digits' "$tmp/err"
expect bad_pin_json 2 doctor --json && py bad_pin_shape "o['ok'] is False and o['exit']==2 and o['code']=='usage' and 'mrtd' in o['message']"
setcfg '' 'acceptTcbStatus: Revoked'
expect repo_revoked 2 doctor && has repo_revoked_msg 'never Revoked' "$tmp/err"
setcfg "reportData: [\"$A$A\"]" ''
expect report_data_refused 2 doctor && has report_data_msg "'reportData' cannot be configured" "$tmp/err"
setcfg '' ''
expect bad_flag 2 doctor --min-pcesvn lots && has bad_flag_msg 'flag --min-pcesvn' "$tmp/err"

# ---- through the gate (test driver) ----------------------------------------------------------
setcfg '' ''
expect warm_default 0 warmup --json
bundle=$(field bundle)
"$attest_tool" verify --json --no-dcap --bundle "$bundle" --trust-root "$tmp/root.der" >"$tmp/rep.json" 2>/dev/null
mrtd=$(field mrtd "$tmp/rep.json")
pcesvn=$(field pcesvn "$tmp/rep.json")
[ ${#mrtd} -eq 96 ] && ok || bad "mrtd from the bundle: '$mrtd'"
cvms=$(num_cvms)
setcfg "mrtd: [\"$A\"]" ''
expect gate_mrtd_refused 3 warmup && has gate_mrtd_msg "quote_measurements: .*mrtd is ${mrtd:0:8}\.\.\.${mrtd: -8}; expected aaaaaaaa" "$tmp/err"
same gate_refused_destroyed "$(num_cvms)" "$cvms"
setcfg "mrtd: [\"$A\", \"$mrtd\"]" ''
expect gate_mrtd_allowed 0 warmup
setcfg '' "mrtd: \"$A\""
expect gate_repo_pin_refuses 3 warmup && has gate_repo_pin_msg 'mrtd is ' "$tmp/err"
setcfg '' "minPcesvn: $((pcesvn + 1))"
expect gate_repo_min_refuses 3 warmup && has gate_repo_min_msg "PCESVN is $pcesvn; the policy's minimum is $((pcesvn + 1))" "$tmp/err"
setcfg '' "minPcesvn: $pcesvn"
expect gate_repo_min_ok 0 warmup
setcfg "mrtd: [\"$A\", \"$mrtd\"]" "mrtd: [\"$A\", \"$B\"]"
expect gate_repo_narrows_out 3 warmup && has gate_repo_narrow_msg 'mrtd is ' "$tmp/err"
# The OS image hash allow-list: a testdriver lease is refused at quote_measurements whether its
# evidence measures another image or none.
setcfg "osImageHash: [\"$a32\"]" ''
expect gate_os_image_refused 3 warmup && has gate_os_image_msg 'quote_measurements: .*os_image_hash (is |is pinned but not measured)' "$tmp/err"
# Measurement pins on first use (issue 12 §4): trusted pins of all four registers take precedence
# (nothing pinned on first use); a repository's pins never replace first-use pinning.
rtmr() { "$python" -c "import json,sys; print(json.load(open(sys.argv[2]))['rtmr'][int(sys.argv[1])])" "$1" "$tmp/rep.json"; }
rt0=$(rtmr 0) rt1=$(rtmr 1) rt2=$(rtmr 2)
all4="mrtd: [\"$mrtd\"]
rtmr0: [\"$rt0\"]
rtmr1: [\"$rt1\"]
rtmr2: [\"$rt2\"]"
setcfg "$all4" ''
expect gate_pins_configured 0 warmup --json && py gate_pins_configured_json "o.get('measurement_pin')=='configured'"
setcfg '' "$all4"
expect gate_pins_repo_tofu 0 warmup --json && py gate_pins_repo_tofu_json "o.get('measurement_pin') in ('first-sighting','match')"
setcfg "mrtd: [\"$mrtd\"]" ''
expect gate_pins_partial_tofu 0 warmup --json && py gate_pins_partial_tofu_json "o.get('measurement_pin')=='match'"
setcfg '' ''
finish
