#!/usr/bin/env bash
# CLI tests of `crabbox` with the test driver: usage and exit codes, JSON output, a lease's life
# (warmup, list, run, ssh, attest, stop), the gate (rejected evidence destroys the CVM, no session
# is opened), recovery (crash, failed rollback, --keep, expiry) through `cleanup`, the attestation
# opt-out, and the loader's refusals. Prints "N passed, M failed".
. "$(dirname "$0")/crabbox_lib.bash"

# ---- usage -----------------------------------------------------------------------------------
expect help 0 --help && has help_text '^usage: crabbox' "$tmp/out"
expect cmd_help 0 warmup --help && has cmd_help_text 'crabbox warmup' "$tmp/out"
for c in run ssh list stop attest cleanup doctor; do expect "help_$c" 0 "$c" --help; done
expect no_command 2
expect unknown_command 2 frobnicate
expect unknown_command_json 2 frobnicate --json && py usage_json "o['ok'] is False and o['code']=='usage' and o['exit']==2"
expect unknown_option 2 list --bogus
expect unknown_driver_option 2 list --test-bogus x && has names_flag 'test-bogus' "$tmp/err"
expect stop_needs_id 2 stop
expect run_needs_command 2 run
expect keep_not_for_list 2 list --keep
expect dry_run_not_for_warmup 2 warmup --dry-run
expect bad_ttl 2 warmup --ttl forever
expect unknown_provider 2 --provider nosuch doctor && has unknown_provider_msg 'crabbox-driver-nosuch.so' "$tmp/err"
expect provider_alias 0 --provider TestDriver doctor

# ---- doctor, warmup, list ----------------------------------------------------------------------
expect doctor 0 doctor --json && py doctor_json "o['ok'] and o['driver']['name']=='test' and o['driver']['abi_version']==1 and o['attest'] is True and o['collateral'] is False"
expect warmup 0 warmup --json --slug 'My Box!' && py warmup_json \
    "o['ok'] and re.fullmatch(r'cbx_[0-9a-f]{12}', o['lease']) and o['state']=='ready' and o['attested'] is True and o['slug']=='my-box' and o['tdx_app_id']==o['app_id'] and len(o['tdx_rtmr3'])==96 and os.path.exists(o['bundle'])"
has dcap_warning 'DCAP checks .* SKIPPED' "$tmp/err"
has attested_line '^attested test_cvm=[0-9a-f]{40} app_id=[0-9a-f]{40} compose_hash=[0-9a-f]{64} rtmr3=' "$tmp/err"
lease=$(field lease)
cvm=$(field cloud_id)
bundle=$(field bundle)
same state_dir_mode "$(mode_of "$state")" 700
same claim_mode "$(mode_of "$state/claims/$lease.json")" 600
same bundle_mode "$(mode_of "$bundle")" 600
same lease_dir_mode "$(mode_of "$XDG_STATE_HOME/crabbox/leases/$lease")" 700
same key_mode "$(mode_of "$XDG_STATE_HOME/crabbox/leases/$lease/id_ed25519")" 600
has key_comment "crabbox $lease" "$XDG_STATE_HOME/crabbox/leases/$lease/id_ed25519.pub"
has known_hosts_pinned "^$lease ssh-ed25519 " "$XDG_STATE_HOME/crabbox/leases/$lease/known_hosts"
py bundle_verified "o['verdict']=='verified' and o['lease']=='$lease' and len(o['nonce'])==64 and o['fresh'] and o['host_key'] and o['dcap']=='skipped'" "$bundle"

expect list_json 0 list --json && py list_has_lease "len(o)==1 and o[0]['lease']=='$lease' and o[0]['status']=='running'"
expect list_text 0 list && has list_row "^$lease +my-box +$cvm" "$tmp/out"

# ---- run, ssh, attest on the lease ---------------------------------------------------------------
expect run_id_status 7 run --id "$lease" -- sh -c 'exit 7'
expect run_id_quoting 0 run --id my-box -- printf '%s|' "a b" "c'd" '$HOME' && same run_quoting "$(cat "$tmp/out")" "a b|c'd|\$HOME|"
has run_reverifies '^attested test_cvm=' "$tmp/err"
if printf 'echo via-ssh\n' | "$crabbox" ssh "$lease" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "ssh: exit $?"; fi
has ssh_output '^via-ssh$' "$tmp/out"
expect attest 0 attest "$lease" --json && py attest_json "o['verdict']=='verified' and o['bundle']!='$bundle'"
expect attest_unknown 4 attest cbx_000000000000 --json && py attest_unknown_json "o['code']=='not_found' and o['exit']==4"

# ---- stop ----------------------------------------------------------------------------------------
expect stop_by_slug 0 stop my-box && has released "^released lease=$lease test_cvm=$cvm" "$tmp/out"
same no_claims_after_stop "$(num_claims)" 0
same no_cvms_after_stop "$(num_cvms)" 0
[ ! -e "$XDG_STATE_HOME/crabbox/leases/$lease" ] && ok || bad "lease dir left after stop"
expect stop_again 4 stop "$lease"
expect list_empty 0 list --json && py list_empty_json "o==[]"

# ---- run without --id: acquire, run, release; with --keep: kept ----------------------------------
expect run_new 0 run -- sh -c 'echo ran-here'
has run_new_output '^ran-here$' "$tmp/out"
same run_released "$(num_claims)/$(num_cvms)" 0/0
expect run_keep 9 run --keep -- sh -c 'exit 9'
same run_kept "$(num_claims)/$(num_cvms)" 1/1
has kept_msg 'kept lease=' "$tmp/err"
kept=$(basename "$(find "$state/claims" -name 'cbx_*.json')" .json)
expect stop_kept 0 stop "$kept"

# ---- the gate ------------------------------------------------------------------------------------
: >"$calls"
CRABBOX_TEST_MODE=tamper-quote expect tamper_quote 3 warmup --json && py tamper_quote_json \
    "o['ok'] is False and o['code']=='attestation' and o['exit']==3 and o['failed_check']=='quote_signature'"
has refusing_msg 'refusing Test lease: TDX attestation verification failed for test_cvm=[0-9a-f]{40}: quote_signature' "$tmp/err"
has destroyed_after_reject '^destroy cbx_[0-9a-f]{12} ok' "$calls"
hasnt no_session_after_reject 'open_session' "$calls"
same nothing_left_after_reject "$(num_claims)/$(num_cvms)" 0/0
rejected_bundle=$(ls -t "$state"/evidence/*.json | head -1)
py rejected_bundle "o['verdict']=='rejected' and o['failed_check']=='quote_signature'" "$rejected_bundle"
for m in tamper-compose:compose_binding tamper-app-id:app_id wrong-nonce:report_data not-fresh:report_data; do
    CRABBOX_TEST_MODE=${m%%:*} expect "gate_${m%%:*}" 3 warmup --json && py "gate_${m%%:*}_check" "o['failed_check']=='${m#*:}'"
done
CRABBOX_TEST_MODE=fail-evidence expect fetch_failure 3 warmup && has fetch_failed_msg 'TDX attestation fetch failed' "$tmp/err"
same nothing_left_after_gate "$(num_claims)/$(num_cvms)" 0/0
CRABBOX_TEST_MODE=early-session expect early_session 0 warmup
has early_session_refused 'early-session cbx_[0-9a-f]{12} refused' "$calls"
early=$(basename "$(find "$state/claims" -name 'cbx_*.json')" .json)
expect stop_early 0 stop "$early"

# Collateral given: the DCAP checks run.
expect with_collateral 0 warmup --json --collateral "$tmp/collateral.json" && hasnt no_dcap_warning 'SKIPPED' "$tmp/err"
py collateral_bundle "o['dcap']=='checked' and o['collateral'] and o['collateral_source'].startswith('file:')" \
    "$(field bundle)"
expect stop_collateral 0 stop "$(field lease)"
expect require_collateral 3 warmup --require-collateral --json && py require_collateral_json "o['failed_check']=='collateral'"

# ---- recovery ----------------------------------------------------------------------------------------
# A failed rollback is recorded and retried by cleanup.
CRABBOX_TEST_MODE=tamper-quote,fail-destroy expect rollback_fails 3 warmup
has rollback_msg 'recovery=rollback-cleanup' "$tmp/err"
same rollback_claim_kept "$(num_claims)/$(num_cvms)" 1/1
py rollback_claim "o['state']=='failed' and o['recovery']=='rollback-cleanup' and o['attested'] is False" \
    "$(find "$state/claims" -name 'cbx_*.json')"
expect cleanup_dry 0 cleanup --dry-run && has would_destroy '^would destroy test_cvm=[0-9a-f]{40} lease=cbx_[0-9a-f]{12} reason=rollback-cleanup' "$tmp/out"
same dry_run_changes_nothing "$(num_claims)/$(num_cvms)" 1/1
expect cleanup_rollback 0 cleanup --json && py cleanup_rollback_json "o['destroyed']==1 and o['actions'][0]['reason']=='rollback-cleanup'"
same rollback_swept "$(num_claims)/$(num_cvms)" 0/0

# --keep after a rejection: kept, skipped by cleanup, stoppable.
CRABBOX_TEST_MODE=tamper-quote expect keep_after_failure 3 warmup --keep
same kept_after_failure "$(num_claims)/$(num_cvms)" 1/1
expect cleanup_skips_kept 0 cleanup && has skip_kept 'skip test_cvm=.* reason=kept-after-failure' "$tmp/err"
expect stop_kept_failure 0 stop "$(basename "$(find "$state/claims" -name 'cbx_*.json')" .json)"

# A crash inside the driver kills the host (in-process plugin); the claim makes it recoverable.
CRABBOX_TEST_MODE=crash-evidence expect crash_evidence 134 warmup
py crash_claim "o['state']=='provisioning' and len(o['cloud_id'])==40" "$(find "$state/claims" -name 'cbx_*.json')"
CRABBOX_TEST_MODE=crash-warmup expect crash_warmup 134 warmup
same crash_leftovers "$(num_claims)/$(num_cvms)" 2/2
expect cleanup_abandoned 0 cleanup --json && py cleanup_abandoned_json \
    "o['destroyed']==2 and all(a['action']=='destroy' and a['reason']=='abandoned' for a in o['actions'])"
same abandoned_swept "$(num_claims)/$(num_cvms)" 0/0

# A definitive provider refusal (quota) leaves nothing behind.
CRABBOX_TEST_MODE=fail-warmup expect quota 1 warmup && same quota_nothing "$(num_claims)" 0

# Expiry: a 1 s TTL is swept, a fresh lease is not.
expect short_ttl 0 warmup --ttl 1s --json
short=$(field lease)
expect long_ttl 0 warmup --json
long=$(field lease)
sleep 1.2
expect cleanup_expired 0 cleanup
has expired_destroyed "^destroy test_cvm=[0-9a-f]{40} lease=$short reason=expired" "$tmp/out"
has fresh_skipped "skip test_cvm=[0-9a-f]{40} lease=$long reason=not-expired" "$tmp/err"
same one_left "$(num_claims)/$(num_cvms)" 1/1

# A CVM without a claim is not ours: list hides it, cleanup leaves it alone, stop cannot find it.
rm "$state/claims/$long.json"
expect list_unclaimed 0 list --json && py unclaimed_hidden "o==[]"
expect cleanup_unclaimed 0 cleanup && same unclaimed_kept "$(num_cvms)" 1
expect stop_unclaimed 4 stop "$long"
rm -rf "${cloud:?}"/*

# A claim whose CVM is gone is reaped.
expect gone_warmup 0 warmup --json
gone=$(field lease)
rm -rf "${cloud:?}"/*
expect cleanup_gone 0 cleanup && has claim_reaped "^remove claim lease=$gone reason=missing Test CVM" "$tmp/out"
same gone_reaped "$(num_claims)" 0

# Ownership: a claim that names another lease's CVM cannot destroy it.
expect own_a 0 warmup --json
own_a=$(field lease)
expect own_b 0 warmup --json
own_b_cvm=$(field cloud_id)
"$python" - "$state/claims/$own_a.json" "$own_b_cvm" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c['cloud_id'] = sys.argv[2]; json.dump(c, open(sys.argv[1], 'w'))
PY
expect stop_not_owner 4 stop "$own_a" && has ownership_msg 'does not belong to lease' "$tmp/err"
same owner_kept "$(num_cvms)" 2
rm -rf "${cloud:?}"/* "$state"/claims/*

# ---- opting out of attestation ------------------------------------------------------------------------
expect skip_flag 0 warmup --json --test-skip-attestation --test-attest && py skip_flag_json "o['attested'] is False"
has skip_warning 'WARNING: attestation is turned off \(flag --test-skip-attestation\)' "$tmp/err"
py skipped_bundle "o['verdict']=='skipped' and o['info'] is None" "$(field bundle)"
skipped=$(field lease)
expect run_unattested 0 run --id "$skipped" --test-skip-attestation -- true
expect attest_forces_verification 0 attest "$skipped" --json && py forced_attest "o['attested'] is True"
CRABBOX_TEST_ATTEST=false expect skip_env 0 warmup --json && py skip_env_json "o['attested'] is False"
has skip_env_warning 'turned off \(environment CRABBOX_TEST_ATTEST\)' "$tmp/err"
printf 'test:\n  attest: false\n' >crabbox.yaml
expect repo_cannot_skip 0 warmup --json && py repo_attest_ignored "o['attested'] is True"
has repo_attest_warning "ignoring 'test.attest: false'" "$tmp/err"
rm crabbox.yaml

# ---- provider errors and the loader -----------------------------------------------------------------------
CRABBOX_TEST_MODE=malformed-list expect malformed 5 list --json && py malformed_json "o['code']=='malformed' and o['exit']==5"
CRABBOX_DRIVER_PATH=$variants expect badabi 2 --provider test-badabi doctor --json && \
    py badabi_json "'ABI version 2, expected 1' in o['error'] and 'crabbox-driver-test-badabi.so' in o['error']"
CRABBOX_DRIVER_PATH=$variants expect short_struct 2 --provider test-short doctor && has short_msg 'struct_size' "$tmp/err"
CRABBOX_DRIVER_PATH=$variants expect nosym 2 --provider test-nosym doctor && has nosym_msg 'does not export crabbox_driver_entry' "$tmp/err"
mkdir -p "$tmp/gw"
cp "$drivers/crabbox-driver-test.so" "$tmp/gw/"
chmod 775 "$tmp/gw/crabbox-driver-test.so"
CRABBOX_DRIVER_PATH=$tmp/gw expect group_writable 2 doctor && has group_writable_msg "refusing driver $tmp/gw/crabbox-driver-test.so: the file is group-writable" "$tmp/err"

finish
