#!/bin/sh
# test_install.sh CMAKE BUILD_DIR LIBDIR SOURCE_DIR WORK_DIR
#
# Installs BUILD_DIR into a fresh prefix under WORK_DIR, moves the prefix
# elsewhere (an install must be relocatable), then checks the layout, that
# tc-sdk.pc resolves to the moved prefix, and that the installed tcd-worker
# runs and finds its plugins with no LD_LIBRARY_PATH or TCD_PLUGIN_PATH.
set -eu

cmake=$1 build=$2 libdir=$3 src=$4 work=$5

fail()
{
    echo "test_install: FAIL: $*" >&2
    exit 1
}

mkdir -p "$work"
tmp=$(mktemp -d "$work/install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

"$cmake" --install "$build" --prefix "$tmp/staged" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
mv "$tmp/staged" "$tmp/moved"
p=$tmp/moved

# Layout.
[ -x "$p/bin/tcd-worker" ] || fail "missing bin/tcd-worker"
[ -f "$p/$libdir/libtc.so" ] || fail "missing $libdir/libtc.so"
ls "$p/$libdir"/libtc.so.* >/dev/null 2>&1 || fail "missing versioned $libdir/libtc.so.N"
[ -f "$p/$libdir/pkgconfig/tc-sdk.pc" ] || fail "missing $libdir/pkgconfig/tc-sdk.pc"
for plugin in idx mlp; do
    [ -f "$p/$libdir/tcd/plugins/$plugin.so" ] || fail "missing $libdir/tcd/plugins/$plugin.so"
done
for h in "$src"/sdk/include/tc/*.h "$src"/hub/include/tc/*.h; do
    name=$(basename "$h")
    [ -f "$p/include/tc/$name" ] || fail "missing include/tc/$name"
done
echo "layout ok: $(cd "$p" && find . -type f | wc -l) files"

# No build-tree paths may leak into the installed binaries' run paths.
if command -v readelf >/dev/null 2>&1; then
    for f in "$p/bin/tcd-worker" "$p/$libdir/libtc.so" "$p/$libdir"/tcd/plugins/*.so; do
        if readelf -d "$f" | grep -E 'R(UN)?PATH' | grep -qF "$build"; then
            fail "$f has a run path into the build tree: $(readelf -d "$f" | grep -E 'R(UN)?PATH')"
        fi
    done
fi

# pkg-config resolves to the moved prefix.
export PKG_CONFIG_PATH="$p/$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs tc-sdk) || fail "pkg-config --cflags --libs tc-sdk failed"
echo "pkg-config: $flags"
pc_prefix=$(pkg-config --variable=prefix tc-sdk)
[ "$(cd "$pc_prefix" && pwd -P)" = "$(cd "$p" && pwd -P)" ] ||
    fail "tc-sdk.pc prefix '$pc_prefix' is not the install prefix '$p'"
includedir=$(pkg-config --variable=includedir tc-sdk)
[ -f "$includedir/tc/plugin.h" ] || fail "pkg-config includedir '$includedir' has no tc/plugin.h"
pc_libdir=$(pkg-config --variable=libdir tc-sdk)
[ -f "$pc_libdir/libtc.so" ] || fail "pkg-config libdir '$pc_libdir' has no libtc.so"

# The installed worker runs from the moved prefix and finds its plugins.
clean_env()
{
    env -u LD_LIBRARY_PATH -u TCD_PLUGIN_PATH "$@"
}
version=$(clean_env "$p/bin/tcd-worker" --version) || fail "tcd-worker --version failed"
echo "tcd-worker --version: $version"
clean_env "$p/bin/tcd-worker" plugins >"$tmp/plugins.txt" 2>&1 ||
    { cat "$tmp/plugins.txt" >&2; fail "tcd-worker plugins failed"; }
for plugin in idx mlp; do
    grep -q "$plugin" "$tmp/plugins.txt" ||
        { cat "$tmp/plugins.txt" >&2; fail "tcd-worker plugins does not list '$plugin'"; }
done
echo "tcd-worker plugins: $(tr '\n' ' ' <"$tmp/plugins.txt")"
echo "install ok"
