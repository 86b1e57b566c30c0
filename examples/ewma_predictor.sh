#!/bin/sh
# An external predictor for inferscale in plain POSIX sh and awk (no packages): an
# exponentially weighted moving average of the arrival rate, with smoothing ALPHA.
# inferscale starts it with the run, in the scenario file's directory, and sends one
# JSON line per decision tick:
#
#   {"t": 900, "y": 23.4, "steps": 20, "interval_s": 15, "model": "chat"}
#
# It answers the same forecast for every horizon (an EWMA has no trend):
#
#   {"forecast": 22.9}
#
# It reads until end of input, then exits. (Each line is read by the shell, and awk
# only does the arithmetic: an awk reading the pipe itself may buffer its input and
# never answer.)
alpha="${ALPHA:-0.3}"
level=""
while IFS= read -r line; do
    y=${line#*\"y\": }
    y=${y%%[,\}]*}
    level=$(awk -v y="$y" -v l="$level" -v a="$alpha" \
        'BEGIN { printf "%.6f", (l == "") ? y : a * y + (1 - a) * l }')
    printf '{"forecast": %s}\n' "$level"
done
