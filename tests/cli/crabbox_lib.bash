# crabbox_lib.bash — shared by tests/cli/crabbox_*.sh (sourced; not a test itself).
# Sets up a private HOME/XDG state for the `test` driver under the test trust root and offers
# run/expect helpers that count passes and failures.
set -uo pipefail
build=${CBA_BUILD_DIR:?set by ctest}
crabbox=$build/tools/crabbox/crabbox
drivers=$build/lib/crabbox/drivers
variants=$build/testkit/testdriver/variants
helper=$drivers/crabbox-testdriver-helper
attest_tool=${CRABBOX_ATTEST:-$build/tools/crabbox-attest/crabbox-attest}
for f in "$crabbox" "$drivers/crabbox-driver-test.so" "$helper"; do
    [ -e "$f" ] || { echo "missing $f (build the crabbox and crabbox-driver-test targets)"; exit 1; }
done
# The system python starts in milliseconds (a version-manager shim may take 300 ms a call).
if [ -x /usr/bin/python3 ]; then python=/usr/bin/python3; else python=python3; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

export HOME=$tmp/home XDG_STATE_HOME=$tmp/state XDG_CONFIG_HOME=$tmp/config
export CRABBOX_DRIVER_PATH=$drivers CRABBOX_PROVIDER=test
unset CRABBOX_CONFIG CRABBOX_TEST_MODE CRABBOX_TEST_ATTEST CRABBOX_COLLATERAL CRABBOX_CLASS CRABBOX_TTL \
      CRABBOX_IDLE_TIMEOUT CRABBOX_REQUIRE_COLLATERAL CRABBOX_TEST_HELPER CRABBOX_TEST_NODE_ID CRABBOX_PCCS_URL \
      CRABBOX_ALLOW_INFO_ONLY_ATTESTATION CRABBOX_ACCEPT_PHALA_DEFAULT_PRE_LAUNCH_SCRIPT XDG_CACHE_HOME
# Hermetic: the host never asks Intel PCS from a test (tests/cli/crabbox_collateral.sh turns
# fetching on against a loopback PCCS). Without collateral the host refuses leases by default
# (requireCollateral: true); these offline tests opt out explicitly, from a trusted source (the
# environment), and crabbox_collateral.sh tests the fail-closed default.
export CRABBOX_COLLATERAL_FETCH=false CRABBOX_REQUIRE_COLLATERAL=false
mkdir -p "$HOME" "$tmp/work"
"$helper" root "$tmp/root.der" || { echo "cannot make the test root"; exit 1; }
"$helper" collateral "$tmp/collateral.json" || { echo "cannot make collateral"; exit 1; }
export CRABBOX_TEST_TRUST_ROOT=$tmp/root.der
cd "$tmp/work" || exit 1
state=$XDG_STATE_HOME/crabbox
cloud=$state/testdriver-cloud
calls=$state/testdriver-calls.log

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# run WANT_EXIT ARGS...: runs crabbox with stdout in $tmp/out, stderr in $tmp/err; sets $rc.
# Returns 0 when the exit status is WANT_EXIT.
run() {
    local want=$1
    shift
    "$crabbox" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    [ "$rc" -eq "$want" ]
}

# expect NAME WANT_EXIT ARGS...: like run; on a mismatch prints the name and the output.
expect() {
    local name=$1
    shift
    if run "$@"; then ok; else
        bad "$name: exit $rc, want $1"; sed 's/^/  err: /' "$tmp/err" | tail -6; sed 's/^/  out: /' "$tmp/out" | tail -3
        return 1
    fi
}

# py NAME EXPR [FILE]: a python expression over o = the JSON in FILE (default: the last stdout).
py() {
    local name=$1 expr=$2 file=${3:-$tmp/out}
    if "$python" -c "import json,sys,os,re; o=json.load(open('$file')); sys.exit(0 if ($expr) else 1)" 2>"$tmp/pyerr"; then
        ok
    else
        bad "$name: ($expr) on $(head -c 400 "$file")"; sed 's/^/  /' "$tmp/pyerr" | tail -3
    fi
}

# has NAME PATTERN FILE: grep -E
has() {
    if grep -qE -- "$2" "$3"; then ok; else bad "$1: /$2/ not in $3:"; sed 's/^/  /' "$3" | tail -6; fi
}
hasnt() {
    if grep -qE -- "$2" "$3"; then bad "$1: /$2/ unexpectedly in $3"; else ok; fi
}

num_claims() { find "$state/claims" -name 'cbx_*.json' 2>/dev/null | wc -l; }
num_cvms() { find "$cloud" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l; }
mode_of() { stat -c %a "$1"; }
same() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }

# field KEY [FILE]: one top-level field of a JSON object (default: the last stdout).
field() { "$python" -c "import json,sys; print(json.load(open(sys.argv[2]))[sys.argv[1]])" "$1" "${2:-$tmp/out}"; }

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}
