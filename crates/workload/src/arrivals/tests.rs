//! Statistical checks of the arrival processes, with fixed seeds and stated
//! significance: each bound is far enough out that a correct process fails it with
//! probability under 0.1%.

use super::*;
use crate::{Interpolation, RateFn};
use inferscale_engine::RngStreams;

fn arrivals(process: &mut ArrivalProcess, seed: u64, until_s: f64) -> Vec<f64> {
    let mut rng = RngStreams::new(seed, 0).stream("arrivals");
    let mut out = Vec::new();
    let mut t = SimTime::ZERO;
    while let Some(next) = process.next_after(t, &mut rng) {
        if next.as_secs_f64() >= until_s {
            break;
        }
        out.push(next.as_secs_f64());
        t = next;
    }
    out
}

fn counts(times: &[f64], window_s: f64, windows: usize) -> Vec<f64> {
    let mut counts = vec![0.0; windows];
    for &t in times {
        let w = (t / window_s) as usize;
        if w < windows {
            counts[w] += 1.0;
        }
    }
    counts
}

/// Wilson–Hilferty approximation of the chi-square `p`-quantile with `k` degrees of
/// freedom, at standard-normal quantile `z`.
fn chi2_quantile(k: f64, z: f64) -> f64 {
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + z * a.sqrt()).powi(3)
}

/// Counts per window against the rate function's integral: the chi-square statistic
/// must lie between the 0.05% and 99.95% quantiles of χ²(windows).
fn assert_follows(rate: RateFn, window_s: f64, windows: usize, seed: u64) {
    let horizon = window_s * windows as f64;
    let times = arrivals(&mut ArrivalProcess::varying(rate.clone()), seed, horizon);
    let n = counts(&times, window_s, windows);
    let mut chi2 = 0.0;
    for (w, &count) in n.iter().enumerate() {
        let t0 = w as f64 * window_s;
        let expected = rate.integral(t0, t0 + window_s, 200);
        assert!(expected > 0.0);
        chi2 += (count - expected).powi(2) / expected;
    }
    let k = windows as f64;
    let (low, high) = (chi2_quantile(k, -3.29), chi2_quantile(k, 3.29));
    assert!(
        (low..=high).contains(&chi2),
        "{rate:?}: chi-square {chi2:.1} outside [{low:.1}, {high:.1}] for {windows} windows"
    );
}

#[test]
fn poisson_counts_have_poisson_mean_and_dispersion() {
    let rate = 50.0;
    let times = arrivals(&mut ArrivalProcess::poisson(rate).unwrap(), 3, 20_000.0);
    let n = counts(&times, 1.0, 20_000);
    let mean = n.iter().sum::<f64>() / n.len() as f64;
    let var = n.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n.len() - 1) as f64;
    // SE of the mean 0.05 (0.1%), of the dispersion index about 1%.
    assert!((mean - rate).abs() < 0.01 * rate, "mean {mean}");
    assert!((var / mean - 1.0).abs() < 0.05, "dispersion {}", var / mean);
}

#[test]
fn refuses_bad_parameters() {
    assert_eq!(
        ArrivalProcess::poisson(0.0).unwrap_err(),
        ArrivalError::BadRate(0.0)
    );
    assert!(ArrivalProcess::poisson(-3.0).is_err());
    assert!(ArrivalProcess::gamma(10.0, 0.0).is_err());
    assert!(ArrivalProcess::mmpp([0.0, 0.0], [1.0, 1.0]).is_err());
    assert!(ArrivalProcess::mmpp([1.0, 2.0], [1.0, -1.0]).is_err());
}

#[test]
fn a_diurnal_rate_is_followed_window_by_window() {
    let rate = RateFn::Diurnal {
        mean: 20.0,
        peak_to_trough: 4.0,
        period: 3600.0,
        phase: 0.0,
    };
    assert_follows(rate, 60.0, 1440, 11);
}

#[test]
fn a_piecewise_linear_rate_is_followed() {
    let rate = RateFn::Piecewise {
        points: vec![(0.0, 5.0), (3600.0, 40.0), (7200.0, 2.0), (10_800.0, 20.0)],
        interpolation: Interpolation::Linear,
    };
    assert_follows(rate, 30.0, 400, 12);
}

#[test]
fn a_flash_crowd_on_a_base_rate_is_followed() {
    let rate = RateFn::Sum(vec![
        RateFn::Constant(10.0),
        RateFn::Spike {
            start: 600.0,
            rise: 60.0,
            height: 200.0,
            decay: 300.0,
        },
    ]);
    assert_follows(rate, 10.0, 720, 13);
}

#[test]
fn a_rate_that_drops_to_zero_ends_the_process() {
    let rate = RateFn::Piecewise {
        points: vec![(0.0, 50.0), (100.0, 0.0)],
        interpolation: Interpolation::Step,
    };
    let times = arrivals(&mut ArrivalProcess::varying(rate), 14, 1e9);
    assert!(times.iter().all(|&t| t < 100.0));
    assert!((times.len() as f64 - 5000.0).abs() < 4.0 * 5000f64.sqrt());
}

/// Mean and CV of 10⁶ inter-arrival times, within 2% of what was asked.
#[test]
fn renewal_processes_hit_their_mean_and_cv() {
    for (process, cv) in [
        (ArrivalProcess::gamma(10.0, 2.0).unwrap(), 2.0),
        (ArrivalProcess::gamma(10.0, 0.5).unwrap(), 0.5),
        (ArrivalProcess::weibull(10.0, 1.5).unwrap(), 1.5),
        (ArrivalProcess::weibull(10.0, 0.4).unwrap(), 0.4),
    ] {
        let mut p = process;
        let mut rng = RngStreams::new(21, 0).stream("arrivals");
        let mut t = SimTime::ZERO;
        let mut gaps = Vec::with_capacity(1_000_000);
        for _ in 0..1_000_000 {
            let next = p.next_after(t, &mut rng).unwrap();
            gaps.push((next - t).as_secs_f64());
            t = next;
        }
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd =
            (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (gaps.len() - 1) as f64).sqrt();
        assert!((mean - 0.1).abs() < 0.02 * 0.1, "{p:?}: mean {mean}");
        assert!(
            (sd / mean - cv).abs() < 0.02 * cv,
            "{p:?}: cv {}",
            sd / mean
        );
    }
}

/// Two states: 5/s for 10 s on average, 50/s for 5 s. Mean rate 20/s; the index of
/// dispersion of counts in windows of T seconds is, with σ = 1/10 + 1/5,
/// 1 + 2(λ₁−λ₂)²σ₁σ₂/(σ³λ̄) · (1 − (1 − e^{−σT})/(σT)).
#[test]
fn mmpp_matches_its_mean_rate_and_index_of_dispersion() {
    let (l1, l2, d1, d2): (f64, f64, f64, f64) = (5.0, 50.0, 10.0, 5.0);
    let (s1, s2) = (1.0 / d1, 1.0 / d2);
    let sigma = s1 + s2;
    let mean_rate = (l1 * d1 + l2 * d2) / (d1 + d2);
    let window: f64 = 100.0;
    let idc = 1.0
        + 2.0 * (l1 - l2) * (l1 - l2) * s1 * s2 / (sigma.powi(3) * mean_rate)
            * (1.0 - (1.0 - (-sigma * window).exp()) / (sigma * window));
    let windows = 5000;
    let mut process = ArrivalProcess::mmpp([l1, l2], [d1, d2]).unwrap();
    assert!((process.mean_rate_over(1.0) - 20.0).abs() < 1e-12);
    let times = arrivals(&mut process, 31, window * windows as f64);
    let n = counts(&times, window, windows);
    let mean = n.iter().sum::<f64>() / windows as f64;
    let var = n.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (windows - 1) as f64;
    assert!(
        (mean / window - mean_rate).abs() < 0.02 * mean_rate,
        "rate {}",
        mean / window
    );
    assert!(
        (var / mean / idc - 1.0).abs() < 0.10,
        "IDC {} vs {idc}",
        var / mean
    );
}

/// inference-perf's stages send exactly ⌊rate × duration⌋ requests each, in order,
/// the last as the stage ends; inside a stage the others are spread as uniform order
/// statistics (Kolmogorov–Smirnov against the uniform law at 0.05% per stage, so
/// under 0.1% for the two), with the first one's mean gap D/n exactly so.
#[test]
fn staged_loads_send_their_counts_spread_as_inference_perf_spreads_them() {
    let stages = vec![
        LoadStage {
            rate_per_s: 8.0,
            duration_s: 600.0,
        },
        LoadStage {
            rate_per_s: 0.0,
            duration_s: 30.0,
        },
        LoadStage {
            rate_per_s: 20.0,
            duration_s: 600.0,
        },
    ];
    let mut process = ArrivalProcess::stages(stages.clone()).unwrap();
    let times = arrivals(&mut process, 7, f64::INFINITY);
    assert_eq!(times.len(), 4800 + 12_000);
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let (first, second) = times.split_at(4800);
    assert!((first[4799] - 600.0).abs() < 1e-6, "{}", first[4799]);
    assert!(second[0] > 630.0 && (second[11_999] - 1230.0).abs() < 1e-6);
    assert!((process.expected_count(0.0, 1230.0) - 16_800.0).abs() < 1e-6);
    assert_eq!(process.expected_rate_at(615.0), 0.0);
    for (interior, start) in [(&first[..4799], 0.0), (&second[..11_999], 630.0)] {
        let n = interior.len() as f64;
        let ks = interior
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let u = (t - start) / 600.0;
                (u - i as f64 / n).abs().max(((i + 1) as f64 / n - u).abs())
            })
            .fold(0.0, f64::max);
        // K–S critical value at α = 0.0005: sqrt(−ln(α/2)/2) / sqrt(n).
        assert!(ks < 1.763 / n.sqrt(), "K–S distance {ks}");
    }
    // The first gap's mean over many streams: D/n = 600/4800 s, within 4.5 standard
    // errors (its law is Beta(1, n − 1) × D: sd ≈ mean).
    let runs = 4000;
    let mean: f64 = (0..runs)
        .map(|seed| {
            let mut p = ArrivalProcess::stages(stages[..1].to_vec()).unwrap();
            let mut rng = RngStreams::new(1000 + seed, 0).stream("arrivals");
            p.next_after(SimTime::ZERO, &mut rng).unwrap().as_secs_f64()
        })
        .sum::<f64>()
        / runs as f64;
    let want = 600.0 / 4800.0;
    assert!(
        (mean - want).abs() < 4.5 * want / (runs as f64).sqrt(),
        "{mean}"
    );
    assert!(ArrivalProcess::stages(Vec::new()).is_err());
    assert!(
        ArrivalProcess::stages(vec![LoadStage {
            rate_per_s: 1.0,
            duration_s: 0.0
        }])
        .is_err()
    );
}
