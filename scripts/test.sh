#!/usr/bin/env bash
# Runs every test of crpki on a fresh Debian 12 machine with rustup.
#
# It installs what the tests need when it is missing (Debian packages through
# apt-get, as root or with sudo), then runs clippy, the docs build and the
# whole test suite. Build products are cached outside the clone
# (CRPKI_CACHE, default ~/.cache/crpki) so a second run is incremental.
set -euo pipefail

cd "$(dirname "$0")/.."

CACHE="${CRPKI_CACHE:-$HOME/.cache/crpki}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
mkdir -p "$CARGO_TARGET_DIR"

step() { printf '\n==> %s\n' "$*"; }

# --- system packages -------------------------------------------------------
need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have openssl || need_pkgs+=(openssl)
have chromium || need_pkgs+=(chromium)
have chromedriver || need_pkgs+=(chromium-driver)
have cc || need_pkgs+=(build-essential)
have curl || need_pkgs+=(curl ca-certificates)
# tests/cli.rs types a password under a pseudo-terminal through python3.
have python3 || need_pkgs+=(python3)
# tests/interop_pyhanko.rs makes a venv for pyHanko (Debian ships venv and ensurepip apart).
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
# The Windows installer's test (tests/wine_msi.rs): wixl packs, msiinfo reads.
have wixl || need_pkgs+=(wixl)
have msiinfo || need_pkgs+=(msitools)
# tests/xml.rs: xmlsec1 (OpenSSL backend) verifies our XML signatures and signs for ours.
have xmlsec1 || need_pkgs+=(xmlsec1)
# The PKCS#11 module's consumers (tests/pkcs11.rs): OpenSC's pkcs11-tool,
# libp11's OpenSSL engine, NSS's modutil/certutil/cmsutil, p11-kit.
have pkcs11-tool || need_pkgs+=(opensc)
[[ -e /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so || -e /usr/lib/aarch64-linux-gnu/engines-3/pkcs11.so ]] || need_pkgs+=(libengine-pkcs11-openssl)
have modutil || need_pkgs+=(libnss3-tools)
have p11-kit || need_pkgs+=(p11-kit)
# tests/durability.rs watches crpki sign's fsync/rename order with strace.
have strace || need_pkgs+=(strace)
# tests/pdf.rs: `qpdf --check` and poppler's `pdfsig` check our PDF signatures.
have qpdf || need_pkgs+=(qpdf)
have pdfsig || need_pkgs+=(poppler-utils)

if ((${#need_pkgs[@]})); then
    step "installing Debian packages: ${need_pkgs[*]}"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        have sudo || { echo "need root or sudo to install: ${need_pkgs[*]}" >&2; exit 1; }
        SUDO=sudo
    fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

# --- Rust toolchain components ---------------------------------------------
have cargo || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt

# Test binaries embed the checkout's path (fixtures are found through
# CARGO_MANIFEST_DIR), and cargo judges freshness by file times only. When
# the shared cache was last built from another checkout, rebuild this
# package (not its dependencies) so that no test reads another checkout.
marker="$CARGO_TARGET_DIR/.crpki-checkout"
if [ -f "$marker" ] && [ "$(cat "$marker")" != "$PWD" ]; then
    step "the cache was built from $(cat "$marker"); rebuilding crpki for $PWD"
    cargo clean --quiet --package crpki
fi
printf '%s\n' "$PWD" >"$marker"

# --- checks and tests ------------------------------------------------------
step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --all-targets --all-features -- -D warnings

step "cargo doc (the library alone, then all features; warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --no-default-features --quiet
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features --quiet

step "cargo test (all features)"
cargo test --all-features -- --test-threads="${CRPKI_TEST_THREADS:-4}"

step "cargo test (no default features: the library alone still builds and tests)"
cargo test --no-default-features --lib

# --- fuzz smoke ------------------------------------------------------------
# tests/fuzz_corpora.rs (in `cargo test` above) already replayed every
# checked-in fuzz input through the fuzz targets' code on stable. With the
# nightly toolchain installed, each cargo-fuzz target also runs for a few
# seconds (scripts/fuzz.sh --smoke; the build is cached in
# $CACHE/fuzz). CRPKI_FUZZ_SMOKE=0 skips it; without nightly it is skipped
# with a note (the replay above is the stable check).
if [ "${CRPKI_FUZZ_SMOKE:-1}" = 0 ]; then
    step "fuzz smoke skipped (CRPKI_FUZZ_SMOKE=0)"
elif rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    step "fuzz smoke (nightly: every target for ${CRPKI_FUZZ_SECONDS:-5}s)"
    scripts/fuzz.sh --smoke "${CRPKI_FUZZ_SECONDS:-5}"
else
    step "fuzz smoke: no nightly toolchain; the corpora were replayed on stable by tests/fuzz_corpora.rs"
fi
