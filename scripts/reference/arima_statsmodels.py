"""Independent fit for the ARIMA predictor test (crates/policy/src/predict.rs).

The series is a deterministic formula, so Rust and Python see the same numbers. The
ARIMA(2,1,0) predictor's estimator is conditional least squares with an intercept on
the differenced series: statsmodels' AutoReg(trend='c') is that estimator. Run with a
Python that has statsmodels (0.15.0 gave the values in the test):

    python scripts/reference/arima_statsmodels.py
"""
import math

import numpy as np
from statsmodels.tsa.ar_model import AutoReg

y = np.array([10 + 3 * math.sin(0.3 * t) + 0.05 * t + ((t * 7919) % 13) / 13 for t in range(80)])
w = np.diff(y)
fit = AutoReg(w, lags=2, trend="c").fit()
print("params (c, phi1, phi2):", ", ".join(f"{p:.15f}" for p in fit.params))
steps = fit.predict(start=len(w), end=len(w) + 2)
forecast = y[-1] + np.cumsum(steps)
print("forecast of y, 1..3 steps:", ", ".join(f"{v:.12f}" for v in forecast))
