#!/usr/bin/env bash
# Concurrency: N=8 warmups in parallel (with cleanups and lists racing them), then 8 stops in
# parallel (and a second stop racing each), against one state directory. Afterwards the state is
# consistent: distinct ids and slugs, one claim per CVM, everything ready; then nothing left — no
# claim, CVM, lease directory, lock file or temporary file. Prints "N passed, M failed".
. "$(dirname "$0")/crabbox_lib.bash"
n=8

mkdir -p "$tmp/p"
for i in $(seq $n); do
    "$crabbox" warmup --json >"$tmp/p/w$i.out" 2>"$tmp/p/w$i.err" </dev/null &
done
# Racing the warmups: a sweep must not touch a lease that is being created, and list must not fail.
"$crabbox" cleanup --json >"$tmp/p/c1.out" 2>"$tmp/p/c1.err" </dev/null &
"$crabbox" list --json >"$tmp/p/l1.out" 2>"$tmp/p/l1.err" </dev/null &
"$crabbox" cleanup >"$tmp/p/c2.out" 2>"$tmp/p/c2.err" </dev/null &
wait

for i in $(seq $n); do
    if py "warmup_$i" "o['ok'] and o['state']=='ready' and o['attested'] is True" "$tmp/p/w$i.out"; then :; fi
done
py racing_cleanup "o['ok'] and o['destroyed']==0" "$tmp/p/c1.out"
py racing_list "isinstance(o, list)" "$tmp/p/l1.out"
hasnt racing_cleanup_destroys '^destroy' "$tmp/p/c2.out"

"$python" - "$tmp/p" "$n" >"$tmp/p/ids" <<'PY'
import json, sys, glob
outs = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + '/w*.out'))]
print(' '.join(o['lease'] for o in outs))
assert len({o['lease'] for o in outs}) == int(sys.argv[2]), 'lease ids collide'
assert len({o['slug'] for o in outs}) == int(sys.argv[2]), 'slugs collide'
assert len({o['cloud_id'] for o in outs}) == int(sys.argv[2]), 'CVM ids collide'
PY
if [ $? -eq 0 ]; then ok; else bad "distinct ids, slugs and CVMs"; fi
same claims_after_warmups "$(num_claims)" $n
same cvms_after_warmups "$(num_cvms)" $n
expect list_all 0 list --json && py list_all_json "len(o)==$n and all(x['state']=='ready' for x in o)"
"$python" - "$state/claims" "$cloud" <<'PY'
import json, os, sys
claims = [json.load(open(os.path.join(sys.argv[1], f))) for f in os.listdir(sys.argv[1]) if f.endswith('.json')]
for c in claims:
    d = os.path.join(sys.argv[2], c['cloud_id'])
    assert open(os.path.join(d, 'lease')).read() == c['lease'], c['lease']
PY
if [ $? -eq 0 ]; then ok; else bad "every claim names its own CVM"; fi

# Stop everything at once; a second stop of each lease races the first: exactly one wins.
for id in $(cat "$tmp/p/ids"); do
    "$crabbox" stop "$id" >"$tmp/p/s1-$id.out" 2>"$tmp/p/s1-$id.err" </dev/null &
    "$crabbox" stop "$id" >"$tmp/p/s2-$id.out" 2>"$tmp/p/s2-$id.err" </dev/null &
done
"$crabbox" list --json >"$tmp/p/l2.out" 2>"$tmp/p/l2.err" </dev/null &
wait
released=$(cat "$tmp"/p/s1-*.out "$tmp"/p/s2-*.out | grep -c '^released lease=')
same one_release_per_lease "$released" $n
py racing_list_2 "isinstance(o, list)" "$tmp/p/l2.out"
same claims_after_stops "$(num_claims)" 0
same cvms_after_stops "$(num_cvms)" 0
same lease_dirs_after_stops "$(find "$XDG_STATE_HOME/crabbox/leases" -mindepth 1 | wc -l)" 0
same locks_after_stops "$(find "$state/locks" -name '*.lock' | wc -l)" 0
same temp_files "$(find "$state" "$XDG_CONFIG_HOME" -name '*.tmp.*' 2>/dev/null | wc -l)" 0
same destroys_in_log "$(grep -c '^destroy cbx_[0-9a-f]* ok' "$calls")" $n

# A parallel run of the whole cycle leaves the same nothing behind.
for i in $(seq 4); do
    "$crabbox" run -- sh -c "echo run-$i" >"$tmp/p/r$i.out" 2>"$tmp/p/r$i.err" </dev/null &
done
wait
for i in $(seq 4); do has "run_$i" "^run-$i\$" "$tmp/p/r$i.out"; done
same after_runs "$(num_claims)/$(num_cvms)" 0/0

finish
