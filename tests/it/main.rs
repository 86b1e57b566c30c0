//! End-to-end and validation tests, in one test binary (one link, one process).
//!
//! - [`queueing`]: the engine against the closed forms in `data/reference/queueing.csv`
//!   (simultaneous intervals over every row and metric)
//! - [`policies`]: every HPA and KPA golden case, and the harness's own strictness
//! - [`accounting`]: cost is the integral of the cost series, every arrival is judged,
//!   utilization and requests in system against closed forms and Little's law
//! - [`schema`]: every Parquet column's name and type
//! - [`startup`]: warm (`initial: ready`) and cold starts
//! - [`scaling`]: deciders against references, predictive sizing against reactive and
//!   peak-sized fleets
//! - [`adversarial`]: the adversarial pass's findings kept closed (hangs, double
//!   counts, failing external programs, directories that are not ours, cut parts)
//! - [`bad_input`]: every file in `tests/bad_scenarios/` fails with a located error, exit 2
//! - [`loader_property`]: mutated example scenarios load or fail located, never
//!   panic; the short ones run and conserve requests
//! - [`cli`]: the `inferscale` command as a user runs it
//! - [`external_decider`]: a policy in another program over JSON lines, against the
//!   built-in rule it reimplements and the protocol's schema
//! - [`requests`]: `requests.parquet` adds up to `runs.parquet`; samples are the
//!   same requests under every policy
//! - [`paired`]: paired differences to a baseline against the runs table, and
//!   `compare` refusing results whose requests differ
//! - [`golden_outputs`]: a hash of every table every example scenario writes
//!   (shortened), the guard of behaviour-preserving refactors
//! - [`determinism`]: same scenario, same results, whatever the thread count
//! - [`sweep`]: sweeps across threads, shards, interruptions and resumes
//! - [`published`], [`vidur`], [`traces`]: LLM timing against published numbers and a
//!   peer simulator; the public traces replayed as they are

mod accounting;
mod adversarial;
mod bad_input;
mod cli;
mod determinism;
mod editor_schema;
mod external_decider;
mod golden_outputs;
mod loader_property;
mod paired;
mod policies;
mod prefix_cache;
mod prefix_routing;
mod prefix_serving;
mod published;
mod queueing;
mod requests;
mod scaling;
mod schema;
mod splitwise;
mod startup;
mod support;
mod sweep;
mod traces;
mod vidur;
mod vllm_h100;
