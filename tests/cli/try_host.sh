#!/usr/bin/env bash
# The newcomer path of docs/user-guide.md ("Try the host without a Phala account"): scripts/try-host
# runs the host end to end with the test driver and must say that every step behaved as expected.
set -uo pipefail
build=${CBA_BUILD_DIR:?set by ctest}
src=${CBA_SOURCE_DIR:?set by ctest}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if "$src/scripts/try-host" "$build" >"$out" 2>&1 && grep -q '^all steps behaved as expected' "$out" &&
   grep -q '^hello from the lease$' "$out" && grep -q 'refused with exit 3' "$out"; then
    echo "1 passed, 0 failed"
    exit 0
fi
tail -30 "$out"
echo "0 passed, 1 failed"
exit 1
