//! The Mooncake trace reader on arbitrary bytes: never a panic; every error names
//! the file and a line; times never go backwards and start at zero.
#![no_main]

use inferscale::workload::{TraceFormat, TraceReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let reader = TraceReader::new(
        std::path::Path::new("trace"),
        TraceFormat::Mooncake,
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
});
