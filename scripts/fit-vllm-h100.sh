#!/usr/bin/env bash
# The least-squares fit of the `vllm` serving profile on the real vLLM H100
# measurements (data/reference/vllm_h100/experiments, or $INFERSCALE_REFERENCE's):
# `inferscale calibrate --fit` from the catalog's `vllm` entry over its free terms
# (client_latency, iteration_overhead, memory, kv_memory, overlap_loss), scored by
# the root mean square of ln(simulated/measured) over TTFT p50, TPOT and end-to-end
# p50 of every stage the server kept up with. Writes the fitted profile to
# target/vllm-h100-fit.yaml and prints its report; the catalog entry
# (crates/scenario/catalog/engines.yaml) holds it rounded (2026-12-02: rms 0.0328
# over the 12 stages of Llama-2-7B, Llama-2-70B and Mixtral-8x7B).
#
#   scripts/fit-vllm-h100.sh            # about 20 s on two cores
set -euo pipefail
cd "$(dirname "$0")/.."
ref="${INFERSCALE_REFERENCE:-data/reference}/vllm_h100/experiments"
cargo build --release --quiet
target/release/inferscale calibrate --fit "$ref" --from vllm --profile-out target/vllm-h100-fit.yaml --name vllm-h100-fit
