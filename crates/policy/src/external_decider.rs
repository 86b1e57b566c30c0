//! An external-process decider: any program that reads the fleet's view as a JSON
//! line on stdin and writes its actions as a JSON line on stdout, every tick, so a
//! policy can be written in any language as a read-eval-print loop.
//!
//! ```text
//! → {"version": 1, "time_s": 900.0, "interval_s": 15.0, "cost_usd": 1.92,
//!    "models": [{"name": "chat", "node_type": "gpu", "group": "chat", "controlled": true,
//!                "replicas": {"desired": 2, "ready": 2, "starting": 0, ...},
//!                "cost_usd": 1.92, "metrics": {...}, "forecast": null}]}
//! ← {"actions": [{"model": "chat", "replicas": 3, "reason": "busy"}]}
//! ```
//!
//! The messages are [`crate::fleet`]'s ([`FleetView`], [`FleetAnswer`]), documented
//! in `docs/decider-protocol.md` with a JSON Schema. The program starts with the run,
//! in the scenario file's directory, gets one view per tick and end-of-file when the
//! run ends. Each answer must come within the `timeout`, on one line; a program that
//! dies, hangs, floods or answers something the protocol does not allow ends the run
//! with an error naming the command, what was wrong and the end of its stderr.
//! Transport and limits: [`crate::process`].

use crate::external::ExternalCommand;
use crate::fleet::{FleetAnswer, FleetDecider, FleetView};
use crate::process::{JsonLinesProcess, ProcessError};

/// A decider served by another process.
pub struct ExternalDecider {
    process: Option<JsonLinesProcess>,
    command: String,
}

impl ExternalDecider {
    /// Starts `command`.
    pub fn spawn(command: &ExternalCommand) -> Result<Self, String> {
        let process = JsonLinesProcess::spawn(&command.command, &command.dir, command.timeout)
            .map_err(|e| {
                format!(
                    "the external decider `{}` failed: {e}",
                    command.command.join(" ")
                )
            })?;
        Ok(ExternalDecider {
            process: Some(process),
            command: command.command.join(" "),
        })
    }
}

/// Reads an answer line.
fn parse_answer(line: &str) -> Result<FleetAnswer, String> {
    serde_json::from_str(line).map_err(|e| {
        format!(
            "its answer `{}` is not a decider answer: {e} (expected {{\"actions\": [{{\"model\": NAME, \"replicas\": N}} or {{\"model\": NAME, \"delta\": ±N}}, ...]}}; docs/decider-protocol.md)",
            inferscale_workload::lines::clip(line.trim(), 200)
        )
    })
}

impl FleetDecider for ExternalDecider {
    fn describe(&self) -> String {
        format!("the external decider `{}`", self.command)
    }

    fn decide(&mut self, view: &FleetView) -> Result<FleetAnswer, String> {
        let process = self
            .process
            .as_mut()
            .ok_or("the external decider failed before")?;
        let request = serde_json::to_string(view)
            .map_err(|e| format!("cannot write the decider's view: {e}"))?;
        match process
            .call(&request)
            .and_then(|line| parse_answer(&line).map_err(ProcessError::BadAnswer))
        {
            Ok(answer) => Ok(answer),
            Err(e) => {
                let message = process.describe_failure("decider", &e);
                process.kill();
                self.process = None;
                Err(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::external::OnError;

    fn sh(script: &str) -> ExternalCommand {
        ExternalCommand {
            command: vec!["sh".into(), "-c".into(), script.into()],
            dir: PathBuf::from("."),
            timeout: Duration::from_secs(5),
            on_error: OnError::Fail,
        }
    }

    fn view() -> FleetView {
        FleetView {
            version: 1,
            time_s: 15.0,
            interval_s: 15.0,
            cost_usd: 0.0,
            models: Vec::new(),
        }
    }

    #[test]
    fn a_program_answers_each_view_with_its_actions() {
        let mut d = ExternalDecider::spawn(&sh(
            r#"while read line; do echo '{"actions": [{"model": "chat", "delta": 1}]}'; done"#,
        ))
        .unwrap();
        for _ in 0..3 {
            let a = d.decide(&view()).unwrap();
            assert_eq!(
                (a.actions[0].model.as_str(), a.actions[0].delta),
                ("chat", Some(1))
            );
        }
    }

    #[test]
    fn garbage_a_crash_and_silence_end_with_the_command_named() {
        let mut d = ExternalDecider::spawn(&sh("read line; echo 'scale up please'")).unwrap();
        let e = d.decide(&view()).unwrap_err();
        assert!(
            e.contains("external decider `sh -c") && e.contains("scale up please"),
            "{e}"
        );
        assert!(d.decide(&view()).is_err(), "stays failed");
        let mut d = ExternalDecider::spawn(&sh("read line; echo oops >&2; exit 3")).unwrap();
        let e = d.decide(&view()).unwrap_err();
        assert!(e.contains("status 3") && e.contains("oops"), "{e}");
        let mut slow = sh("read line; sleep 5");
        slow.timeout = Duration::from_millis(200);
        let mut d = ExternalDecider::spawn(&slow).unwrap();
        let e = d.decide(&view()).unwrap_err();
        assert!(e.contains("no answer within"), "{e}");
    }
}
