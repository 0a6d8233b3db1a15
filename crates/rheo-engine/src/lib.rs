//! The Kinesis engine: streams, shards and records, without HTTP or AWS error names.
//!
//! - [`catalog`]: the persisted description of every stream (JSON, replaced atomically).
//! - [`writer`]: one task per open shard that assigns sequence numbers and group-commits
//!   appends to the shard's log.
//! - [`iterator`]: shard iterators as opaque, checked tokens (pure functions of `now`).
//! - [`reshard`]: SplitShard, MergeShards and UpdateShardCount as pure functions of a shard map.
//! - [`scaling`]: on-demand scaling decisions from observed write rates.
//! - [`throttle`]: per-shard throughput limits as token buckets.
//! - [`control`], [`data`] and [`capacity`]: one async method per Kinesis operation;
//!   [`capacity`] also runs the on-demand scaler.
//!
//! Time comes from a [`Clock`] so tests can move it; stream state transitions (CREATING →
//! ACTIVE, DELETING → gone) are computed from timestamps, never from timers.

#![forbid(unsafe_code)]

pub mod capacity;
pub mod catalog;
pub mod consumers;
pub mod control;
pub mod data;
mod error;
pub mod extras;
pub mod iterator;
pub mod kqueues;

pub mod reshard;
mod resharding;
mod runtime;
pub mod scaling;
mod space;
pub mod throttle;
pub mod writer;

pub use error::Error;
pub use rheo_types::clock::{Clock, ManualClock, SystemClock};
pub use rheo_types::mac;
pub use runtime::{ChildShard, Engine, EngineConfig, Health};
