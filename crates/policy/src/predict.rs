//! The predict stage: forecasts of a regularly sampled series (one value per control
//! interval, e.g. the arrival rate) `h` steps ahead.
//!
//! Every predictor keeps a bounded history, so memory does not grow with the run.
//! Formulas are those of `data/reference/POLICIES.md` §5, with the initialisation
//! of Holt–Winters and the ARIMA estimator pinned so results are reproducible.

use std::collections::VecDeque;

/// A forecaster of a series sampled once per control interval.
pub trait Predictor: Send {
    /// Takes the newest value `y` observed at time `t_s`.
    fn observe(&mut self, t_s: f64, y: f64);
    /// The forecast `steps` intervals after the newest value (`steps` ≥ 1), or `None`
    /// before enough values have been seen.
    fn forecast(&self, steps: usize) -> Option<f64>;

    /// The largest forecast of the next `steps` intervals (1 to `steps` ahead): what a
    /// sizing decider plans for over the time it cannot react within. `None` when no
    /// forecast is available.
    fn peak_forecast(&self, steps: usize) -> Option<f64> {
        (1..=steps.max(1))
            .filter_map(|k| self.forecast(k))
            .reduce(f64::max)
    }

    /// Why the predictor stopped forecasting, said once, the first time it is asked
    /// after the failure (an external program that died, hung or answered garbage).
    /// Built-in predictors never fail.
    fn take_failure(&mut self) -> Option<String> {
        None
    }
}

/// A bounded window of the newest values.
#[derive(Clone, Debug)]
struct Window {
    values: VecDeque<(f64, f64)>,
    capacity: usize,
}

impl Window {
    fn new(capacity: usize) -> Self {
        Window {
            values: VecDeque::with_capacity(capacity.max(1)),
            capacity: capacity.max(1),
        }
    }

    fn push(&mut self, t: f64, y: f64) {
        if self.values.len() == self.capacity {
            self.values.pop_front();
        }
        self.values.push_back((t, y));
    }
}

/// The newest value.
#[derive(Clone, Debug, Default)]
pub struct LastValue {
    last: Option<f64>,
}

impl Predictor for LastValue {
    fn observe(&mut self, _t_s: f64, y: f64) {
        self.last = Some(y);
    }
    fn forecast(&self, _steps: usize) -> Option<f64> {
        self.last
    }
}

/// The mean of the newest `window` values.
#[derive(Clone, Debug)]
pub struct MovingAverage {
    window: Window,
}

impl MovingAverage {
    /// Over the newest `window` values.
    pub fn new(window: usize) -> Self {
        MovingAverage {
            window: Window::new(window),
        }
    }
}

impl Predictor for MovingAverage {
    fn observe(&mut self, t_s: f64, y: f64) {
        self.window.push(t_s, y);
    }
    fn forecast(&self, _steps: usize) -> Option<f64> {
        let v = &self.window.values;
        (!v.is_empty()).then(|| v.iter().map(|p| p.1).sum::<f64>() / v.len() as f64)
    }
}

/// Exponentially weighted moving average `s_t = α y_t + (1 − α) s_{t−1}`, started at
/// the first value.
#[derive(Clone, Debug)]
pub struct Ewma {
    alpha: f64,
    state: Option<f64>,
}

impl Ewma {
    /// With smoothing `alpha` in (0, 1].
    pub fn new(alpha: f64) -> Self {
        Ewma { alpha, state: None }
    }
}

impl Predictor for Ewma {
    fn observe(&mut self, _t_s: f64, y: f64) {
        self.state = Some(match self.state {
            None => y,
            Some(s) => self.alpha * y + (1.0 - self.alpha) * s,
        });
    }
    fn forecast(&self, _steps: usize) -> Option<f64> {
        self.state
    }
}

/// Least-squares line `y = k t + b` over the newest `window` values, extrapolated to
/// the forecast time (the sampling interval is taken from the last two times).
#[derive(Clone, Debug)]
pub struct LinearTrend {
    window: Window,
}

impl LinearTrend {
    /// Over the newest `window` values (at least 2 to extrapolate).
    pub fn new(window: usize) -> Self {
        LinearTrend {
            window: Window::new(window.max(2)),
        }
    }

    /// The fitted (k, b).
    pub fn fit(&self) -> Option<(f64, f64)> {
        let v = &self.window.values;
        if v.len() < 2 {
            return None;
        }
        let n = v.len() as f64;
        let (mx, my) = (
            v.iter().map(|p| p.0).sum::<f64>() / n,
            v.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxx: f64 = v.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = v.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        if sxx == 0.0 {
            return Some((0.0, my));
        }
        let k = sxy / sxx;
        Some((k, my - k * mx))
    }
}

impl Predictor for LinearTrend {
    fn observe(&mut self, t_s: f64, y: f64) {
        self.window.push(t_s, y);
    }
    fn forecast(&self, steps: usize) -> Option<f64> {
        let (k, b) = self.fit()?;
        let v = &self.window.values;
        let (t_last, t_prev) = (v[v.len() - 1].0, v[v.len() - 2].0);
        let t = t_last + steps as f64 * (t_last - t_prev);
        Some(k * t + b)
    }
}

/// Additive Holt–Winters with season length `period` (in intervals).
///
/// Initialised from the first two seasons: trend `b = (mean₂ − mean₁)/m`, level at the
/// end of the first season `ℓ = mean₁ + b (m − 1)/2`, seasonal `s_i = y_i − (mean₁ +
/// b (i − (m − 1)/2))`; the recursion then runs from the first value of season two. A
/// series that is exactly level + trend + a repeating pattern is forecast exactly.
/// Until two seasons have been seen, the forecast is the newest value.
#[derive(Clone, Debug)]
pub struct HoltWinters {
    alpha: f64,
    beta: f64,
    gamma: f64,
    period: usize,
    warmup: Vec<f64>,
    level: f64,
    trend: f64,
    /// Seasonal terms, indexed by time mod period.
    season: Vec<f64>,
    /// Values seen.
    n: usize,
}

impl HoltWinters {
    /// Smoothing `alpha` (level), `beta` (trend), `gamma` (season), season of `period`
    /// intervals (at least 2).
    pub fn new(alpha: f64, beta: f64, gamma: f64, period: usize) -> Self {
        let period = period.max(2);
        HoltWinters {
            alpha,
            beta,
            gamma,
            period,
            warmup: Vec::with_capacity(2 * period),
            level: 0.0,
            trend: 0.0,
            season: vec![0.0; period],
            n: 0,
        }
    }

    fn initialise(&mut self) {
        let m = self.period;
        let mean1 = self.warmup[..m].iter().sum::<f64>() / m as f64;
        let mean2 = self.warmup[m..].iter().sum::<f64>() / m as f64;
        self.trend = (mean2 - mean1) / m as f64;
        let centre = (m as f64 - 1.0) / 2.0;
        for i in 0..m {
            self.season[i] = self.warmup[i] - (mean1 + self.trend * (i as f64 - centre));
        }
        self.level = mean1 + self.trend * centre;
        // Run the recursion over the second season.
        let second: Vec<f64> = self.warmup[m..].to_vec();
        for (j, y) in second.into_iter().enumerate() {
            self.update(m + j, y);
        }
    }

    fn update(&mut self, t: usize, y: f64) {
        let i = t % self.period;
        let (level, trend) = (self.level, self.trend);
        self.level = self.alpha * (y - self.season[i]) + (1.0 - self.alpha) * (level + trend);
        self.trend = self.beta * (self.level - level) + (1.0 - self.beta) * trend;
        self.season[i] = self.gamma * (y - level - trend) + (1.0 - self.gamma) * self.season[i];
    }
}

impl Predictor for HoltWinters {
    fn observe(&mut self, _t_s: f64, y: f64) {
        if self.n < 2 * self.period {
            self.warmup.push(y);
            self.n += 1;
            if self.n == 2 * self.period {
                self.initialise();
            }
            return;
        }
        self.update(self.n, y);
        self.n += 1;
    }

    fn forecast(&self, steps: usize) -> Option<f64> {
        if self.n < 2 * self.period {
            return self.warmup.last().copied();
        }
        let h = steps.max(1);
        // The seasonal term of time (n − 1) + h.
        let i = (self.n - 1 + h) % self.period;
        Some(self.level + h as f64 * self.trend + self.season[i])
    }
}

/// ARIMA(p, d, q) refitted on a sliding window of the newest values at every
/// forecast: the series is differenced `d` times; for q = 0 the AR coefficients and
/// intercept are the conditional least-squares (OLS) fit; for q > 0, Hannan–Rissanen
/// (a long AR fit gives residuals, then OLS on lagged values and lagged residuals).
/// The forecast recurses with future shocks 0 and is integrated back `d` times.
#[derive(Clone, Debug)]
pub struct Arima {
    p: usize,
    d: usize,
    q: usize,
    window: Window,
}

/// A fitted ARMA on the differenced series.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmaFit {
    /// Intercept c.
    pub intercept: f64,
    /// φ₁..φ_p.
    pub ar: Vec<f64>,
    /// θ₁..θ_q.
    pub ma: Vec<f64>,
    /// In-sample residuals (aligned to the end of the series).
    pub residuals: Vec<f64>,
}

impl Arima {
    /// Orders `p`, `d`, `q`, fitted on the newest `window` values.
    pub fn new(p: usize, d: usize, q: usize, window: usize) -> Self {
        Arima {
            p,
            d,
            q,
            window: Window::new(window),
        }
    }

    /// The differenced series of the window.
    fn differenced(&self) -> (Vec<f64>, Vec<f64>) {
        let mut series: Vec<f64> = self.window.values.iter().map(|p| p.1).collect();
        let mut lasts = Vec::new();
        for _ in 0..self.d {
            if let Some(&last) = series.last() {
                lasts.push(last);
            }
            series = series.windows(2).map(|w| w[1] - w[0]).collect();
        }
        (series, lasts)
    }

    /// Fits the ARMA part on the differenced window.
    pub fn fit(&self) -> Option<ArmaFit> {
        let (w, _) = self.differenced();
        fit_arma(&w, self.p, self.q)
    }
}

/// Ordinary least squares `y ≈ X β` by the normal equations with Gaussian elimination
/// (partial pivoting); `None` when singular.
pub fn least_squares(rows: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let k = rows.first()?.len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for (row, &target) in rows.iter().zip(y) {
        for i in 0..k {
            for j in 0..k {
                a[i][j] += row[i] * row[j];
            }
            a[i][k] += row[i] * target;
        }
    }
    for col in 0..k {
        let pivot = (col..k).max_by(|&r, &s| a[r][col].abs().total_cmp(&a[s][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (cell, p) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *cell -= f * p;
                }
            }
        }
    }
    Some((0..k).map(|i| a[i][k] / a[i][i]).collect())
}

fn ols_ar(w: &[f64], p: usize) -> Option<(f64, Vec<f64>, Vec<f64>)> {
    if w.len() <= p + 1 {
        return None;
    }
    let rows: Vec<Vec<f64>> = (p..w.len())
        .map(|t| {
            std::iter::once(1.0)
                .chain((1..=p).map(|i| w[t - i]))
                .collect()
        })
        .collect();
    let beta = least_squares(&rows, &w[p..])?;
    let residuals = rows
        .iter()
        .zip(&w[p..])
        .map(|(r, &y)| y - r.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>())
        .collect();
    Some((beta[0], beta[1..].to_vec(), residuals))
}

fn fit_arma(w: &[f64], p: usize, q: usize) -> Option<ArmaFit> {
    if q == 0 {
        let (intercept, ar, residuals) = ols_ar(w, p)?;
        return Some(ArmaFit {
            intercept,
            ar,
            ma: Vec::new(),
            residuals,
        });
    }
    // Hannan–Rissanen: a long AR gives the shocks.
    let long = (p + q)
        .max((w.len() as f64).ln().ceil() as usize * 2)
        .min(w.len() / 3);
    let (_, _, eps) = ols_ar(w, long)?;
    let offset = w.len() - eps.len();
    let start = offset + q.max(p).max(1);
    if w.len() <= start + p + q + 1 {
        return None;
    }
    let rows: Vec<Vec<f64>> = (start..w.len())
        .map(|t| {
            std::iter::once(1.0)
                .chain((1..=p).map(|i| w[t - i]))
                .chain((1..=q).map(|j| eps[t - j - offset]))
                .collect()
        })
        .collect();
    let beta = least_squares(&rows, &w[start..])?;
    let residuals: Vec<f64> = rows
        .iter()
        .zip(&w[start..])
        .map(|(r, &y)| y - r.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>())
        .collect();
    Some(ArmaFit {
        intercept: beta[0],
        ar: beta[1..=p].to_vec(),
        ma: beta[p + 1..].to_vec(),
        residuals,
    })
}

impl Predictor for Arima {
    fn observe(&mut self, t_s: f64, y: f64) {
        self.window.push(t_s, y);
    }

    fn forecast(&self, steps: usize) -> Option<f64> {
        let (w, lasts) = self.differenced();
        let Some(fit) = fit_arma(&w, self.p, self.q) else {
            return self.window.values.back().map(|p| p.1);
        };
        let mut hist = w.clone();
        let mut shocks = fit.residuals.clone();
        for _ in 0..steps.max(1) {
            let n = hist.len();
            let mut next = fit.intercept;
            for (i, phi) in fit.ar.iter().enumerate() {
                next += phi * hist[n - 1 - i];
            }
            for (j, theta) in fit.ma.iter().enumerate() {
                next += theta
                    * shocks
                        .get(shocks.len().wrapping_sub(1 + j))
                        .copied()
                        .unwrap_or(0.0);
            }
            hist.push(next);
            shocks.push(0.0);
        }
        // Integrate the forecast path back through each difference.
        let mut path: Vec<f64> = hist[w.len()..].to_vec();
        for &last in lasts.iter().rev() {
            let mut level = last;
            for v in &mut path {
                level += *v;
                *v = level;
            }
        }
        path.last().copied()
    }
}

/// The oracle: the workload's true expected rate at the forecast time, from the
/// scenario itself. The upper bound a policy could reach with a perfect forecast.
pub struct Oracle {
    rate_at: Box<dyn Fn(f64) -> f64 + Send>,
    last_t: f64,
    interval_s: f64,
}

impl Oracle {
    /// Forecasts `rate_at(t)` for the time `steps` intervals of `interval_s` after the
    /// newest observation (the mean over that interval).
    pub fn new(rate_at: Box<dyn Fn(f64) -> f64 + Send>, interval_s: f64) -> Self {
        Oracle {
            rate_at,
            last_t: 0.0,
            interval_s,
        }
    }
}

impl Predictor for Oracle {
    fn observe(&mut self, t_s: f64, _y: f64) {
        self.last_t = t_s;
    }

    fn forecast(&self, steps: usize) -> Option<f64> {
        let end = self.last_t + steps as f64 * self.interval_s;
        let start = end - self.interval_s;
        // The mean over the interval ending at the forecast time (16-point midpoint rule).
        let n = 16;
        let h = self.interval_s / n as f64;
        Some(
            (0..n)
                .map(|i| (self.rate_at)(start + (i as f64 + 0.5) * h))
                .sum::<f64>()
                / n as f64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(p: &mut dyn Predictor, ys: &[f64]) {
        for (i, &y) in ys.iter().enumerate() {
            p.observe(i as f64 * 15.0, y);
        }
    }

    #[test]
    fn simple_predictors() {
        let ys = [1.0, 2.0, 3.0, 4.0];
        let mut last = LastValue::default();
        assert_eq!(last.forecast(1), None);
        feed(&mut last, &ys);
        assert_eq!(last.forecast(3), Some(4.0));
        let mut ma = MovingAverage::new(2);
        feed(&mut ma, &ys);
        assert_eq!(ma.forecast(1), Some(3.5));
        let mut e = Ewma::new(0.5);
        feed(&mut e, &ys);
        // 1 → 1.5 → 2.25 → 3.125
        assert_eq!(e.forecast(1), Some(3.125));
    }

    /// Exact on linear data, at any horizon, and the fit is y = kt + b itself.
    #[test]
    fn linear_trend_is_exact_on_a_line() {
        let mut p = LinearTrend::new(10);
        for i in 0..30 {
            let t = 100.0 + 15.0 * i as f64;
            p.observe(t, 0.2 * t - 7.0);
        }
        let (k, b) = p.fit().unwrap();
        assert!((k - 0.2).abs() < 1e-12 && (b + 7.0).abs() < 1e-9, "{k} {b}");
        let t_last = 100.0 + 15.0 * 29.0;
        for steps in [1, 4, 40] {
            let want = 0.2 * (t_last + 15.0 * steps as f64) - 7.0;
            assert!((p.forecast(steps).unwrap() - want).abs() < 1e-9);
        }
    }

    /// A series that is exactly level + trend + a period-4 pattern is forecast exactly
    /// at every horizon, whatever the smoothing constants.
    #[test]
    fn holt_winters_is_exact_on_a_seasonal_series() {
        let pattern = [3.0, -1.0, 5.0, -2.0];
        let y = |t: usize| 20.0 + 0.5 * t as f64 + pattern[t % 4];
        for (a, b, g) in [(0.5, 0.3, 0.2), (0.9, 0.1, 0.6)] {
            let mut hw = HoltWinters::new(a, b, g, 4);
            for t in 0..25 {
                hw.observe(t as f64, y(t));
            }
            for h in 1..=9 {
                let got = hw.forecast(h).unwrap();
                assert!(
                    (got - y(24 + h)).abs() < 1e-9,
                    "h={h}: {got} vs {}",
                    y(24 + h)
                );
            }
        }
    }

    /// A quadratic is ARIMA(0,2,0) with a constant: the intercept is the second
    /// difference, and integrating back twice gives the next value exactly.
    #[test]
    fn arima_differencing_integrates_back() {
        let mut a = Arima::new(0, 2, 0, 50);
        for t in 0..40 {
            let t = t as f64;
            a.observe(t, 3.0 + 2.0 * t + 0.5 * t * t);
        }
        let f = a.forecast(1).unwrap();
        let want = 3.0 + 2.0 * 40.0 + 0.5 * 1600.0;
        assert!((f - want).abs() < 1e-6, "{f} vs {want}");
    }

    /// ARIMA(2,1,0) against an independent fit: statsmodels 0.15.0's AutoReg(trend='c')
    /// on the differenced series is the same estimator (conditional least squares);
    /// `scripts/reference/arima_statsmodels.py` prints these numbers.
    #[test]
    fn arima_matches_statsmodels() {
        let mut a = Arima::new(2, 1, 0, 80);
        for t in 0..80u64 {
            let y = 10.0
                + 3.0 * (0.3 * t as f64).sin()
                + 0.05 * t as f64
                + ((t * 7919) % 13) as f64 / 13.0;
            a.observe(t as f64, y);
        }
        let fit = a.fit().unwrap();
        for (got, want) in [fit.intercept, fit.ar[0], fit.ar[1]].into_iter().zip([
            -0.017942729157020,
            0.493854183243846,
            0.242221113678947,
        ]) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        for (steps, want) in [
            (1, 10.950327230153),
            (2, 10.889253923729),
            (3, 10.797050538869),
        ] {
            let got = a.forecast(steps).unwrap();
            assert!((got - want).abs() < 1e-9, "{steps}: {got} vs {want}");
        }
    }

    /// ARMA(1,1) by Hannan–Rissanen on a long simulated series recovers φ = 0.6 and
    /// θ = 0.3 (standard errors ≈ 0.01 at n = 20,000).
    #[test]
    fn arma_hannan_rissanen_recovers_known_coefficients() {
        // A fixed linear-congruential sequence of standard normals (Box–Muller).
        let mut state: u64 = 42;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let n = 20_000;
        let mut a = Arima::new(1, 0, 1, n);
        let (mut y_prev, mut e_prev) = (0.0, 0.0);
        for t in 0..n {
            let e = (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
            let y = 1.0 + 0.6 * y_prev + e + 0.3 * e_prev;
            a.observe(t as f64, y);
            (y_prev, e_prev) = (y, e);
        }
        let fit = a.fit().unwrap();
        assert!((fit.ar[0] - 0.6).abs() < 0.04, "phi {}", fit.ar[0]);
        assert!((fit.ma[0] - 0.3).abs() < 0.04, "theta {}", fit.ma[0]);
        assert!((fit.intercept - 1.0).abs() < 0.1, "c {}", fit.intercept);
    }
}
