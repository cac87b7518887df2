# .ci/deps.sh — install the Debian packages fronta needs; sourced by
# tests/run and bench/run (not executable on its own).
#
# Checks each package with dpkg -s and runs `apt-get update` once, only when
# something is missing, so a machine that has everything pays nothing.
# FRONTA_SKIP_DEPS=1 skips the whole step (a non-Debian machine, say);
# FRONTA_DEPS_EXTRA="pkg ..." adds packages (e.g. libstarpu-dev).
#
# clang builds tests/run's clang and fuzz stages: libclang-rt-dev (on
# Debian 12 libclang-rt-14-dev) has its sanitizer runtimes and libFuzzer
# (libclang_rt.fuzzer-x86_64.a), libomp-dev its OpenMP runtime.
#
# libopenblas-dev is fronta-bench's OpenBLAS gemm baseline (kernels/gemm,
# cblas_sgemm; pkg-config module "openblas"), never linked by the library;
# without it the build drops that row.
#
# libopenmpi-dev and openmpi-bin build libfronta_mpi and run its tests under
# mpiexec (docs/scale-out.md); without them the build drops the component
# and test_mpi skips.

fronta_deps_base=(cmake gcc make libc6-dev pkg-config libcmocka-dev
                  ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
                  clang libclang-rt-dev libomp-dev libopenblas-dev
                  libopenmpi-dev openmpi-bin)

fronta_install_deps() {
    if [[ ${FRONTA_SKIP_DEPS:-0} == 1 ]]; then
        echo "deps: skipped (FRONTA_SKIP_DEPS=1)" >&2
        return 0
    fi
    if ! command -v dpkg >/dev/null 2>&1; then
        echo "deps: no dpkg here; install by hand: ${fronta_deps_base[*]}" >&2
        return 0
    fi
    local pkgs=("${fronta_deps_base[@]}" "$@")
    # Word-splitting of the extra list is intended.
    # shellcheck disable=SC2206
    pkgs+=(${FRONTA_DEPS_EXTRA:-})
    local missing=() p
    for p in "${pkgs[@]}"; do
        # dpkg -s succeeds for removed-but-configured packages too; ask for
        # the installed state explicitly.
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
            missing+=("$p")
        fi
    done
    if ((${#missing[@]} == 0)); then
        echo "deps: all ${#pkgs[@]} packages present" >&2
        return 0
    fi
    local sudo=()
    if ((EUID != 0)); then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "deps: missing ${missing[*]} and not root (no sudo); install them and rerun" >&2
            return 1
        fi
    fi
    echo "deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null || return 1
}
