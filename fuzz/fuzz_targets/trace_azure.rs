//! The AzureLlm trace reader on arbitrary bytes (what holds: `common::check_trace`).
#![no_main]

use inferscale::workload::TraceFormat;
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::check_trace(TraceFormat::AzureLlm, data));
