#!/usr/bin/env bash
# Runs crpki's fuzz targets (fuzz/, cargo-fuzz with libFuzzer, nightly Rust).
#
#   scripts/fuzz.sh [--time SECONDS] [--jobs N] [TARGET...]
#   scripts/fuzz.sh --smoke [SECONDS]          # every target briefly (CI)
#   scripts/fuzz.sh --list
#
# Every TARGET (default: all of fuzz/fuzz_targets/) runs for SECONDS of
# wall time (default 900), at most N at a time (default 2), under nice.
# Each starts from the checked-in seeds (fuzz/corpus/TARGET/) plus the
# working corpus it grew before; a target that crashes, hangs (over
# 10 s on one input) or blows up (over 2 GB) stops with its input saved.
#
# Everything it makes lives outside the clone, under $CRPKI_CACHE
# (default ~/.cache/crpki) in fuzz/: the build (target/), cargo-fuzz when
# it had to be installed (tools/), the working corpora (corpus/),
# findings (artifacts/TARGET/) and libFuzzer's logs (logs/TARGET.log,
# logs/smoke-TARGET.log for --smoke; the last lines are its stats). A warm
# run only relinks what changed.
#
# Needs the nightly toolchain (`rustup toolchain install nightly`);
# installs cargo-fuzz (`cargo install cargo-fuzz --locked`) when missing.
# Without nightly, tests/fuzz_corpora.rs still replays every checked-in
# input through the same target functions on stable (`cargo test`).
set -euo pipefail

cd "$(dirname "$0")/.."

CACHE="${CRPKI_CACHE:-$HOME/.cache/crpki}"
FUZZ="$CACHE/fuzz"
seconds=900
jobs=2
smoke=0
targets=()

all_targets() {
    for f in fuzz/fuzz_targets/*.rs; do basename "$f" .rs; done
}

while (($#)); do
    case "$1" in
    --time) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --smoke)
        smoke=1
        seconds=5
        if [[ "${2:-}" =~ ^[0-9]+$ ]]; then seconds=$2; shift; fi
        shift
        ;;
    --list) all_targets; exit 0 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
    esac
done
((${#targets[@]})) || mapfile -t targets < <(all_targets)
for t in "${targets[@]}"; do
    [ -f "fuzz/fuzz_targets/$t.rs" ] || { echo "no fuzz target '$t' (see --list)" >&2; exit 2; }
done

rustup toolchain list 2>/dev/null | grep -q '^nightly' || {
    echo "scripts/fuzz.sh needs the nightly toolchain: rustup toolchain install nightly" >&2
    exit 1
}

# cargo-fuzz: the one on PATH, else the one installed under the cache.
export PATH="$FUZZ/tools/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz into $FUZZ/tools (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked --root "$FUZZ/tools"
fi

export CARGO_TARGET_DIR="$FUZZ/target"
mkdir -p "$FUZZ/logs"
# -O: release; -a: with debug assertions (overflow checks on); AddressSanitizer.
fuzz_flags=(-O -a)

echo "==> building the fuzz targets (nightly, into $CARGO_TARGET_DIR)"
if ((${#targets[@]} == 1)); then
    nice -n 15 cargo +nightly fuzz build "${fuzz_flags[@]}" "${targets[0]}"
else
    nice -n 15 cargo +nightly fuzz build "${fuzz_flags[@]}"
fi

run_one() {
    local t=$1
    local work="$FUZZ/corpus/$t" artifacts="$FUZZ/artifacts/$t/" log
    log=$(log_of "$t")
    mkdir -p "$work" "$artifacts"
    # The first corpus directory is where libFuzzer adds new inputs.
    nice -n 15 cargo +nightly fuzz run "${fuzz_flags[@]}" "$t" "$work" "fuzz/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$artifacts" >"$log" 2>&1
}

# Smoke runs log apart, so that they never overwrite a long run's stats.
log_of() {
    if ((smoke)); then echo "$FUZZ/logs/smoke-$1.log"; else echo "$FUZZ/logs/$1.log"; fi
}

summary() {
    local t=$1 status=$2 log
    log=$(log_of "$t")
    local execs rate cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    printf '%-12s %s  executions=%s  exec/s=%s  coverage=%s  corpus=%s  log=%s\n' \
        "$t" "$status" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "$(find "$FUZZ/corpus/$t" -type f | wc -l)" "$log"
}

echo "==> fuzzing ${targets[*]} for ${seconds}s each, $jobs at a time"
declare -A pids=()
failed=()
wait_one() {
    local done_pid t
    wait -n -p done_pid "${!pids[@]}" && status=ok || status=FAILED
    t=${pids[$done_pid]}
    unset "pids[$done_pid]"
    [ "$status" = ok ] || failed+=("$t")
    summary "$t" "$status"
}
for t in "${targets[@]}"; do
    while ((${#pids[@]} >= jobs)); do wait_one; done
    run_one "$t" &
    pids[$!]=$t
done
while ((${#pids[@]})); do wait_one; done

if ((${#failed[@]})); then
    echo "==> findings in: ${failed[*]} (inputs in $FUZZ/artifacts/; reproduce with"
    echo "    cargo +nightly fuzz run -O -a TARGET INPUT, see CONTRIBUTING.md)"
    for t in "${failed[@]}"; do tail -n 40 "$(log_of "$t")"; done
    exit 1
fi
((smoke)) && echo "==> fuzz smoke passed"
exit 0
