#!/usr/bin/env bash
# Runs the crabbox-attest examples of docs/user-guide.md and docs/man/crabbox-attest.1 (issue 14
# §6): every command line that needs only files in the repository runs from the source directory
# and must exit 0; the others (they need a CVM, a network or your own files) are listed as not run.
# The policy example in the guide must equal docs/examples/policy.yaml. Prints "N passed, M failed".
set -uo pipefail
tool=${CRABBOX_ATTEST:?set by ctest}
src=${CBA_SOURCE_DIR:?set by ctest}
fx=${CBA_SHARED_FIXTURES:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
ln -s "$tool" "$tmp/bin/crabbox-attest"
unset PCCS_URL
pass=0 fail=0 skipped=0
cd "$src" || exit 1
# the shared real fixtures stand in for the bundled copies when those are absent
if [ ! -e fixtures/real/dcap-qvl-tdx/tdx_quote ] && [ -d "$fx" ]; then
    mkdir -p "$tmp/src"; cp -r docs "$tmp/src/"; mkdir -p "$tmp/src/fixtures"; ln -s "$fx" "$tmp/src/fixtures/real"
    cd "$tmp/src" || exit 1
fi

python3 - "$src" >"$tmp/examples" <<'PY'
import re, sys
src = sys.argv[1]
cmds = []
guide = open(src + '/docs/user-guide.md').read()
for block in re.findall(r'```sh\n(.*?)```', guide, re.S):
    cmds += [('user-guide.md', c) for c in re.sub(r'\\\n\s*', ' ', block).split('\n')]
man = open(src + '/docs/man/crabbox-attest.1').read()
for block in re.findall(r'\.SH EXAMPLES\n\.nf\n(.*?)\.fi', man, re.S):
    block = block.replace('\\-', '-').replace('\\e', '\\')
    cmds += [('crabbox-attest.1', c) for c in re.sub(r'\\\n\s*', ' ', block).split('\n')]
for where, c in cmds:
    c = re.sub(r'\s+#.*$', '', c).strip()
    if 'crabbox-attest ' in c and not c.startswith('#'):
        print(where + '\t' + c)
PY
while IFS=$'\t' read -r where cmd; do
    runnable=1
    for w in $cmd; do
        case $w in
            *'$'*) runnable=0 ;;
            */*|*.json|*.yaml) [ -e "$w" ] || case $w in https://*|http://*) runnable=0 ;; *) runnable=0 ;; esac ;;
        esac
    done
    if [ $runnable -eq 0 ]; then
        echo "not run ($where): $cmd"; skipped=$((skipped + 1)); continue
    fi
    if PATH="$tmp/bin:$PATH" bash -o pipefail -c "$cmd" >"$tmp/out" 2>"$tmp/err"; then
        pass=$((pass + 1)); echo "ok ($where): $cmd"
    else
        fail=$((fail + 1)); echo "FAIL ($where): $cmd"; tail -3 "$tmp/out" "$tmp/err" | sed 's/^/  /'
    fi
done <"$tmp/examples"
# the guide's policy example is the file the man page runs
if python3 - <<'PY'
import re, sys
g = open('docs/user-guide.md').read()
m = re.search(r'<!-- example: docs/examples/policy.yaml -->\n```yaml\n(.*?)```', g, re.S)
sys.exit(0 if m and m.group(1) == open('docs/examples/policy.yaml').read() else 1)
PY
then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: the guide's policy example differs from docs/examples/policy.yaml"; fi
# a suite that runs nothing proves nothing
if [ $pass -lt 5 ]; then fail=$((fail + 1)); echo "FAIL: only $pass examples ran"; fi
echo "($skipped examples need a CVM, the network or your files: not run)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
