//! What the fuzz targets check, shared: each target file names its input and calls
//! one of these.
// Each target uses a part of this module.
#![allow(dead_code)]

use inferscale::workload::{TraceFormat, TraceReader};

/// The file name the scenario targets load their input as (relative paths in it
/// resolve against `fuzz/corpus/scenario/`).
pub const SCENARIO_FILE: &str = "fuzz/corpus/scenario/input.yaml";

/// A loader error must be located: a line, or the one unlocated case, an empty file.
pub fn assert_located(e: &inferscale::scenario::ScenarioError) {
    let located = e
        .invalid()
        .is_some_and(|i| i.line > 0 || i.message.contains("the scenario is empty"));
    assert!(located, "an error without a location: {e}");
}

/// A trace reader of `format` on `data`: never a panic; every error names the file
/// and a line and quotes at most a clipped excerpt; times start at zero and never go
/// backwards.
pub fn check_trace(format: TraceFormat, data: &[u8]) {
    let reader = TraceReader::new(
        std::path::Path::new("trace"),
        format,
        std::io::Cursor::new(data),
    );
    let mut last = 0.0;
    for (i, item) in reader.enumerate().take(100_000) {
        match item {
            Ok(r) => {
                assert!(
                    r.time_s.is_finite() && r.time_s >= last,
                    "time {} after {last}",
                    r.time_s
                );
                if i == 0 {
                    assert_eq!(r.time_s, 0.0, "times are relative to the first row");
                }
                last = r.time_s;
            }
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.starts_with("trace:"),
                    "an error without its file and line: {text}"
                );
                assert!(text.len() < 2_000, "an error of {} bytes", text.len());
                break;
            }
        }
    }
}
