//! Firehose delivery streams of one tenant: definitions (`catalog`, the on-disk layout there),
//! the S3 destination and its checks (`spec`), prefixes (`prefix`, pure), object formats
//! (`compress`), the transformation function's contract (`transform`, pure), the durable intake
//! every put is acknowledged from (`intake`), the worker that buffers and writes objects
//! (`worker`), a Kinesis stream read into the intake (`source`), and one method per operation
//! (`service`). Buckets and functions are reached
//! through the [`Buckets`] and [`Functions`] seams, which the server implements over the
//! tenant's own services.

#![forbid(unsafe_code)]

pub mod catalog;
pub mod channel;
pub mod compress;
pub mod convert;
pub mod glue;
pub mod http;
mod intake;
pub mod jq;
mod kpl;
pub(crate) mod partitions;
pub mod prefix;
pub mod service;
pub mod source;
pub mod spec;
mod stage;
pub mod transform;
mod worker;

pub use service::{Delivery, DeliveryConfig, DeliveryError};
pub use worker::record_id;

use std::future::Future;
use std::io::Write;
use std::pin::Pin;

/// What became of an object write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    /// The key already held an object (a retried write): nothing was changed.
    Existed,
    /// Nothing was written (every record was dropped or failed).
    Empty,
}

/// Writes to the tenant's buckets (blocking; called from a blocking thread).
pub trait Buckets: Send + Sync + 'static {
    /// Creates `key` in `bucket` if it is absent, its bytes written by `fill` (which says
    /// whether it wrote anything worth an object); durable when it returns.
    fn write(
        &self,
        bucket: &str,
        key: &str,
        content_encoding: Option<&str>,
        fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<bool>,
    ) -> Result<Written, String>;
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Invokes the tenant's functions synchronously.
pub trait Functions: Send + Sync + 'static {
    /// The function's answer, or why the call failed (including a function error).
    fn invoke(&self, arn: &str, payload: Vec<u8>) -> BoxFuture<Result<Vec<u8>, String>>;
}
