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
//! run and gets end-of-file on stdin when the run ends. A program that dies or
//! answers garbage ends the forecasts (the decider falls back to the present) and the
//! error is kept for the report.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use crate::predict::Predictor;

struct Pipe {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// A predictor served by another process.
pub struct ExternalPredictor {
    pipe: Mutex<Option<Pipe>>,
    model: String,
    interval_s: f64,
    latest: Option<(f64, f64)>,
    error: Mutex<Option<String>>,
}

impl ExternalPredictor {
    /// Starts `command` (program and arguments) for model `model`.
    pub fn spawn(command: &[String], model: &str, interval_s: f64) -> Result<Self, String> {
        let (program, args) = command
            .split_first()
            .ok_or("an external predictor needs a `command`")?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", command.join(" ")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(format!("`{}` has no stdin/stdout", command.join(" ")));
        };
        Ok(ExternalPredictor {
            pipe: Mutex::new(Some(Pipe {
                child,
                stdin,
                stdout: BufReader::new(stdout),
            })),
            model: model.to_owned(),
            interval_s,
            latest: None,
            error: Mutex::new(None),
        })
    }

    /// The first error the process caused, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }

    fn exchange(&self, request: &str) -> Result<Option<f64>, String> {
        let mut guard = self.pipe.lock().map_err(|_| "poisoned".to_string())?;
        let Some(pipe) = guard.as_mut() else {
            return Ok(None);
        };
        writeln!(pipe.stdin, "{request}")
            .and_then(|()| pipe.stdin.flush())
            .map_err(|e| format!("the external predictor stopped reading: {e}"))?;
        let mut line = String::new();
        let n = pipe
            .stdout
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the external predictor's answer: {e}"))?;
        if n == 0 {
            return Err("the external predictor closed its output".into());
        }
        parse_forecast(&line)
    }
}

/// Reads `{"forecast": number | null}`.
fn parse_forecast(line: &str) -> Result<Option<f64>, String> {
    let bad = || format!("expected {{\"forecast\": number}}, got `{}`", line.trim());
    let at = line.find("\"forecast\"").ok_or_else(bad)?;
    let rest = line[at + "\"forecast\"".len()..].trim_start();
    let rest = rest.strip_prefix(':').ok_or_else(bad)?.trim_start();
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    let value = rest[..end].trim();
    if value == "null" {
        return Ok(None);
    }
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Some)
        .ok_or_else(bad)
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
        match self.exchange(&request) {
            Ok(f) => f,
            Err(e) => {
                if let Ok(mut slot) = self.error.lock() {
                    slot.get_or_insert(e);
                }
                if let Ok(mut pipe) = self.pipe.lock()
                    && let Some(mut p) = pipe.take()
                {
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                }
                None
            }
        }
    }
}

impl Drop for ExternalPredictor {
    fn drop(&mut self) {
        if let Ok(mut pipe) = self.pipe.lock()
            && let Some(p) = pipe.take()
        {
            let Pipe {
                mut child, stdin, ..
            } = p;
            drop(stdin); // end of file: the program may exit on its own
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_strictly() {
        assert_eq!(parse_forecast("{\"forecast\": 3.5}\n"), Ok(Some(3.5)));
        assert_eq!(parse_forecast("{\"forecast\":null}"), Ok(None));
        assert!(parse_forecast("{\"fc\": 1}").is_err());
        assert!(parse_forecast("{\"forecast\": \"x\"}").is_err());
        assert_eq!(json_string("a\"b"), "\"a\\\"b\"");
    }

    /// A predictor in a shell one-liner: it answers twice the newest value.
    #[test]
    fn a_process_answers_each_tick() {
        let script = r#"while read -r line; do y=${line#*\"y\": }; y=${y%%,*}; echo "{\"forecast\": $(awk "BEGIN {print $y * 2}")}"; done"#;
        let command = vec!["sh".to_string(), "-c".to_string(), script.to_string()];
        let mut p = ExternalPredictor::spawn(&command, "chat", 15.0).unwrap();
        assert_eq!(p.forecast(1), None, "no observation yet");
        p.observe(15.0, 4.0);
        assert_eq!(p.forecast(2), Some(8.0));
        p.observe(30.0, 5.5);
        assert_eq!(p.forecast(2), Some(11.0));
        assert!(p.error().is_none());

        let broken = vec![
            "sh".to_string(),
            "-c".to_string(),
            "read -r line; echo nonsense".to_string(),
        ];
        let mut b = ExternalPredictor::spawn(&broken, "chat", 15.0).unwrap();
        b.observe(15.0, 1.0);
        assert_eq!(b.forecast(1), None);
        assert!(
            b.error()
                .unwrap()
                .contains("expected {\"forecast\": number}")
        );
        assert_eq!(b.forecast(1), None, "stays off after an error");
        assert!(ExternalPredictor::spawn(&["/no/such/program".to_string()], "m", 1.0).is_err());
    }
}
