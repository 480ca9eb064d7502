#!/usr/bin/env bash
# Builds the Windows installer of crpki, crpki-<version>-x64.msi, on Linux
# (Debian 12 with rustup).
#
#   scripts/build-msi.sh [--version X.Y.Z] [--no-build] [--out DIR]
#
#   --version X.Y.Z  the product version (default: Cargo.toml's); an MSI
#                    with a higher version upgrades an installed lower one
#   --no-build       pack the binaries of the previous run again (no cargo)
#   --out DIR        where the .msi goes (default: <target dir>/msi)
#
# Steps, each skipped when already in place:
#   1. Debian packages: gcc-mingw-w64-x86-64 and nasm (the cross-build, as
#      scripts/wine-env.sh installs them), wixl and msitools (the MSI), with
#      apt-get as root or through sudo; the rustup target
#      x86_64-pc-windows-gnu.
#   2. Cross-builds, release, into <target dir>/msi-build (its own directory:
#      other flags than a plain `cargo build`):
#        crpki.exe  --bin crpki  --features cli,csp,ksp
#        crpki.dll  --lib        --features csp,ksp,pkcs12,remote
#      (CARGO_TARGET_DIR, else ./target, is the target dir.)
#   3. Packs them with README.md and installer/LICENSE.txt: wixl builds the
#      database from installer/crpki.wxs (files, registry rows, upgrade
#      rules), then msibuild adds the Environment table (the system PATH)
#      and sets the package code.
#
# Repeatable: the same sources and version give the same binaries
# (paths remapped, no PE link timestamp, no debug info) and the same MSI,
# byte for byte, except the summary information's "Created" and "Last
# saved" times, which wixl sets to the time of the build. Product code and
# package code are derived from the version and from the packed files;
# the files' times in the cabinet are SOURCE_DATE_EPOCH, else the time of
# the checkout's last commit.
#
# Prints the path of the .msi as the last line on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf 'build-msi: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

version=""
build=1
out=""
while (($#)); do
    case "$1" in
        --version) version="${2:?--version needs X.Y.Z}"; shift 2 ;;
        --no-build) build=0; shift ;;
        --out) out="${2:?--out needs a directory}"; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done

if [ -z "$version" ]; then
    version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
fi
# MSI versions are numeric: major.minor.build, at most 255.255.65535.
[[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] &&
    ((BASH_REMATCH[1] <= 255 && BASH_REMATCH[2] <= 255 && BASH_REMATCH[3] <= 65535)) ||
    die "version '$version' is not an MSI version (major.minor.build, numbers only)"

target="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$target" in /*) ;; *) target="$ROOT/$target" ;; esac
build_dir="$target/msi-build"
stage="$build_dir/stage"
out="${out:-$target/msi}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
msi="$out/crpki-$version-x64.msi"

# --- 1. what the build needs ----------------------------------------------
pkgs=(wixl msitools)
((build)) && pkgs+=(gcc-mingw-w64-x86-64 nasm)
missing=()
for p in "${pkgs[@]}"; do
    if have dpkg-query; then
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || missing+=("$p")
    else
        case "$p" in
            msitools) have msibuild || missing+=("$p") ;;
            gcc-mingw-w64-x86-64) have x86_64-w64-mingw32-gcc || missing+=("$p") ;;
            *) have "$p" || missing+=("$p") ;;
        esac
    fi
done
if ((${#missing[@]})); then
    have apt-get || die "missing ${missing[*]} and no apt-get to install them; install them by hand"
    sudo=""
    if [ "$(id -u)" != 0 ]; then
        have sudo || die "need root or sudo to install: ${missing[*]}"
        sudo=sudo
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ((build)) && have rustup &&
    ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
    log "adding the rustup target x86_64-pc-windows-gnu"
    rustup target add x86_64-pc-windows-gnu >&2
fi

# --- 2. the Windows binaries ----------------------------------------------
if ((build)); then
    rm -rf "$stage"
    mkdir -p "$stage"
    cargo_home="${CARGO_HOME:-$HOME/.cargo}"
    # The same flags on every run, so that the second run is incremental.
    export CARGO_TARGET_DIR="$build_dir" \
        CARGO_PROFILE_RELEASE_DEBUG=0 \
        CARGO_PROFILE_RELEASE_STRIP=true \
        RUSTFLAGS="--remap-path-prefix=$ROOT=/crpki --remap-path-prefix=$cargo_home=/cargo -C link-arg=-Wl,--no-insert-timestamp"
    release="$build_dir/x86_64-pc-windows-gnu/release"
    # The binary first: building it builds the library's cdylib too, with
    # the tool's features; the DLL's own build then replaces that one.
    log "cross-building crpki.exe (cli,csp,ksp)"
    cargo build --release --target x86_64-pc-windows-gnu --no-default-features \
        --features cli,csp,ksp --bin crpki >&2
    cp "$release/crpki.exe" "$stage/crpki.exe"
    log "cross-building crpki.dll (csp,ksp,pkcs12,remote)"
    cargo build --release --target x86_64-pc-windows-gnu --no-default-features \
        --features csp,ksp,pkcs12,remote --lib >&2
    cp "$release/crpki.dll" "$stage/crpki.dll"
fi
for f in crpki.exe crpki.dll; do
    [ -f "$stage/$f" ] || die "no $stage/$f: run without --no-build first"
done
cp README.md "$stage/README.md"
cp installer/LICENSE.txt "$stage/LICENSE.txt"

# --- 3. the MSI -----------------------------------------------------------
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 315532800)}"
touch -d "@$epoch" "$stage"/*

# A GUID from a SHA-256 (name-based, RFC 4122 version 5 layout), upper case
# as Windows Installer wants product and package codes.
guid_of() {
    local h
    h="$(printf '%s' "$1" | sha256sum | cut -c1-32)"
    printf '%s-%s-5%s-%x%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" \
        $(((0x${h:16:1} & 0x3) | 0x8)) "${h:17:3}" "${h:20:12}" | tr a-f A-F
}
product_code="$(guid_of "crpki product $version")"

# The Environment table: crpki's folder appended ([~];) to the system (*)
# PATH on install (=), removed on uninstall (-), with the tool's component.
printf 'Environment\tName\tValue\tComponent_\ns72\tl255\tL255\ts72\nEnvironment\tEnvironment\nSystemPath\t=-*PATH\t[~];[INSTALLDIR]\tTool\n' \
    >"$build_dir/Environment.idt"

inputs="$(
    cd "$stage"
    sha256sum crpki.exe crpki.dll README.md LICENSE.txt
    sha256sum "$ROOT/installer/crpki.wxs" "$build_dir/Environment.idt" | cut -d' ' -f1
    echo "$version $epoch"
)"
package_code="$(guid_of "crpki package $inputs")"
description="crpki $version: remote signing with the commercial-registration certificate (CLI, CryptoAPI CSP, CNG KSP)"

log "packing $msi"
rm -f "$msi.tmp"
(cd "$stage" && wixl --arch x64 -D Version="$version" -D ProductCode="$product_code" \
    -o "$msi.tmp" "$ROOT/installer/crpki.wxs")
msibuild "$msi.tmp" \
    -i "$build_dir/Environment.idt" \
    -q "INSERT INTO InstallExecuteSequence (Action, Sequence) VALUES ('RemoveEnvironmentStrings', 3300)" \
    -q "INSERT INTO InstallExecuteSequence (Action, Sequence) VALUES ('WriteEnvironmentStrings', 5200)" \
    -s "$description" "crpki project" "x64;1033" "{$package_code}"
mv -f "$msi.tmp" "$msi"
log "$(stat -c %s "$msi") bytes, product code {$product_code}, package code {$package_code}"
printf '%s\n' "$msi"
