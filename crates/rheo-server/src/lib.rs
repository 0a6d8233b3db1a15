//! The HTTP front door: accepts connections (HTTP/1.1 and h2c on one port), routes AWS JSON 1.1
//! requests by `X-Amz-Target`, and maps engine outcomes to AWS's error names in one place
//! ([`error`]). Each Kinesis action has its own module under [`ops`].

#![forbid(unsafe_code)]

mod body;
pub mod error;
mod ops;
mod pool;
mod router;
mod server;

pub use server::{ServerOptions, serve};
