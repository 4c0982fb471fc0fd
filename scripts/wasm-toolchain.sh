#!/usr/bin/env bash
# Makes sure this machine has a Rust toolchain that can build for wasm32-unknown-unknown, then
# prints the value for RUSTUP_TOOLCHAIN in wasm builds on stdout. An empty line means the
# default toolchain works. Progress and errors go to stderr.
#
# It tries, in order:
#   1. the default toolchain, which may already have the wasm32 standard library;
#   2. Debian's rustc-web toolchain, when an earlier run of this script already prepared it;
#   3. `rustup target add`, which downloads the standard library from rustup's server;
#   4. Debian's packages only. rustc-web and cargo-web (Rust 1.96 in Debian 12's updates)
#      ship no wasm32 standard library, but rust-web-src ships its source. This step compiles
#      it once into Debian's sysroot, then links that toolchain into rustup under the name
#      "system-web". It took 77 s on a 2-core machine, package installs included.
#
# LOCI_WASM_TOOLCHAIN=debian skips steps 1 and 3, to exercise the Debian path on purpose.
set -euo pipefail

readonly target=wasm32-unknown-unknown
readonly debian_rustc=/usr/bin/rustc
readonly linked_name=system-web
force_debian=false
[[ "${LOCI_WASM_TOOLCHAIN:-}" == debian ]] && force_debian=true

log() { printf '==> %s\n' "$*" >&2; }

# Succeeds when the given rustc finds a compiled wasm32 libstd in its target libdir.
has_wasm_std() {
    local rustc=$1 libdir
    libdir=$("$rustc" --print target-libdir --target "$target" 2>/dev/null) || return 1
    compgen -G "$libdir/libstd-*.rlib" >/dev/null
}

# Prints the toolchain name under which rustup runs Debian's toolchain, linking it if needed.
print_debian_toolchain() {
    if command -v rustup >/dev/null; then
        if ! rustup toolchain list | grep -q "^$linked_name\b"; then
            rustup toolchain link "$linked_name" /usr >&2
        fi
        echo "$linked_name"
    else
        # Without rustup, /usr/bin/cargo and /usr/bin/rustc are the toolchain already.
        echo ""
    fi
}

# Compiles the wasm32 standard library from rust-web-src and copies it into Debian's sysroot.
build_debian_wasm_std() {
    log "building the $target standard library from Debian's rust-web-src (first run only, ~1.5 min)"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        rustc-web cargo-web rust-web-src rust-web-llvm lld-22 >&2

    local scratch
    scratch=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: the variable is local to this function
    trap "rm -rf '$scratch'" EXIT

    # An empty library crate whose build pulls std through -Zbuild-std.
    mkdir -p "$scratch/src"
    : >"$scratch/src/lib.rs"
    cat >"$scratch/Cargo.toml" <<'TOML'
[package]
name = "wasm-std-seed"
version = "0.0.0"
edition = "2021"

[lib]
path = "src/lib.rs"
TOML

    # RUSTC_BOOTSTRAP=1 unlocks -Z flags on Debian's stable compiler.
    # -Zforce-unstable-if-unmarked marks the std crates unstable, as in rustup's sysroot, so
    # that crates cannot depend on std's private dependencies (libc, hashbrown) by accident.
    # -Cembed-bitcode=yes keeps LLVM bitcode in the rlibs, which `lto = true` needs.
    (
        cd "$scratch"
        RUSTC="$debian_rustc" RUSTC_BOOTSTRAP=1 \
            RUSTFLAGS="-Zforce-unstable-if-unmarked -Cembed-bitcode=yes" \
            /usr/bin/cargo build --quiet --release --target "$target" \
            -Zbuild-std=std,panic_abort >&2
    )

    local sysroot_libdir
    sysroot_libdir="$("$debian_rustc" --print sysroot)/lib/rustlib/$target/lib"
    mkdir -p "$sysroot_libdir"
    cp "$scratch/target/$target/release/deps/"*.rlib "$sysroot_libdir/"
    rm -f "$sysroot_libdir"/libwasm_std_seed-*.rlib
}

if ! $force_debian && has_wasm_std rustc; then
    echo ""
    exit 0
fi

if [[ -x "$debian_rustc" ]] && has_wasm_std "$debian_rustc"; then
    print_debian_toolchain
    exit 0
fi

if ! $force_debian && command -v rustup >/dev/null; then
    log "adding the $target target with rustup"
    if timeout 120 rustup target add "$target" >&2 && has_wasm_std rustc; then
        echo ""
        exit 0
    fi
    log "rustup could not add $target; falling back to Debian's rustc-web"
fi

build_debian_wasm_std
if ! has_wasm_std "$debian_rustc"; then
    log "error: $target standard library still missing from $debian_rustc's sysroot after the build"
    exit 1
fi
print_debian_toolchain
