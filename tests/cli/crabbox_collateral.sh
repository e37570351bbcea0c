#!/usr/bin/env bash
# The host finds DCAP collateral by itself (no --collateral): from a PCCS-shaped server on
# loopback (tests/pccs/pccs_server.py serving the test PKI's collateral), then from the per-user
# cache; collateral that does not verify refuses the lease at the check that fails; with no
# collateral at all the lease is refused (the default), naming what was tried and the two ways
# out, or the DCAP checks are skipped loudly with requireCollateral: false from a trusted source
# (labelled dcap=skipped); a repository config cannot turn fetching off, choose the PCCS or the
# collateral file, or turn requireCollateral off. Test driver, test root.
# Prints "N passed, M failed".
. "$(dirname "$0")/crabbox_lib.bash"
pccs_collateral=$tmp/collateral.json
. "$(dirname "$0")/../pccs/pccs_lib.bash"
export XDG_CACHE_HOME=$tmp/cache CRABBOX_COLLATERAL_FETCH=true
unset CRABBOX_REQUIRE_COLLATERAL # the fail-closed default
trap 'stop_server; rm -rf "$tmp"' EXIT
requests() { grep -c '^REQ ' "$srv_log" 2>/dev/null || true; }

# ---- fetched from the PCCS, verified, used: DCAP not skipped -----------------------------------
start_server || exit 1
export CRABBOX_PCCS_URL=http://127.0.0.1:$port
expect fetch_warmup 0 warmup --json && py fetched_bundle \
    "o['attested'] is True and json.load(open(o['bundle']))['dcap'] != 'skipped'"
hasnt no_dcap_warning 'DCAP checks .* SKIPPED' "$tmp/err"
has says_where 'DCAP collateral for this quote: the local cache, else http://127.0.0.1' "$tmp/err"
has attested_without_skip '^attested test_cvm=' "$tmp/err"
hasnt attested_line_no_skip 'dcap=skipped' "$tmp/err"
lease1=$(field lease)
py bundle_source "json.load(open(o['bundle'])).get('collateral_source','').startswith('fetched from http://127.0.0.1')"
n1=$(requests)
if [ "$n1" -ge 3 ]; then ok; else bad "the PCCS saw $n1 requests, want >= 3"; fi
cache_files=$(find "$tmp/cache" -type f 2>/dev/null | wc -l)
if [ "$cache_files" -ge 1 ]; then ok; else bad "no cache entry written under $tmp/cache"; fi

# ---- the second lease: from the cache, no request -------------------------------------------
expect cached_warmup 0 warmup --json && py cached_bundle \
    "json.load(open(o['bundle'])).get('collateral_source','').startswith('cache')"
lease2=$(field lease)
n2=$(requests)
same no_new_requests "$n2" "$n1"
expect attest_cached 0 attest "$lease1"
expect stop1 0 stop "$lease1"
expect stop2 0 stop "$lease2"

# ---- collateral that does not verify: the verifier names the check; the CVM is destroyed ------
rm -rf "$tmp/cache"
start_server --fault tcb=badsig || exit 1
export CRABBOX_PCCS_URL=http://127.0.0.1:$port
expect badsig_refused 3 warmup && has badsig_check 'verification failed .*tcb_info' "$tmp/err"
same badsig_no_cvm "$(num_cvms)" 0
same badsig_no_claim "$(num_claims)" 0

# ---- no collateral at all (PCCS down, empty cache): refused by default, or skipped loudly ----------
stop_server
export CRABBOX_PCCS_URL=http://127.0.0.1:9
expect down_refused 3 warmup --json && py down_refused_json "o['failed_check']=='collateral'"
has refused_says_tried 'no verified DCAP collateral \(tried the local collateral cache, then http://127.0.0.1:9: ' "$tmp/err"
has refused_says_ways_out 'Give --collateral FILE.* requireCollateral: false in your user config or --no-require-collateral' "$tmp/err"
same refused_no_cvm "$(num_cvms)" 0
expect down_flag_skips 0 warmup --json --no-require-collateral && has down_warning 'no DCAP collateral .*SKIPPED' "$tmp/err"
has down_label '^attested test_cvm=.* dcap=skipped' "$tmp/err"
py down_bundle "json.load(open(o['bundle']))['dcap'] == 'skipped'"
lease3=$(field lease)
expect stop3 0 stop "$lease3"
CRABBOX_REQUIRE_COLLATERAL=false expect down_env_skips 0 warmup --json && has down_env_warning 'SKIPPED because requireCollateral is false' "$tmp/err"
expect stop3b 0 stop "$(field lease)"
expect flags_contradict 2 warmup --require-collateral --no-require-collateral
# A repository cannot loosen it, nor choose where collateral comes from (issue 12 §3's recipe: a
# dead pccsUrl in crabbox.yaml and an empty cache used to make every lease skip DCAP).
printf 'requireCollateral: false\n' >"$tmp/work/crabbox.yaml"
expect repo_cannot_skip_dcap 3 warmup && has repo_require_notice "ignoring 'requireCollateral: false'" "$tmp/err"
printf 'collateral: %s\n' "$tmp/collateral.json" >"$tmp/work/crabbox.yaml"
expect repo_cannot_give_collateral 3 warmup && has repo_collateral_notice "ignoring 'collateral' from a repository config" "$tmp/err"
rm -f "$tmp/work/crabbox.yaml"
same repo_no_cvm "$(num_cvms)" 0

# ---- a repository config cannot turn fetching off ---------------------------------------------
start_server || exit 1
export CRABBOX_PCCS_URL=http://127.0.0.1:$port
printf 'pccsUrl: http://127.0.0.1:1/\n' >"$tmp/work/crabbox.yaml"
expect repo_cannot_choose_pccs 0 warmup --json && has repo_pccs_notice "ignoring 'pccsUrl' from a repository config" "$tmp/err"
py repo_pccs_ignored "json.load(open(o['bundle']))['dcap'] != 'skipped'"
hasnt repo_pccs_not_asked '127.0.0.1:1/' "$tmp/err"
expect stop_pccs 0 stop "$(field lease)"
rm -rf "$tmp/cache"
unset CRABBOX_COLLATERAL_FETCH
printf 'collateralFetch: false\n' >"$tmp/work/crabbox.yaml"
expect repo_cannot_disable 0 warmup --json && has repo_notice "ignoring 'collateralFetch: false'" "$tmp/err"
py repo_fetched "json.load(open(o['bundle']))['dcap'] != 'skipped'"
expect stop4 0 stop "$(field lease)"
rm -f "$tmp/work/crabbox.yaml"
# ... but the user's own config can (offline use): refused by default, saying why; accepted with
# the warning when the user also sets requireCollateral: false.
mkdir -p "$XDG_CONFIG_HOME/crabbox"
printf 'collateralFetch: false\n' >"$XDG_CONFIG_HOME/crabbox/config.yaml"
expect user_disables_refused 3 warmup --json && has user_off_says 'collateral fetching is off: collateralFetch: false' "$tmp/err"
printf 'collateralFetch: false\nrequireCollateral: false\n' >"$XDG_CONFIG_HOME/crabbox/config.yaml"
expect user_disables 0 warmup --json && has user_off_warning 'collateralFetch is off' "$tmp/err"
expect stop5 0 stop "$(field lease)"
rm -f "$XDG_CONFIG_HOME/crabbox/config.yaml"
finish
