#!/usr/bin/env bash
# The heavy queueing validation: ten times the customers of the default test and a 1%
# tolerance against every row of data/reference/queueing.csv (or $INFERSCALE_REFERENCE/queueing.csv). About three minutes
# on two cores. Prints the comparison table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test it queueing::engine_matches_closed_forms_within_1_percent_heavy \
    -- --ignored --nocapture
