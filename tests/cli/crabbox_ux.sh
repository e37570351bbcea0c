#!/usr/bin/env bash
# crabbox for people (issue 14 §5): --version, `run` without --, progress lines that name the
# program, the --trust-root warning once, doctor's next steps, lease keys and known_hosts under
# XDG state (moved from the config directory). Prints "N passed, M failed".
. "$(dirname "$0")/crabbox_lib.bash"

expect version 0 --version && has version_text '^crabbox [0-9]+\.[0-9]+\.[0-9]+ \(driver ABI [0-9]+\)$' "$tmp/out"
expect version_json 0 --version --json && py version_json "o['ok'] is True and o['exit']==0 and o['crabbox'] and o['driver_abi']>=1"
expect run_without_dashdash 2 run make -j4 test && has run_hint "put the command after --: crabbox run \[OPTIONS\] -- make -j4 test" "$tmp/err"
expect run_without_dashdash_json 2 --json run make && py run_hint_json "o['code']=='usage' and 'after --' in o['message']"
expect run_with_dashdash 0 run -- true

# progress lines carry the program's name; the test-root warning is printed once
expect warmup 0 warmup
has progress_named '^crabbox: waiting for Test to create the lease' "$tmp/err"
hasnt progress_anonymous '^\.\.\. ' "$tmp/err"
same trust_root_warning_once "$(grep -c 'TEST ONLY trust root' "$tmp/err")" 1
expect run_warning_once 0 run -- true
same trust_root_warning_once_run "$(grep -c 'TEST ONLY trust root' "$tmp/err")" 1

# doctor: a next step for each problem
expect doctor_ok 0 doctor && has doctor_policy_line '^verifier policy: default' "$tmp/out"
expect doctor_bad_helper 2 doctor --test-helper /nonexistent/helper && has doctor_next 'next: ' "$tmp/err"
PATH=/nonexistent expect doctor_no_keygen 1 doctor && has doctor_keygen_next 'next: install OpenSSH' "$tmp/err"

# lease keys and known_hosts live under XDG state; an old config-directory lease moves there
lease=$(ls "$state/leases" | head -1)
[ -n "$lease" ] && [ -f "$state/leases/$lease/id_ed25519" ] && [ -f "$state/leases/$lease/known_hosts" ] && ok || bad "lease dir not in state"
[ ! -e "$XDG_CONFIG_HOME/crabbox/testboxes" ] && ok || bad "config dir still used"
old=$XDG_CONFIG_HOME/crabbox/testboxes
mkdir -p "$old"
mv "$state/leases/$lease" "$old/$lease"
"$python" - "$state/claims/$lease.json" "$old/$lease" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c['lease_dir'] = sys.argv[2]; json.dump(c, open(sys.argv[1], 'w'))
PY
expect migrate 0 list && has migrate_note "moved 1 lease directory .* from $old to $state/leases" "$tmp/err"
[ -f "$state/leases/$lease/id_ed25519" ] && [ ! -e "$old" ] && ok || bad "not migrated"
same migrated_key_mode "$(mode_of "$state/leases/$lease/id_ed25519")" 600
expect migrated_lease_usable 0 attest "$lease"
expect stop_migrated 0 stop "$lease"
[ ! -e "$state/leases/$lease" ] && ok || bad "lease dir left after stop"

# evidence bundles of released leases are pruned by stop and cleanup after evidenceRetention
bundles() { find "$state/evidence" -name 'cbx_*.json' | wc -l; }
expect prune_warm1 0 warmup --json && l1=$(field lease)
expect prune_warm2 0 warmup --json && l2=$(field lease)
before=$(bundles)
expect prune_stop_recent 0 --json stop "$l1" && py prune_none_recent "o['pruned_bundles']==0"
same prune_kept_recent "$(bundles)" "$before"
touch -d '40 days ago' "$state/evidence/$l1"-*.json "$state/evidence/$l2"-*.json
expect prune_cleanup_dry 0 cleanup --dry-run && has prune_dry_line "would-prune 1 evidence bundle" "$tmp/out"
same prune_dry_kept "$(bundles)" "$before"
printf 'evidenceRetention: 1s\n' >crabbox.yaml
expect prune_repo_cannot_shorten 0 --json cleanup && py prune_repo_json "o['pruned_bundles']==1"
has prune_repo_warning "ignoring 'evidenceRetention: 1s' from a repository config" "$tmp/err"
rm crabbox.yaml
same prune_old_released_gone "$(ls "$state/evidence" | grep -c "^$l1-")" 0
[ "$(ls "$state/evidence" | grep -c "^$l2-")" -ge 1 ] && ok || bad "a live lease's bundles were pruned"
CRABBOX_EVIDENCE_RETENTION=forever expect prune_forever 0 --json stop "$l2" && py prune_forever_json "o['pruned_bundles']==0"
CRABBOX_EVIDENCE_RETENTION=30d expect prune_after_stop 0 --json cleanup && py prune_after_stop_json "o['pruned_bundles']>=1"
same prune_all_gone "$(ls "$state/evidence" | grep -c "^$l2-")" 0
CRABBOX_EVIDENCE_RETENTION=soon expect prune_bad_value 2 cleanup && has prune_bad_msg "evidenceRetention 'soon' must be a duration" "$tmp/err"
finish
