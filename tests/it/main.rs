//! End-to-end and validation tests, in one test binary (one link, one process).
//!
//! - [`queueing`]: the engine against the closed forms in `data/reference/queueing.csv`
//! - [`bad_input`]: every file in `tests/bad_scenarios/` fails with a located error, exit 2
//! - [`cli`]: the `inferscale` command as a user runs it
//! - [`determinism`]: same scenario, same results, whatever the thread count
//! - [`sweep`]: sweeps across threads, shards, interruptions and resumes

mod accounting;
mod bad_input;
mod cli;
mod determinism;
mod policies;
mod published;
mod queueing;
mod scaling;
mod schema;
mod startup;
mod support;
mod sweep;
mod traces;
mod vidur;
