#!/usr/bin/env python3
"""An external predictor for inferscale: support-vector regression on the rate history.

inferscale starts this program with the run, in the scenario file's directory
(`predictor: {kind: external, command: [python3, ../examples/svr_predictor.py]}` from a
scenario in scenarios/) and sends one JSON line per decision tick:

    {"t": 900.0, "y": 23.4, "steps": 20, "interval_s": 15.0, "model": "chat"}

It answers the arrival rate `steps` intervals ahead:

    {"forecast": 31.2}

The model: scikit-learn's SVR (RBF kernel) on the last LAGS rates as features, refitted
each tick on a sliding window of WINDOW samples, forecasting recursively. Until enough
history exists it answers the newest value. Needs numpy and scikit-learn
(scripts/external_svr.sh makes a venv with them).
"""
import json
import sys

import numpy as np
from sklearn.svm import SVR

LAGS = 8
WINDOW = 240

history = []
for line in sys.stdin:
    request = json.loads(line)
    history.append(float(request["y"]))
    del history[:-WINDOW]
    steps = int(request["steps"])
    if len(history) < LAGS + 10:
        print(json.dumps({"forecast": history[-1]}), flush=True)
        continue
    y = np.asarray(history)
    scale = max(y.std(), 1e-9)
    mean = y.mean()
    z = (y - mean) / scale
    features = np.lib.stride_tricks.sliding_window_view(z[:-1], LAGS)
    targets = z[LAGS:]
    model = SVR(kernel="rbf", C=10.0, epsilon=0.05).fit(features, targets)
    window = list(z[-LAGS:])
    for _ in range(steps):
        window.append(float(model.predict(np.asarray(window[-LAGS:])[None, :])[0]))
    forecast = max(window[-1] * scale + mean, 0.0)
    print(json.dumps({"forecast": forecast}), flush=True)
