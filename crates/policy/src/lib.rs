//! The scaling loop's stages, as plain algorithms the simulator drives: forecasts of
//! demand ([`predict`]), the production autoscalers reproduced exactly ([`hpa`], the
//! Kubernetes HorizontalPodAutoscaler; [`kpa`], Knative's), queueing-model sizing
//! ([`queueing`]) and cost-optimal fleet mixes ([`cost`]).
//!
//! Nothing here knows about events or clusters: each function or state machine takes
//! what a controller would observe and returns what it would decide, so each is tested
//! against its reference (closed forms, the upstream projects' own test cases) in
//! isolation.
#![deny(missing_docs)]

pub mod cost;
pub mod hpa;
pub mod kpa;
pub mod predict;
pub mod queueing;
