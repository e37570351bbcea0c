#!/bin/bash
# consumer.sh — install the build to a temporary prefix, MOVE the prefix (everything must be
# relocatable), then embed the library from there as an outsider would:
#   1. pkg-config alone: the docs/api.md example linked shared, linked --static against the
#      archive, and (non-sanitized builds) a fully static executable;
#   2. find_package(crabbox-verifier): C and C++ consumers, shared and static;
# each run on real fixtures (verified with collateral, verified without, rejected when tampered).
# Also: the installed crabbox finds its installed drivers, the phala driver its proxy, man pages.
# Environment: CBA_SOURCE_DIR, CBA_BUILD_DIR, CBA_CONSUMER_FLAGS (the build's sanitizer flags).
set -euo pipefail
src=${CBA_SOURCE_DIR:?} build=${CBA_BUILD_DIR:?} flags=${CBA_CONSUMER_FLAGS:-}
fx=${CBA_SHARED_FIXTURES:-$src/fixtures/real}
[ -f "$fx/dcap-qvl-tdx/tdx_quote" ] || fx=$src/fixtures/real
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/staged" >/dev/null
mv "$tmp/staged" "$tmp/moved"
p=$tmp/moved
export PKG_CONFIG_PATH=$p/lib/pkgconfig
libdir=$(pkg-config --variable=libdir crabbox-verifier)
[ "$(cd "$libdir" && pwd -P)" = "$(cd "$p/lib" && pwd -P)" ] || { echo "FAIL: .pc libdir $libdir is not in the moved prefix" >&2; exit 1; }
# The example is the one docs/api.md shows (and docs/examples/embed.c, which must be the same).
example=$tmp/embed.c
sed -n '/^<!-- embed.c: begin -->$/,/^<!-- embed.c: end -->$/p' "$src/docs/api.md" | sed '1,2d;$d' | sed '$d' >"$example"
cmp -s "$example" "$src/docs/examples/embed.c" ||
    { echo "FAIL: docs/api.md's example differs from docs/examples/embed.c" >&2; diff "$example" "$src/docs/examples/embed.c" >&2; exit 1; }
quote=$fx/dcap-qvl-tdx/tdx_quote coll=$fx/dcap-qvl-tdx/tdx_quote_collateral.json
cp "$quote" "$tmp/flipped"
printf '\001' | dd of="$tmp/flipped" bs=1 seek=200 conv=notrunc 2>/dev/null
pass=0

# expect_run NAME BINARY: verified with collateral (0), rejected when tampered (1), verified
# without collateral with DCAP skipped (crabbox quote, 0).
expect_run() {
    local name=$1 bin=$2 rc
    "$bin" "$quote" "$coll" 1752919234 >"$tmp/out" || { echo "FAIL: $name: not verified" >&2; cat "$tmp/out" >&2; exit 1; }
    grep -q '^{"verdict":"verified"' "$tmp/out" || { echo "FAIL: $name: no JSON verdict" >&2; exit 1; }
    grep -q 'FMSPC b0c06f000000, PCK Platform CA' "$tmp/out" || { echo "FAIL: $name: describe" >&2; exit 1; }
    rc=0; "$bin" "$tmp/flipped" "$coll" 1752919234 >"$tmp/out" || rc=$?
    [ "$rc" = 1 ] && grep -q '"failed_check":"quote_signature"' "$tmp/out" ||
        { echo "FAIL: $name: tampered quote not rejected at quote_signature (exit $rc)" >&2; exit 1; }
    "$bin" "$fx/crabbox/real_tdx_quote.bin" - 1774003274 >"$tmp/out" && grep -q '"dcap":"skipped"' "$tmp/out" ||
        { echo "FAIL: $name: crabbox quote without collateral" >&2; exit 1; }
    pass=$((pass + 1))
    echo "ok: $name"
}

# 1. pkg-config only.
cc -std=c11 -Wall -Wextra -Werror $flags "$example" -o "$tmp/embed_pc_shared" \
   $(pkg-config --cflags --libs crabbox-verifier) -Wl,-rpath,"$libdir"
deps=$(ldd "$tmp/embed_pc_shared") # (not piped into grep -q: with pipefail, ldd's SIGPIPE fails it)
printf '%s\n' "$deps" | grep -qF "libcrabbox-verifier.so.0 => $libdir/" ||
    { echo "FAIL: the shared consumer does not use the installed libcrabbox-verifier.so.0" >&2; exit 1; }
expect_run "pkg-config, shared" "$tmp/embed_pc_shared"

static_libs=$(pkg-config --static --libs crabbox-verifier | sed 's/-lcrabbox-verifier/-Wl,-Bstatic -lcrabbox-verifier -Wl,-Bdynamic/')
cc -std=c11 -Wall -Wextra -Werror $flags "$example" -o "$tmp/embed_pc_static" \
   $(pkg-config --static --cflags crabbox-verifier) $static_libs
deps=$(ldd "$tmp/embed_pc_static")
if printf '%s\n' "$deps" | grep -q libcrabbox-verifier; then
    echo "FAIL: the --static consumer loads libcrabbox-verifier.so" >&2; exit 1
fi
expect_run "pkg-config --static (the archive)" "$tmp/embed_pc_static"
if [ -z "$flags" ]; then
    # Everything static, libwolfssl.a and libjson-c.a included: Libs.private must be complete.
    cc -std=c11 -static "$example" -o "$tmp/embed_fully_static" \
       $(pkg-config --static --cflags --libs crabbox-verifier) 2>"$tmp/ld.err" ||
        { cat "$tmp/ld.err" >&2; echo "FAIL: fully static link" >&2; exit 1; }
    expect_run "pkg-config --static, fully static executable" "$tmp/embed_fully_static"
fi

# 2. find_package, C and C++.
cmake -S "$src/tests/install/cmake-consumer" -B "$tmp/cb" -G Ninja -DCMAKE_PREFIX_PATH="$p" \
      -DEXAMPLE_C="$example" -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
cmake --build "$tmp/cb" >/dev/null
expect_run "find_package, crabbox::verifier (shared)" "$tmp/cb/embed_shared"
expect_run "find_package, crabbox::verifier_static" "$tmp/cb/embed_static"
for cxx in consumer_cxx consumer_cxx_shared; do
    "$tmp/cb/$cxx" "$fx/crabbox/real_tdx_quote.bin" 1774003274 | grep -q '^c++: CBA_OK {"verdict":"verified"' ||
        { echo "FAIL: $cxx" >&2; exit 1; }
    echo "ok: find_package, C++ ($cxx)"
    pass=$((pass + 1))
done

# 3. The installed tools: drivers found relative to the executable, man pages present.
for m in man1/crabbox.1 man1/crabbox-attest.1 man3/libcrabbox-verifier.3; do
    [ -f "$p/share/man/$m" ] || { echo "FAIL: man page $m not installed" >&2; exit 1; }
done
[ -x "$p/lib/crabbox/drivers/crabbox-phala-proxy" ] || { echo "FAIL: crabbox-phala-proxy not beside the driver" >&2; exit 1; }
# (the phala CLI double stands in for `phala`, which the driver's doctor runs)
mkdir -p "$tmp/home/.phala-cloud"
out=$(cd "$tmp" && env -u CRABBOX_DRIVER_PATH HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
      PATH="$src/tests/phala-double:$PATH" PHALA_CLOUD_API_KEY=double-only "$p/bin/crabbox" doctor 2>&1) || true
p_real=$(cd "$p" && pwd -P)
if ! printf '%s\n' "$out" | grep -q "path=$p_real/lib/crabbox/drivers/crabbox-driver-phala.so"; then
    echo "FAIL: the installed crabbox did not find its installed phala driver:" >&2
    printf '%s\n' "$out" >&2
    exit 1
fi
echo "ok: the installed crabbox loads $p/lib/crabbox/drivers/crabbox-driver-phala.so"
echo "all $pass consumers passed"
