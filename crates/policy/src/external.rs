//! An external-process predictor: any program that speaks JSON lines on stdin/stdout,
//! so researchers can try forecasting models from their own ecosystem (scikit-learn,
//! statsmodels, PyTorch) without touching the simulator.
//!
//! Protocol, one exchange per decision tick:
//!
//! ```text
//! → {"t": 900.0, "y": 23.4, "steps": 20, "interval_s": 15.0, "model": "chat"}
//! ← {"forecast": 31.2}
//! ```
//!
//! `t` and `y` are the newest observation (time in seconds, arrival rate per second);
//! the program keeps whatever history it wants and answers the rate `steps` intervals
//! ahead, or `{"forecast": null}` when it has none yet. The process starts with the
//! run, in the scenario file's directory, and gets end-of-file on stdin when the run
//! ends. Each answer must come within the `timeout` (default 30 s), on one line, and
//! be a rate from 0 to [`MAX_FORECAST_PER_S`]. A program that dies, hangs, floods or
//! answers garbage fails: by default the run ends with an error naming the command
//! and the end of its stderr ([`OnError::Fail`]); with `on_error: fallback` the loop
//! goes on without forecasts and counts every tick that lacked one
//! ([`OnError::Fallback`]). Transport and limits: [`crate::process`].

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::predict::Predictor;
use crate::process::{JsonLinesProcess, ProcessError};

/// Largest forecast accepted, requests per second: more than any real workload, so a
/// larger answer is a bug in the program, not a forecast.
pub const MAX_FORECAST_PER_S: f64 = 1e9;

/// What happens when an external program fails (dies, hangs past its timeout,
/// answers garbage or an impossible forecast).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// End the run with an error naming the command and the tail of its stderr.
    #[default]
    Fail,
    /// Stop calling it and go on without forecasts (the decider sees the present);
    /// every tick without a forecast from then on counts as a fallback.
    Fallback,
}

/// How to run an external program.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalCommand {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Where it runs (the scenario file's directory): relative paths in the
    /// command are taken from there.
    pub dir: PathBuf,
    /// Longest wait for one answer, and for the exit at the end of the run.
    pub timeout: Duration,
    /// What a failure does.
    pub on_error: OnError,
}

impl ExternalCommand {
    /// The default time limit of one exchange.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
}

/// A predictor served by another process.
pub struct ExternalPredictor {
    process: Mutex<Option<JsonLinesProcess>>,
    model: String,
    interval_s: f64,
    latest: Option<(f64, f64)>,
    failure: Mutex<Option<String>>,
    reported: bool,
}

impl ExternalPredictor {
    /// Starts `command` for model `model`.
    pub fn spawn(command: &ExternalCommand, model: &str, interval_s: f64) -> Result<Self, String> {
        let process = JsonLinesProcess::spawn(&command.command, &command.dir, command.timeout)
            .map_err(|e| {
                format!(
                    "the external predictor `{}` failed: {e}",
                    command.command.join(" ")
                )
            })?;
        Ok(ExternalPredictor {
            process: Mutex::new(Some(process)),
            model: model.to_owned(),
            interval_s,
            latest: None,
            failure: Mutex::new(None),
            reported: false,
        })
    }

    /// Starts `command` with the default timeout, in the current directory.
    #[cfg(test)]
    fn spawn_command(command: &[String], model: &str, interval_s: f64) -> Result<Self, String> {
        Self::spawn(
            &ExternalCommand {
                command: command.to_vec(),
                dir: PathBuf::from("."),
                timeout: ExternalCommand::DEFAULT_TIMEOUT,
                on_error: OnError::Fail,
            },
            model,
            interval_s,
        )
    }

    /// The first failure, if any.
    pub fn error(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|e| e.clone())
    }

    fn exchange(&self, request: &str) -> Option<f64> {
        let mut guard = self.process.lock().ok()?;
        let process = guard.as_mut()?;
        let answer = process
            .call(request)
            .and_then(|line| parse_forecast(&line).map_err(ProcessError::BadAnswer));
        match answer {
            Ok(f) => f,
            Err(e) => {
                let message = process.describe_failure("predictor", &e);
                process.kill();
                *guard = None;
                if let Ok(mut slot) = self.failure.lock() {
                    slot.get_or_insert(message);
                }
                None
            }
        }
    }
}

/// A predictor whose program could not even start (under `on_error: fallback`): it
/// never forecasts, and says why once.
pub struct Failed {
    failure: Option<String>,
}

impl Failed {
    /// A predictor that failed with `failure`.
    pub fn new(failure: String) -> Self {
        Failed {
            failure: Some(failure),
        }
    }
}

impl Predictor for Failed {
    fn observe(&mut self, _t_s: f64, _y: f64) {}

    fn forecast(&self, _steps: usize) -> Option<f64> {
        None
    }

    fn take_failure(&mut self) -> Option<String> {
        self.failure.take()
    }
}

/// Reads `{"forecast": number | null}`.
fn parse_forecast(line: &str) -> Result<Option<f64>, String> {
    let bad = || {
        format!(
            "expected {{\"forecast\": number}}, got `{}`",
            inferscale_workload::lines::clip(line.trim(), 200)
        )
    };
    let at = line.find("\"forecast\"").ok_or_else(bad)?;
    let rest = line[at + "\"forecast\"".len()..].trim_start();
    let rest = rest.strip_prefix(':').ok_or_else(bad)?.trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    let value = rest[..end].trim();
    if value == "null" {
        return Ok(None);
    }
    let forecast = value.parse::<f64>().map_err(|_| bad())?;
    if !(0.0..=MAX_FORECAST_PER_S).contains(&forecast) {
        return Err(format!(
            "it answered a forecast of {value} requests/s; a forecast is a rate from 0 to {MAX_FORECAST_PER_S:e}/s"
        ));
    }
    Ok(Some(forecast))
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Predictor for ExternalPredictor {
    fn observe(&mut self, t_s: f64, y: f64) {
        self.latest = Some((t_s, y));
    }

    fn forecast(&self, steps: usize) -> Option<f64> {
        let (t, y) = self.latest?;
        let request = format!(
            "{{\"t\": {t}, \"y\": {y}, \"steps\": {steps}, \"interval_s\": {}, \"model\": {}}}",
            self.interval_s,
            json_string(&self.model)
        );
        self.exchange(&request)
    }

    fn take_failure(&mut self) -> Option<String> {
        if self.reported {
            return None;
        }
        let failure = self.error();
        self.reported = failure.is_some();
        failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".to_string(), "-c".to_string(), script.to_string()]
    }

    #[test]
    fn answers_are_parsed_strictly() {
        assert_eq!(parse_forecast("{\"forecast\": 3.5}\n"), Ok(Some(3.5)));
        assert_eq!(parse_forecast("{\"forecast\":null}"), Ok(None));
        assert_eq!(parse_forecast("{\"forecast\": 0}"), Ok(Some(0.0)));
        assert!(parse_forecast("{\"fc\": 1}").is_err());
        assert!(parse_forecast("{\"forecast\": \"x\"}").is_err());
        assert_eq!(json_string("a\"b"), "\"a\\\"b\"");
    }

    /// Negative, infinite, NaN and absurd forecasts are errors, not forecasts.
    #[test]
    fn impossible_forecasts_are_refused() {
        for value in ["-3", "1e300", "NaN", "inf", "-0.001"] {
            let e = parse_forecast(&format!("{{\"forecast\": {value}}}")).unwrap_err();
            assert!(e.contains("a forecast is a rate from 0"), "{value}: {e}");
        }
        assert_eq!(parse_forecast("{\"forecast\": 1e9}"), Ok(Some(1e9)));
    }

    /// A garbage answer is quoted, but never more than a short excerpt of it.
    #[test]
    fn a_long_garbage_answer_is_clipped_in_the_message() {
        let e = parse_forecast(&"x".repeat(100_000)).unwrap_err();
        assert!(e.len() < 400, "{} bytes", e.len());
    }

    /// A predictor in a shell one-liner: it answers twice the newest value.
    #[test]
    fn a_process_answers_each_tick() {
        let script = r#"while read -r line; do y=${line#*\"y\": }; y=${y%%,*}; echo "{\"forecast\": $(awk "BEGIN {print $y * 2}")}"; done"#;
        let mut p = ExternalPredictor::spawn_command(&sh(script), "chat", 15.0).unwrap();
        assert_eq!(p.forecast(1), None, "no observation yet");
        p.observe(15.0, 4.0);
        assert_eq!(p.forecast(2), Some(8.0));
        p.observe(30.0, 5.5);
        assert_eq!(p.forecast(2), Some(11.0));
        assert!(p.error().is_none());
        assert_eq!(p.take_failure(), None);
    }

    /// Garbage, an early exit and a hang each fail once, with a message naming the
    /// command; the predictor stays off afterwards.
    #[test]
    fn failures_are_reported_once_and_end_the_forecasts() {
        let cases = [
            (
                "read -r line; echo nonsense",
                "expected {\"forecast\": number}, got `nonsense`",
            ),
            (
                "read -r line; echo 'bad model' >&2; exit 2",
                "exited with status 2",
            ),
            (
                "read -r line; echo '{\"forecast\": -1}'",
                "a forecast is a rate from 0",
            ),
            ("read -r line; sleep 20", "no answer within 300ms"),
        ];
        for (script, expected) in cases {
            let command = ExternalCommand {
                command: sh(script),
                dir: PathBuf::from("."),
                timeout: Duration::from_millis(300),
                on_error: OnError::Fail,
            };
            let mut p = ExternalPredictor::spawn(&command, "chat", 15.0).unwrap();
            p.observe(15.0, 1.0);
            assert_eq!(p.forecast(1), None);
            let failure = p.take_failure().unwrap();
            assert!(failure.contains(expected), "{script}: {failure}");
            assert!(failure.contains(&format!("`sh -c {script}`")), "{failure}");
            assert_eq!(p.take_failure(), None, "reported once");
            assert_eq!(p.forecast(1), None, "stays off after an error");
        }
        let stderr = ExternalPredictor::spawn_command(
            &sh("read -r line; echo 'bad model' >&2; exit 2"),
            "chat",
            15.0,
        );
        let mut p = stderr.unwrap();
        p.observe(1.0, 1.0);
        let _ = p.forecast(1);
        assert!(p.take_failure().unwrap().contains("    bad model"));
        assert!(
            ExternalPredictor::spawn_command(&["/no/such/program".to_string()], "m", 1.0).is_err()
        );
    }
}
