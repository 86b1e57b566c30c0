//! The scenario loader on arbitrary bytes: it must never panic, and every error must
//! be located (a line, or the one unlocated case, an empty file). (`scenario_run`
//! also simulates what loads.)
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    // The loader reads files as bytes and checks UTF-8 itself; here the text is what
    // it would have read.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match inferscale::scenario::parse_sweep(text, common::SCENARIO_FILE) {
        Err(e) => common::assert_located(&e),
        Ok(sweep) => {
            assert!(!sweep.points.is_empty(), "a sweep has at least one point");
            assert_eq!(
                sweep.run_count(),
                sweep.points.len() * sweep.replications as usize
            );
        }
    }
});
