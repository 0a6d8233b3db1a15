//! What moves data between services: event source mappings, which read a Kinesis stream
//! (`kinesis`), a Kinesis queue (`kqueue`, a Rheo extension) or an SQS queue (`sqs`) and invoke a function with Lambda's events and
//! semantics (`events`, pure), with durable definitions and checkpoints (`catalog`, the
//! on-disk layout there) and the service behind the Lambda API's mapping operations
//! (`service`). It reads streams through the engine's in-process feed and queues through
//! their public API, never over HTTP.

#![forbid(unsafe_code)]

pub mod catalog;
pub mod events;
mod feed;
mod kinesis;
mod kqueue;
mod pollers;
pub mod service;
mod sqs;
mod windows;

pub use catalog::StartingPosition;
pub use feed::{FeedSource, queue_spec};
pub use service::{MappingChanges, MappingView, Mappings, MappingsConfig, NewMapping};
