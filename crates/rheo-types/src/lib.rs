//! The validated vocabulary of Rheo: names, shard ids, hash keys, sequence numbers and limits.
//!
//! Everything here is pure: no I/O and no async; time comes from a [`clock::Clock`] that
//! callers pass in (the wall clock, or one tests move). Values are parsed once at the edge and
//! carried as these types afterwards, so the engine never sees an unvalidated string.

#![forbid(unsafe_code)]

pub mod clock;
mod hash;
pub mod ids;
pub mod limits;
pub mod mac;
mod names;
mod seq;

pub use hash::{HashKey, HashKeyRange, hash_key_for_partition_key, split_evenly};
pub use names::{Arn, ConsumerArn, NameError, ShardId, StreamName};
pub use seq::{SequenceNumber, SequenceParseError};
