#!/bin/bash
# check_exports.sh SO PUBLIC_AR INTERNAL_AR HEADER — only cba_* is exported: the shared library's
# dynamic symbols (each under the version node CBA_<n>) and the installed archive's global
# symbols are exactly the functions the public header declares CBA_API. The in-tree archive,
# which keeps the internals global for the tests, must fail the same check (it can fail).
set -euo pipefail
so=$1 ar=$2 internal=$3 header=$4
declared=$(grep -v '#define' "$header" | grep -o 'CBA_API[^;(]*(' | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort -u)
so_syms=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sort -u)
so_names=$(printf '%s\n' "$so_syms" | sed 's/@.*//' | sort -u)
ar_syms=$(nm -g --defined-only "$ar" | awk 'NF == 3 { print $3 }' | sort -u)
fail=0
report() { echo "FAIL: $*" >&2; fail=1; }
[ -n "$declared" ] || report "no CBA_API function found in $header"
[ "$(printf '%s\n' "$declared" | wc -l)" -ge 10 ] || report "too few CBA_API functions parsed"
if [ "$so_names" != "$declared" ]; then
    report "$so exports differ from the header:"; diff <(echo "$declared") <(echo "$so_names") >&2 || true
fi
if printf '%s\n' "$so_syms" | grep -v '@@CBA_[0-9]*$' >&2; then report "unversioned exports in $so"; fi
if [ "$ar_syms" != "$declared" ]; then
    report "$ar global symbols differ from the header:"; diff <(echo "$declared") <(echo "$ar_syms") >&2 || true
fi
# The check itself can fail: the internal archive exports the internals.
internal_syms=$(nm -g --defined-only "$internal" | awk 'NF == 3 { print $3 }' | sort -u)
if ! printf '%s\n' "$internal_syms" | grep -qv '^cba_'; then
    report "the in-tree archive shows no non-cba_ symbol: is nm reading the archives?"
fi
[ "$fail" = 0 ] || exit 1
echo "ok: $(printf '%s\n' "$declared" | wc -l) cba_* functions exported by $(basename "$so") (version node" \
     "$(printf '%s\n' "$so_syms" | sed 's/.*@@//' | sort -u | tr '\n' ' ')) and $(basename "$ar"); nothing else"
