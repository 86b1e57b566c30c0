//! ServeGen per-client window files (Alibaba's characterisation of production
//! inference load): headerless CSV rows `window_start_s,rate_rps,cv,dist,param1,param2`,
//! one row per window, `dist` `Gamma`, `Weibull`, or empty for an idle window.
//!
//! Each window becomes a renewal process with the row's rate and coefficient of
//! variation in the named family. The rate and CV are used rather than the fitted
//! parameters because they are the window's measured moments; the fitted parameters'
//! own mean differs from the measured rate by a few per cent (e.g. a Gamma row with rate
//! 0.39/s whose shape × scale gives 0.40/s).

use std::path::Path;

use inferscale_engine::Dist;

use crate::ArrivalProcess;
use crate::arrivals::RenewalWindow;

/// Reads one client's window file as a [`ArrivalProcess::Windowed`] process, time
/// divided by `speedup` and rate multiplied by `rate_scale` (on top of the speed-up).
/// Errors name the file and line.
pub fn read_servegen_client(
    path: &Path,
    speedup: f64,
    rate_scale: f64,
) -> Result<ArrivalProcess, String> {
    let cannot = |e: std::io::Error| format!("cannot read `{}`: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut rows: Vec<(f64, f64, f64, Option<&'static str>)> = Vec::new();
    for (n, line) in crate::lines::Lines::new(std::io::BufReader::new(file)).enumerate() {
        let at = |m: String| format!("{}:{}: {m}", path.display(), n + 1);
        let line = line.map_err(|e| at(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() < 4 {
            return Err(at(format!(
                "expected `window_start_s,rate_rps,cv,dist,param1,param2`, found {} columns",
                cells.len()
            )));
        }
        let number = |i: usize, name: &str| -> Result<f64, String> {
            cells[i]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    at(format!(
                        "`{name}` must be a number, 0 or more, got `{}`",
                        cells[i]
                    ))
                })
        };
        let (start, rate, cv) = (
            number(0, "window_start_s")?,
            number(1, "rate_rps")?,
            number(2, "cv")?,
        );
        let family = match cells[3] {
            "" => None,
            "Gamma" => Some("gamma"),
            "Weibull" => Some("weibull"),
            other => {
                return Err(at(format!(
                    "unknown distribution `{other}`; expected `Gamma`, `Weibull` or empty (idle)"
                )));
            }
        };
        if let Some(&(previous, ..)) = rows.last()
            && start <= previous
        {
            return Err(at(format!(
                "window starts must increase ({start} s after {previous} s)"
            )));
        }
        rows.push((start, rate, cv, family));
    }
    if rows.is_empty() {
        return Err(format!("`{}` has no windows", path.display()));
    }
    let spacing = if rows.len() > 1 {
        rows[rows.len() - 1].0 - rows[rows.len() - 2].0
    } else {
        600.0
    };
    let mut windows = Vec::with_capacity(rows.len());
    for (i, &(start, rate, cv, family)) in rows.iter().enumerate() {
        let end = rows.get(i + 1).map_or(start + spacing, |r| r.0);
        let rate_per_s = rate * speedup * rate_scale;
        let gaps = match family {
            Some(family) if rate_per_s > 0.0 && cv > 0.0 => {
                let mean = 1.0 / rate_per_s;
                let dist = if family == "gamma" {
                    Dist::gamma_mean_scv(mean, cv * cv)
                } else {
                    Dist::weibull_mean_cv(mean, cv)
                };
                Some(dist.map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?)
            }
            // A zero CV is a clock: evenly spaced arrivals.
            Some(_) if rate_per_s > 0.0 => Some(
                Dist::deterministic(1.0 / rate_per_s)
                    .map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?,
            ),
            _ => None,
        };
        windows.push(RenewalWindow {
            start_s: start / speedup,
            end_s: end / speedup,
            rate_per_s: if gaps.is_some() { rate_per_s } else { 0.0 },
            gaps,
        });
    }
    Ok(ArrivalProcess::Windowed {
        windows: windows.into(),
        cursor: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::{RngStreams, SimTime};

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("inferscale-servegen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Window counts follow the per-window rates, idle windows stay empty, and the
    /// gaps inside a busy window have the row's CV.
    #[test]
    fn windows_follow_their_rates_and_cvs() {
        let path = file(
            "client.csv",
            "0,0,0,,0,0\n1000,2.0,2.0,Gamma,0.25,2\n2000,0.5,0.5,Weibull,2.1,2.2\n3000,0,0,,0,0\n",
        );
        let mut p = read_servegen_client(&path, 1.0, 1.0).unwrap();
        assert!((p.mean_rate_over(4000.0) - 2500.0 / 4000.0).abs() < 1e-12);
        assert_eq!(p.expected_rate_at(1500.0), 2.0);
        let mut rng = RngStreams::new(5, 0).stream("arrivals");
        let (mut t, mut times) = (SimTime::ZERO, Vec::new());
        while let Some(next) = p.next_after(t, &mut rng) {
            t = next;
            times.push(t.as_secs_f64());
        }
        let count = |a: f64, b: f64| times.iter().filter(|&&x| a <= x && x < b).count() as f64;
        assert_eq!(count(0.0, 1000.0) + count(3000.0, 1e9), 0.0);
        // Gamma CV 2 over 1000 s: the count's sd is about cv·√(rate·T) ≈ 89.
        assert!((count(1000.0, 2000.0) - 2000.0).abs() < 300.0);
        assert!((count(2000.0, 3000.0) - 500.0).abs() < 50.0);
        let gaps: Vec<f64> = times
            .windows(2)
            .filter(|w| w[0] >= 2000.0 && w[1] < 3000.0)
            .map(|w| w[1] - w[0])
            .collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        assert!((sd / mean - 0.5).abs() < 0.08, "cv {}", sd / mean);
    }

    #[test]
    fn bad_rows_name_file_and_line() {
        for (text, want) in [
            (
                "0,1,1,Gamma,1,1\n600,x,1,Gamma,1,1\n",
                "bad.csv:2: `rate_rps` must be a number",
            ),
            (
                "0,1,1,Lognormal,1,1\n",
                "bad.csv:1: unknown distribution `Lognormal`",
            ),
            ("0,1,1\n", "bad.csv:1: expected `window_start_s"),
            (
                "600,1,1,Gamma,1,1\n0,1,1,Gamma,1,1\n",
                "bad.csv:2: window starts must increase",
            ),
        ] {
            let err = read_servegen_client(&file("bad.csv", text), 1.0, 1.0).unwrap_err();
            assert!(err.contains(want), "{want}\n got: {err}");
        }
    }

    /// The reference file of one DeepSeek-R1 client, read and superposed with another:
    /// the merged mean rate is the sum of the two.
    #[test]
    fn superposed_clients_add_their_rates() {
        let a = file("a.csv", "0,1.0,1.0,Gamma,1,1\n600,1.0,1.0,Gamma,1,1\n");
        let b = file("b.csv", "0,3.0,0.5,Weibull,1,1\n600,0,0,,0,0\n");
        let mut p = ArrivalProcess::superposed(vec![
            read_servegen_client(&a, 1.0, 1.0).unwrap(),
            read_servegen_client(&b, 1.0, 1.0).unwrap(),
        ])
        .unwrap();
        assert!((p.mean_rate_over(1200.0) - 2.5).abs() < 1e-12);
        let mut rng = RngStreams::new(6, 0).stream("arrivals");
        let (mut t, mut n, mut last) = (SimTime::ZERO, 0, SimTime::ZERO);
        while let Some(next) = p.next_after(t, &mut rng) {
            assert!(next >= last, "merged stream is ordered");
            last = next;
            t = next;
            n += 1;
        }
        assert!((n as f64 - 3000.0).abs() < 150.0, "{n}");
    }
}
