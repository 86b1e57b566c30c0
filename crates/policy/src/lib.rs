//! The scaling loop's stages, as plain algorithms the simulator drives: forecasts of
//! demand ([`predict`]), the production autoscalers reproduced exactly ([`hpa`], the
//! Kubernetes HorizontalPodAutoscaler; [`kpa`], Knative's), queueing-model sizing
//! ([`queueing`]) and cost-optimal fleet mixes ([`cost`]).
//!
//! The algorithms know nothing about events: each function or state machine takes what
//! a controller would observe and returns what it would decide, so each is tested
//! against its reference (closed forms, the upstream projects' own test cases) in
//! isolation. [`monitor`], [`decide`] and [`scaling_loop`] wrap them into the loop the
//! cluster drives through its `Controller` interface.
#![deny(missing_docs)]

pub mod cost;
pub mod decide;
pub mod external;
pub mod external_decider;
pub mod fleet;
pub mod hpa;
pub mod kpa;
pub mod monitor;
pub mod predict;
pub mod process;
pub mod queueing;
pub mod scaling_loop;

pub use scaling_loop::{DeciderConfig, LoopConfig, OutsideStages, PredictorConfig, ScalingLoop};
