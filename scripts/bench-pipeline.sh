#!/usr/bin/env bash
# Issue 13's measurement in one command: builds the release binary and runs
# benches/pipeline.rs, which signs 1,000 / 10,000 / 100,000 4 KiB files with
# `crpki sign --files-from` through `crpki sandbox serve` on loopback and
# prints files/s, process CPU and max RSS next to the sandbox key's
# in-process signing rate measured in the same run, the CPU of signing one
# file (start-up) and 1 GiB hashed against `openssl dgst -sha256`; every
# figure with the load average, each measurement repeated (best, median).
#
#   scripts/bench-pipeline.sh [OLD_BIN]
#   FILES=10000,100000 REPEAT=5 BIG_MIB=1024 scripts/bench-pipeline.sh /tmp/crpki-old
#
# OLD_BIN (optional): an older `crpki` run on the same workload, its files
# on the command line (older builds have no --files-from). Needs GNU time
# (apt-get install time), openssl, curl, and ~4 GiB free in $TMPDIR.
# Run it on an idle machine: other processes take CPU from the sandbox and
# the client alike (the load is printed with every figure).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && export CRPKI_BENCH_BEFORE=$(realpath "$1")
export CRPKI_BENCH_FILES=${FILES:-${CRPKI_BENCH_FILES:-1000,10000,100000}}
export CRPKI_BENCH_REPEAT=${REPEAT:-${CRPKI_BENCH_REPEAT:-3}}
export CRPKI_BENCH_BIG_MIB=${BIG_MIB:-${CRPKI_BENCH_BIG_MIB:-1024}}
command -v /usr/bin/time >/dev/null || { echo "GNU time is needed: apt-get install time" >&2; exit 1; }
exec cargo bench --bench pipeline
