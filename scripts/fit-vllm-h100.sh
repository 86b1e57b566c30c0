#!/usr/bin/env bash
# The least-squares fit of the `vllm` serving profile on the real vLLM H100
# measurements (data/reference/vllm_h100/experiments, or $INFERSCALE_REFERENCE's):
# a grid over the profile's free terms, each point scored by `inferscale calibrate
# --check`'s fit objective (root mean square of ln(simulated/measured) over TTFT p50,
# TPOT and end-to-end p50 of every stage the server kept up with); prints the points
# best first. Fixed, not fitted: the compute efficiency (0.72) and the all-reduce
# latency (20 us), which these runs (TP 1 and 4, decode-heavy) barely constrain.
#
# The replay runs on the `vllm` stack; these fields override its entry in
# crates/scenario/catalog/engines.yaml, which holds the best point (2026-12-02:
# 0.0246 at client_latency 7ms, iteration_overhead 1ms, overlap_loss 0.4,
# kv_memory 0.9, memory 0.82; the optimum is inside the grid).
#
#   scripts/fit-vllm-h100.sh            # about a minute on two cores
set -euo pipefail
cd "$(dirname "$0")/.."
ref="${INFERSCALE_REFERENCE:-data/reference}/vllm_h100/experiments"
cargo build --release --quiet
bin=target/release/inferscale
for latency in 5ms 6ms 7ms 8ms; do
  for overhead in 0.5ms 1ms 1.5ms; do
    for overlap in 0.3 0.4 0.5; do
      for kv in 0.85 0.9 0.95; do
        for memory in 0.8 0.82 0.85; do
          serving=$(printf 'client_latency: %s\ndeliver_after_next_step: true\nefficiency: {prefill_layer_overhead: 0s, iteration_overhead: %s, overlap_loss: %s, kv_memory: %s, memory: %s}' \
            "$latency" "$overhead" "$overlap" "$kv" "$memory")
          score=$("$bin" calibrate --check "$ref" --serving "$serving" | sed -n 's/^fit objective: .*: //p')
          echo "$score client_latency=$latency iteration_overhead=$overhead overlap_loss=$overlap kv_memory=$kv memory=$memory"
        done
      done
    done
  done
done | sort -n | head -20
