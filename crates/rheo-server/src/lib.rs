//! The HTTP front door: accepts connections (HTTP/1.1 and HTTP/2, cleartext or [`tls`], on one
//! port), reads AWS JSON 1.1 or CBOR 1.1 (`protocol`), routes requests by `X-Amz-Target`, and maps engine outcomes to AWS's error names in one place
//! ([`error`]). Each Kinesis action has its own module under [`ops`]. [`faults`] injects
//! errors and latency for testing clients; `/_rheo/` (module `admin`) changes settings at run time.

#![forbid(unsafe_code)]
// The request path: no slicing, indexing or arithmetic that can panic or wrap (tests may).
#![cfg_attr(
    not(test),
    deny(clippy::string_slice, clippy::indexing_slicing, clippy::arithmetic_side_effects)
)]

mod admin;
pub mod auth;
mod body;
mod conn;
mod delivery;
mod destinations;
pub mod error;
pub mod faults;
mod ops;
mod pool;
mod protocol;
mod query;
mod rest;
mod router;
mod s3;
mod server;
pub mod tls;

pub use pool::read_bytes_in_flight;
pub use rheo_queues::SqsLimits;
pub use server::{FunctionOptions, ServerOptions, serve};
