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
expect doctor 0 doctor --json && py doctor_json "o['ok'] and o['driver']['name']=='test' and o['driver']['abi_version']==1 and o['attest'] is True and o['collateral'] is False and o['wolfssl']['library'].startswith('wolfSSL ') and o['wolfssl']['options']"
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
# The per-lease pre-launch script: the lease key in its text, only that key set, no env/user_config
# key source; deployed through the spec and required in the attested app-compose.
script="$XDG_STATE_HOME/crabbox/leases/$lease/pre-launch.sh"
same script_mode "$(mode_of "$script")" 600
if "$python" - "$script" "$XDG_STATE_HOME/crabbox/leases/$lease/id_ed25519.pub" <<'PY'; then ok; else bad "script content"; fi
import re, sys
text = open(sys.argv[1]).read()
key = open(sys.argv[2]).read().strip()
code = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
assert "key='%s'" % key in code, "the lease key is not the script's key"
assert sum(1 for ln in code if "ssh-" in ln) == 1, "more than one key in the script"
assert any(ln.endswith(">/home/root/.ssh/authorized_keys.crabbox") for ln in code)
assert not any(re.search(r"DSTACK_AUTHORIZED_KEYS|DSTACK_ROOT_PUBLIC_KEY|user_config|>>", ln) for ln in code)
PY
py bundle_has_script "__import__('base64').b64decode(o['pre_launch_script'])==open('$script','rb').read()" "$bundle"
has attested_ssh_keys '^attested test_cvm=.* ssh_keys=lease-key-only' "$tmp/err"
# Measurements pinned on first use: this first lease pins MRTD and RTMR0-2 for test/-/-.
py first_sighting_json "o['measurement_pin']=='first-sighting' and re.fullmatch(r'test/-/[0-9a-f]{64}', o['measurement_pin_key'])"
pinkey=$(field measurement_pin_key)
has first_sighting_msg "measurements: FIRST SIGHTING of $pinkey" "$tmp/err"
same pins_mode "$(mode_of "$state/pins")" 600
py claim_ssh_keys "o['ssh_keys']=='lease-key-only'" "$state/claims/$lease.json"
cmp -s "$script" "$(dirname "$(grep -l "$lease" "$state"/testdriver-cloud/*/lease)")/pre_launch_script" && ok || bad "the driver did not get the script"

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
# The app-compose around our compose: a provider that extends or drops our script, swaps the runner
# or opens env vars is refused at app_compose, naming the member.
for m in tamper-script:'pre_launch_script sha256:' drop-script:'pre_launch_script is absent' \
         tamper-runner:'runner is "bash"' tamper-envs:'allowed_envs\[1\] is "DSTACK_ROOT_PASSWORD"'; do
    CRABBOX_TEST_MODE=${m%%:*} expect "gate_${m%%:*}" 3 warmup --json && py "gate_${m%%:*}_check" "o['failed_check']=='app_compose'"
    has "gate_${m%%:*}_msg" "app_compose: .*${m#*:}" "$tmp/err"
done
has gate_script_explained 'replaced or extended its per-lease pre-launch script' "$tmp/err"
# A platform that deploys Phala's default script (the real capture's, v0.0.15) instead of ours: the
# host could add its own root key. Refused by default with that explanation; accepted only from a
# trusted setting, loudly, labelled ssh_keys=host-controllable; a repository cannot accept it.
if [ -f "${CBA_SHARED_FIXTURES:-}/crabbox/real_attestation_info.json" ]; then
    mkdir -p "$state/testdriver-cloud"
    "$python" -c "
import json, sys
t = json.load(open(sys.argv[1]))['tcb_info']
t = json.loads(t) if isinstance(t, str) else t
sys.stdout.write(json.loads(t['app_compose'])['pre_launch_script'])" "$CBA_SHARED_FIXTURES/crabbox/real_attestation_info.json" \
        >"$state/testdriver-cloud/phala-default-script"
    CRABBOX_TEST_MODE=phala-script expect phala_script_refused 3 warmup --json && \
        py phala_script_refused_json "o['failed_check']=='app_compose'"
    has phala_script_explained "Phala's default v0.0.15: the host can add root SSH keys" "$tmp/err"
    printf 'acceptPhalaDefaultPreLaunchScript: true\n' >crabbox.yaml
    CRABBOX_TEST_MODE=phala-script expect phala_script_repo_cannot_accept 3 warmup --json
    has phala_script_repo_warning "ignoring 'acceptPhalaDefaultPreLaunchScript: true' from a repository config" "$tmp/err"
    rm crabbox.yaml
    CRABBOX_ACCEPT_PHALA_DEFAULT_PRE_LAUNCH_SCRIPT=true CRABBOX_TEST_MODE=phala-script \
        expect phala_script_accepted 0 warmup --json && py phala_script_label "o['ssh_keys']=='host-controllable'"
    has phala_script_warning "WARNING: accepted Phala Cloud's default pre-launch script .* the HOST can add its own root key" "$tmp/err"
    has phala_script_attested_label '^attested test_cvm=.* ssh_keys=host-controllable' "$tmp/err"
    expect stop_phala_script 0 stop "$(field lease)"
else
    echo "SKIP phala_script: no real capture (CBA_SHARED_FIXTURES)"
fi
# Measurement pins: another MRTD under the same key is refused, both values shown; `pins` lists
# and `pins --forget` drops the entry, after which the new image is pinned as a first sighting.
expect pins_list 0 pins --json && py pins_list_json "len(o)==1 and o[0]['key']=='$pinkey' and len(o[0]['mrtd'])==96 and len(o[0]['rtmr'])==3"
expect pins_text 0 pins && has pins_text_row "^$pinkey mrtd=" "$tmp/out"
expect second_lease_matches 0 warmup --json && py second_match_json "o['measurement_pin']=='match'"
hasnt second_no_first_sighting 'FIRST SIGHTING' "$tmp/err"
expect stop_second 0 stop "$(field lease)"
: >"$calls"
CRABBOX_TEST_MODE=other-mrtd expect other_mrtd_refused 3 warmup --json && py other_mrtd_json "o['failed_check']=='measurement_pins'"
has other_mrtd_msg "measurement_pins: MRTD differs from its pin \(first seen on lease cbx_[0-9a-f]{12}\): pinned [0-9a-f]{96}, now [0-9a-f]{96}; .crabbox pins --forget $pinkey. accepts the new image" "$tmp/err"
has other_mrtd_destroyed '^destroy cbx_[0-9a-f]{12} ok' "$calls"
expect pins_forget_unknown 4 pins --forget test/nope/-
expect pins_forget 0 pins --forget "$pinkey" && has pins_forgot "^forgot measurement pin $pinkey" "$tmp/out"
CRABBOX_TEST_MODE=other-mrtd expect other_mrtd_repinned 0 warmup && has repinned_stdout "^measurements: first sighting, pinned under $pinkey" "$tmp/out"
expect stop_repinned 0 stop "$(field lease "$state/claims/$(ls "$state/claims" | head -1)")"
expect pins_forget_again 0 pins --forget "$pinkey"
printf 'garbage line\n' >"$state/pins"
expect pins_malformed 3 warmup --json && py pins_malformed_json "o['failed_check']=='measurement_pins'"
has pins_malformed_msg 'pins:1: not a pin entry' "$tmp/err"
rm -f "$state/pins"
# Info-only opt-in: the host key no quote bound is pinned (sessions need it) but marked, and only
# the same opt-in uses it; a fresh verification rewrites the pin unmarked.
CRABBOX_TEST_MODE=not-fresh CRABBOX_ALLOW_INFO_ONLY_ATTESTATION=true expect info_only_warmup 0 warmup --json && \
    py info_only_json "o['attestation_fresh'] is False"
io_lease=$(field lease)
io_kh="$XDG_STATE_HOME/crabbox/leases/$io_lease/known_hosts"
has info_only_marked '^# crabbox: info-only: this host key is NOT bound by any quote' "$io_kh"
has info_only_key_still_pinned "^$io_lease ssh-ed25519 " "$io_kh"
CRABBOX_TEST_MODE=not-fresh CRABBOX_ALLOW_INFO_ONLY_ATTESTATION=true expect info_only_with_opt_in 0 run --id "$io_lease" --no-sync -- true
expect info_only_fresh_again 0 attest "$io_lease"
hasnt fresh_unmarked 'info-only' "$io_kh"
CRABBOX_TEST_MODE=not-fresh CRABBOX_ALLOW_INFO_ONLY_ATTESTATION=true expect info_only_marked_again 0 attest "$io_lease"
has info_only_remarked '^# crabbox: info-only' "$io_kh"
# Without the opt-in the lease is re-verified, refused (report_data) and destroyed: no session.
CRABBOX_TEST_MODE=not-fresh expect info_only_needs_opt_in 3 run --id "$io_lease" --no-sync -- true
same info_only_gone "$(num_claims)" 0
# Defence in depth: a second root key appearing after boot is refused after the session opens.
: >"$calls"
CRABBOX_TEST_MODE=extra-root-key expect extra_root_key 3 warmup --json && py extra_root_key_json "o['failed_check']=='root_keys'"
has extra_root_key_msg "root_keys: root's authorized_keys holds 2 key\(s\), 1 of them not the lease's" "$tmp/err"
has extra_root_key_destroyed '^destroy cbx_[0-9a-f]{12} ok' "$calls"
same nothing_left_after_root_keys "$(num_claims)/$(num_cvms)" 0/0
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
