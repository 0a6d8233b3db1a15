//! SQS-compatible queues, durable: each tenant's queues are a catalog of definitions and a
//! journal of every message change (`journal`, its format specified there), replayed into
//! memory at start. The queue rules are pure (`queue`: visibility, FIFO groups, retention,
//! dead letters; they take `now`), the service (`Sqs`) journals what they change and answers
//! only once that is on disk.
//!
//! Errors are values (`QueueError`); their AWS names and texts are the server's concern.

#![forbid(unsafe_code)]

pub mod attributes;
mod catalog;
mod control;
pub mod error;
pub mod filter;
pub mod journal;
pub mod message;
mod messages;
mod moves;
pub mod queue;
mod receipt;
pub mod send;
mod service;
pub mod signing;
pub mod stream_queue;
pub mod topics;

pub use control::Page;
pub use error::QueueError;
pub use message::{AttributeValue, Message, MessageAttribute};
pub use messages::{ReceiveRequest, Received, Sent};
pub use moves::{MoveStatus, MoveTask};
pub use send::SendEntry;
pub use service::{Sqs, SqsConfig, SqsLimits};
