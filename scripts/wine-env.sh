#!/usr/bin/env bash
# Prepares everything the Windows provider tests need on a Debian 12 machine,
# and tells the caller how to run Windows programs under Wine.
#
#   scripts/wine-env.sh          set up, then print `export KEY=VALUE` lines
#                                (for `eval "$(scripts/wine-env.sh)"`)
#   scripts/wine-env.sh --env    set up, then print plain KEY=VALUE lines
#                                (what tests/wine_csp.rs reads)
#   . scripts/wine-env.sh        set up, then export the variables into the
#                                calling shell
#
# What it sets up, each step skipped when already in place (a second run
# takes well under a second):
#   - Debian packages gcc-mingw-w64-x86-64 (the linker for
#     x86_64-pc-windows-gnu), nasm (aws-lc-sys assembles its Windows code
#     with it), wine64 and wine, with --no-install-recommends;
#   - the rustup target x86_64-pc-windows-gnu;
#   - bcryptprimitives.dll, built from tests/wine/bcryptprimitives.c: Wine 8.0
#     lacks that DLL and every Rust >= 1.78 Windows binary imports
#     ProcessPrng from it;
#   - a 64-bit Wine prefix made with `wineboot --init`, headless, with the
#     shim in its system32. It lives outside the clone, in
#     ${CRPKI_CACHE:-$HOME/.cache/crpki}/wineprefix (override with
#     CRPKI_WINEPREFIX), and is made again whenever the stamp file in it
#     does not match this script's stamp version, the Wine version or the
#     shim.
#
# The variables it exports: WINEPREFIX, WINEARCH, WINEDEBUG=-all,
# WINEDLLOVERRIDES=mscoree,mshtml= (no Mono/Gecko install prompts) and
# CRPKI_WINE (the wine launcher to run .exe files with). No display is
# needed. Setup runs under a lock, so parallel callers wait for each other.

_crpki_wine_setup() {
    set -euo pipefail

    local root cache prefix shim_dir shim_src shim_dll stamp_version
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    cache="${CRPKI_CACHE:-$HOME/.cache/crpki}"
    prefix="${CRPKI_WINEPREFIX:-$cache/wineprefix}"
    shim_dir="$cache/wine-shim"
    shim_src="$root/tests/wine/bcryptprimitives.c"
    shim_dll="$shim_dir/bcryptprimitives.dll"
    # Bump when the way the prefix is made changes, so old prefixes are remade.
    stamp_version=1

    log() { printf 'wine-env: %s\n' "$*" >&2; }
    have() { command -v "$1" >/dev/null 2>&1; }

    mkdir -p "$cache" "$shim_dir"

    # One setup at a time: cargo may start several test binaries at once.
    exec 9>"$cache/wine-env.lock"
    if have flock; then
        flock 9
    fi

    # --- Debian packages ---------------------------------------------------
    local missing=() p
    if have dpkg-query; then
        for p in gcc-mingw-w64-x86-64 nasm wine64 wine; do
            if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
                missing+=("$p")
            fi
        done
    else
        have x86_64-w64-mingw32-gcc || missing+=(gcc-mingw-w64-x86-64)
        have nasm || missing+=(nasm)
        have wine || missing+=(wine64 wine)
    fi
    if ((${#missing[@]})); then
        have apt-get || {
            log "missing ${missing[*]} and no apt-get to install them; install them by hand"
            return 1
        }
        local sudo=""
        if [ "$(id -u)" != 0 ]; then
            have sudo || {
                log "need root or sudo to install: ${missing[*]}"
                return 1
            }
            sudo=sudo
        fi
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >&2
    fi

    # --- Rust target -------------------------------------------------------
    if have rustup; then
        if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-pc-windows-gnu; then
            log "adding the rustup target x86_64-pc-windows-gnu"
            rustup target add x86_64-pc-windows-gnu >&2
        fi
    else
        log "rustup not found: make sure the x86_64-pc-windows-gnu standard library is installed"
    fi

    # --- bcryptprimitives.dll shim -----------------------------------------
    local src_sum
    src_sum="$(sha256sum "$shim_src" | cut -d' ' -f1)"
    if [ ! -f "$shim_dll" ] || [ "$(cat "$shim_dll.src-sha256" 2>/dev/null || true)" != "$src_sum" ]; then
        log "building bcryptprimitives.dll"
        x86_64-w64-mingw32-gcc -shared -O2 -Wall -o "$shim_dll.tmp" "$shim_src" -lbcrypt
        mv -f "$shim_dll.tmp" "$shim_dll"
        printf '%s\n' "$src_sum" >"$shim_dll.src-sha256"
    fi

    # --- Wine prefix -------------------------------------------------------
    export WINEPREFIX="$prefix" WINEARCH=win64 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    local stamp want
    stamp="$prefix/.crpki-stamp"
    want="v$stamp_version $(wine --version 2>/dev/null) shim:$(sha256sum "$shim_dll" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ] ||
        [ ! -f "$prefix/drive_c/windows/system32/bcryptprimitives.dll" ]; then
        log "making the Wine prefix $prefix (takes a few seconds)"
        if have wineserver; then
            wineserver -k >/dev/null 2>&1 || true
        fi
        rm -rf "$prefix"
        mkdir -p "$(dirname "$prefix")"
        # No display is needed: wineboot only writes the registry and files.
        DISPLAY= wine wineboot --init >/dev/null 2>&1
        if have wineserver; then
            wineserver -w
        fi
        [ -d "$prefix/drive_c/windows/system32" ] || {
            log "wineboot did not create $prefix/drive_c/windows/system32"
            return 1
        }
        cp -f "$shim_dll" "$prefix/drive_c/windows/system32/bcryptprimitives.dll"
        printf '%s\n' "$want" >"$stamp"
    fi
}

_crpki_wine_vars() {
    local cache="${CRPKI_CACHE:-$HOME/.cache/crpki}"
    printf '%s\n' \
        "WINEPREFIX=${CRPKI_WINEPREFIX:-$cache/wineprefix}" \
        "WINEARCH=win64" \
        "WINEDEBUG=-all" \
        "WINEDLLOVERRIDES=mscoree,mshtml=" \
        "CRPKI_WINE=$(command -v wine)"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    # Sourced: keep the caller's shell options, export into it.
    if (_crpki_wine_setup); then
        while IFS= read -r _crpki_line; do
            export "${_crpki_line?}"
        done < <(_crpki_wine_vars)
        unset _crpki_line
    else
        echo "wine-env: setup failed" >&2
        return 1
    fi
else
    _crpki_wine_setup
    # The setup's exports must not leak into what we print: print fresh values.
    if [ "${1:-}" = "--env" ]; then
        _crpki_wine_vars
    else
        _crpki_wine_vars | while IFS= read -r line; do
            printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"
        done
    fi
fi
