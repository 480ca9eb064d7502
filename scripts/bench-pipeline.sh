#!/usr/bin/env bash
# Issue 13's measurement without building the bench target (which needs the
# dev-dependencies in release): `crpki sign` of N 4 KiB files through
# `crpki sandbox serve` on loopback, files/s, process CPU and max RSS, next
# to `openssl speed rsa2048`'s signing rate measured in the same run (the
# sandbox key's in-process rate is within a few % of it: `cargo bench
# --bench sign`; benches/pipeline.rs measures the key itself).
#
#   scripts/bench-pipeline.sh [NEW_BIN] [OLD_BIN]
#   FILES="10000 100000" BIG_MIB=1024 scripts/bench-pipeline.sh target/release/crpki /tmp/crpki-old
#
# OLD_BIN (optional) runs the same workload with its files on the command
# line (older builds have no --files-from). Needs GNU time, openssl, curl.
set -euo pipefail

new=${1:-target/release/crpki}
old=${2:-}
files=${FILES:-"10000 100000"}
big_mib=${BIG_MIB:-1024}
new=$(realpath "$new")
[ -n "$old" ] && old=$(realpath "$old")
command -v /usr/bin/time >/dev/null || { echo "GNU time is needed: apt-get install time" >&2; exit 1; }

work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill -INT "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
export CRPKI_CONFIG_DIR=$work/config CRPKI_SANDBOX_STATE=$work/state CRPKI_PIN=1234
unset CRPKI_PROFILE CRPKI_LOG
"$new" sandbox serve --state "$work/state" >/dev/null 2>&1 &
server=$!
for _ in $(seq 600); do [ -f "$work/state/endpoints.toml" ] && break; sleep 0.1; done
printf '#!/bin/sh\nexec curl -sS --fail --cacert %s -L -o /dev/null "$1"\n' "$work/state/tls/ca.pem" > "$work/browser.sh"
chmod +x "$work/browser.sh"
export BROWSER=$work/browser.sh
"$new" login --login-hint alice </dev/null >/dev/null 2>&1

key_rate() { openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $(NF-1)}'; }
timed() { # DIR BIN ARGS... -> "wall cpu maxrss_kib"
    local dir=$1; shift
    (cd "$dir" && /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$@" </dev/null >/dev/null 2>"$work/stderr.txt") || { cat "$work/stderr.txt" >&2; return 1; }
    awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$work/time.txt"
}
report() { # LABEL N "wall cpu rss" KEYRATE
    read -r wall cpu rss <<<"$3"
    awk -v l="$1" -v n="$2" -v w="$wall" -v c="$cpu" -v r="$rss" -v k="$4" 'BEGIN {
        printf "%-6s %7d files: %6.0f files/s = %.2f x key rate, wall %.2f s, CPU %.2f s (%.0f us/file), max RSS %.1f MiB\n",
            l, n, n / w, n / w / k, w, c, c * 1e6 / n, r / 1024 }'
}

k=$(key_rate)
echo "openssl speed rsa2048 (same run, before): $k sign/s; load: $(cut -d' ' -f1-3 /proc/loadavg)"

echo one > "$work/one.txt"
for pair in ${old:+"old:$old"} "new:$new"; do
    label=${pair%%:*} bin=${pair#*:}
    cpus=$(for _ in $(seq 20); do timed "$work" "$bin" sign --quiet one.txt | cut -d' ' -f2; done | sort -n)
    echo "$label   sign 1 file: CPU median $(sed -n 10p <<<"$cpus") s, min $(head -1 <<<"$cpus") s (20 runs, 10 ms resolution)"
done

for n in $files; do
    dir=$work/files-$n
    mkdir -p "$dir"
    python3 - "$dir" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(d, "..", f"list-{n}.txt"), "w") as lst:
    for i in range(n):
        name = f"{i:06d}"
        with open(os.path.join(d, name), "wb") as f:
            f.write(f"invoice {i}\n".encode().ljust(4096, b"."))
        lst.write(name + "\n")
PY
    for pair in ${old:+"old:$old"} "new:$new"; do
        label=${pair%%:*} bin=${pair#*:}
        if [ "$label" = old ]; then
            # Older builds held every output open: they may fail at 100,000.
            usage=$(cd "$dir" && timed . "$bin" sign --quiet $(cat ../list-$n.txt)) || {
                echo "old    $n files: FAILED (above)"
                find "$dir" -name '*.p7s' -delete
                continue
            }
        else
            usage=$(timed "$dir" "$bin" sign --quiet --files-from "../list-$n.txt")
        fi
        report "$label" "$n" "$usage" "$k"
        find "$dir" -name '*.p7s' -delete
    done
    rm -rf "$dir"
done
echo "openssl speed rsa2048 (same run, after): $(key_rate) sign/s; load: $(cut -d' ' -f1-3 /proc/loadavg)"

head -c $((big_mib * 1024 * 1024)) /dev/urandom > "$work/big.bin"
best_ours=999999 best_ossl=999999
for _ in 1 2 3; do
    s=$(date +%s.%N); openssl dgst -sha256 "$work/big.bin" >/dev/null; e=$(date +%s.%N)
    best_ossl=$(awk -v a="$best_ossl" -v b="$(awk -v s="$s" -v e="$e" 'BEGIN{print e-s}')" 'BEGIN{print (b<a)?b:a}')
    s=$(date +%s.%N); "$new" sign --quiet "$work/big.bin" </dev/null 2>/dev/null; e=$(date +%s.%N)
    best_ours=$(awk -v a="$best_ours" -v b="$(awk -v s="$s" -v e="$e" 'BEGIN{print e-s}')" 'BEGIN{print (b<a)?b:a}')
done
awk -v o="$best_ours" -v s="$best_ossl" -v m="$big_mib" 'BEGIN {
    printf "%d MiB file: crpki sign %.2f s, openssl dgst -sha256 %.2f s: crpki/openssl time = %.2f (best of 3)\n", m, o, s, o / s }'
