#!/usr/bin/env bash
# check-install.sh PREFIX — check an installed fronta the way a user meets it:
#   1. the files: header, versioned libfronta.so with its SONAME, libfronta.a,
#      the CMake package and fronta.pc; only fronta_* symbols exported;
#   2. every example (*.c here) built with CMake (find_package(fronta),
#      CMAKE_PREFIX_PATH), shared and static, and run (each exits 0 only
#      when its results are right, in a few seconds at most: divisibility's
#      demo takes about half a second);
#   3. hello.c built with pkg-config (`cc hello.c $(pkg-config ...)`),
#      shared (run with LD_LIBRARY_PATH) and static (Libs.private);
# and runs every hello. Exits non-zero on the first failure.
set -euo pipefail

if (($# != 1)); then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cc=${CC:-cc}
work=$(mktemp -d "${TMPDIR:-/tmp}/fronta-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

step() { printf -- '-- %s\n' "$*"; }
# An example that hangs must fail the check, not the CI job's clock.
run_example() {
    if command -v timeout >/dev/null 2>&1; then timeout 300 "$@"; else "$@"; fi
}
fail() { printf 'check-install: FAILED: %s\n' "$*" >&2; exit 1; }

# ---- 1. the files -----------------------------------------------------------
step "files under $prefix"
[[ -f $prefix/include/fronta.h ]] || fail "include/fronta.h missing"
pc=$(find "$prefix" -path '*/pkgconfig/fronta.pc' | head -n1)
[[ -n $pc ]] || fail "fronta.pc missing"
libdir=$(dirname "$(dirname "$pc")")
so=$(find "$libdir" -maxdepth 1 -name 'libfronta.so.*.*' -type f | head -n1)
[[ -n $so ]] || fail "versioned libfronta.so.X.Y.Z missing in $libdir"
[[ -L $libdir/libfronta.so ]] || fail "libfronta.so link (for -lfronta) missing"
[[ -f $libdir/libfronta.a ]] || fail "libfronta.a missing"
cfg=$(find "$prefix" -name fronta-config.cmake | head -n1)
[[ -n $cfg ]] || fail "fronta-config.cmake missing"
for f in fronta-config-version.cmake fronta-targets.cmake; do
    [[ -f $(dirname "$cfg")/$f ]] || fail "$f missing beside $cfg"
done
if command -v readelf >/dev/null 2>&1; then
    soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [[ $soname == libfronta.so.* ]] || fail "SONAME is '$soname'"
    [[ -L $libdir/$soname ]] || fail "$soname link missing"
    step "  $(basename "$so"), SONAME $soname"
fi
if command -v nm >/dev/null 2>&1; then
    # Hidden visibility: the shared library exports the public API only.
    leaked=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' |
             grep -v -e '^fronta_' -e '^_init$' -e '^_fini$' -e '^_edata$' -e '^_end$' -e '^__bss_start$' || true)
    [[ -z $leaked ]] || fail "libfronta.so exports non-API symbols: $(echo $leaked)"
    nexp=$(nm -D --defined-only "$so" | awk '$2 == "T"' | grep -c ' fronta_' || true)
    step "  $nexp fronta_* functions exported, nothing else"
fi

# The header alone, strict C11 and C99.
for std in c11 c99; do
    echo '#include <fronta.h>' | "$cc" -std=$std -Wall -Wextra -Wpedantic -Werror \
        -I"$prefix/include" -x c -c -o /dev/null - || fail "fronta.h does not compile alone as $std"
done
step "  fronta.h compiles alone (-std=c11, -std=c99, -Wpedantic -Werror)"

# ---- 2. CMake -----------------------------------------------------------------
for kind in shared static; do
    step "cmake find_package(fronta), $kind"
    static=OFF; [[ $kind == static ]] && static=ON
    cmake -S "$here" -B "$work/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release -DFRONTA_EXAMPLE_STATIC=$static \
        -DCMAKE_C_COMPILER="$cc" >"$work/cmake-$kind.log" 2>&1 ||
        { cat "$work/cmake-$kind.log"; fail "configuring the CMake example ($kind)"; }
    cmake --build "$work/cmake-$kind" >>"$work/cmake-$kind.log" 2>&1 ||
        { cat "$work/cmake-$kind.log"; fail "building the CMake example ($kind)"; }
    # Every example is a program that exits 0 only when it is right.
    for src in "$here"/*.c; do
        name=$(basename "$src" .c)
        step "  run $name ($kind)"
        run_example "$work/cmake-$kind/$name" || fail "$name (CMake, $kind) exited $?"
    done
done
if command -v readelf >/dev/null 2>&1; then
    readelf -d "$work/cmake-static/hello" | grep -q 'NEEDED.*libfronta' &&
        fail "the static example links libfronta.so"
fi

# ---- 3. pkg-config -----------------------------------------------------------
export PKG_CONFIG_PATH="$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --exists --print-errors fronta || fail "pkg-config cannot find fronta"
step "pkg-config fronta $(pkg-config --modversion fronta): $(pkg-config --cflags --libs fronta)"
"$cc" "$here/hello.c" $(pkg-config --cflags --libs fronta) -o "$work/hello-pc" ||
    fail "building hello with pkg-config"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$work/hello-pc" ||
    fail "hello (pkg-config, shared) exited $?"

step "pkg-config --static: $(pkg-config --libs --static fronta)"
# -l:libfronta.a picks the archive over the .so; the rest is Libs.private.
libs_static=$(pkg-config --libs --static fronta | sed 's/-lfronta\b/-l:libfronta.a/')
"$cc" "$here/hello.c" $(pkg-config --cflags --static fronta) $libs_static \
    -o "$work/hello-pc-static" || fail "building hello with pkg-config --static"
env -u LD_LIBRARY_PATH "$work/hello-pc-static" || fail "hello (pkg-config, static) exited $?"

echo "check-install: ok ($prefix)"
