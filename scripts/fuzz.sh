#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time each (libFuzzer through
# `cargo fuzz`, which needs a nightly toolchain; installed on first use), seeded from
# fuzz/corpus/<target>/ (the example and broken scenarios, heads of the public traces).
# Prints each target's executions and whether it found anything; a crash leaves its
# input in fuzz/artifacts/<target>/ and makes the script exit 1. Record the figures
# in fuzz/README.md.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    # default: 60, every target
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(scenario scenario_run trace_azure trace_mooncake trace_burstgpt trace_generic)
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "cargo fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi
cd "$root/fuzz"
cargo +nightly fuzz build -O
status=0
grown="$(mktemp -d)"
mkdir -p "$grown/scenario"
trap 'rm -rf "$grown"' EXIT
printf '%-16s %10s %12s %8s %s\n' target seconds execs exec/s result
for t in "${targets[@]}"; do
    # Seeds are read from the committed corpus; what the run adds goes to $grown/$t,
    # so the repository's corpus stays the seeds. scenario_run starts from every
    # scenario input, the loader's grown corpus included: libFuzzer runs each input
    # once before fuzzing, so its conservation assertion covers the whole corpus.
    mkdir -p "$grown/$t"
    dirs=("$grown/$t")
    case "$t" in
        scenario_run) dirs+=(corpus/scenario "$grown/scenario") ;;
        *) dirs+=("corpus/$t") ;;
    esac
    log="$grown/$t.log"
    set +e
    cargo +nightly fuzz run -O "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=60 -max_len=65536 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    rate=$(( execs / (seconds > 0 ? seconds : 1) ))
    if [ $rc -eq 0 ]; then
        result="no finding"
    else
        result="FOUND (exit $rc): $(grep -m1 -E 'panicked at|ERROR: libFuzzer|SUMMARY' "$log" || true)"
        status=1
        mkdir -p "$root/fuzz/artifacts"
        cp "$log" "$root/fuzz/artifacts/$t.log"
    fi
    corpus=$(find "${dirs[@]}" -type f 2>/dev/null | wc -l)
    printf '%-16s %10s %12s %8s %s (corpus %s)\n' "$t" "$seconds" "$execs" "$rate" "$result" "$corpus"
done
exit $status
