//! Rheo's S3 API: the `s3s` crate speaks the protocol (routing, XML, headers, DTOs); this
//! crate answers it from `rheo-objects`' buckets.
//!
//! Rheo's front door authenticates every request itself (its own SigV4, tenants, limits) and
//! hands s3s an anonymous request: the signature's headers and query parameters removed, the
//! body replaced by a [`body::CheckedBody`] that decodes `aws-chunked`, verifies chunk
//! signatures, the payload hash and checksums while it streams. So s3s never needs a secret,
//! and Rheo's credential-less mode works for S3 as for every other service. What the request
//! acts on travels in its extensions as a [`RequestContext`].

#![forbid(unsafe_code)]

pub mod body;
pub mod host;
pub mod notify;
mod ops;

use rheo_objects::local::LocalStore;
use s3s::service::{S3Service, S3ServiceBuilder};
use std::sync::Arc;

/// What a request acts on and for whom; the front door puts it in the request's extensions.
#[derive(Clone)]
pub struct RequestContext {
    pub store: Arc<LocalStore>,
    pub account: String,
    pub region: String,
    /// The access key that signed the request (the event's principal).
    pub principal: String,
    pub source_ip: String,
    pub now_ms: i64,
    /// The checksum the body carried, once verified.
    pub verified: body::Verified,
    /// Where changes are announced, and notification destinations checked.
    pub events: Arc<dyn notify::Events>,
    /// The tenant's buckets that live on external stores, by name.
    pub externals: Arc<std::collections::BTreeMap<String, Arc<rheo_objects::external::External>>>,
}

/// The S3 service: s3s over Rheo's buckets.
#[derive(Clone)]
pub struct S3Api {
    service: S3Service,
    domains: Arc<host::Domains>,
}

impl S3Api {
    /// `domains`: the host names under which `<bucket>.<domain>` is virtual-hosted style.
    pub fn new(domains: Vec<String>) -> S3Api {
        let mut b = S3ServiceBuilder::new(ops::Backend);
        b.set_host(host::Domains::new(domains.clone()));
        b.set_access(ops::Anyone);
        let mut cfg = s3s::config::S3Config::default();
        // XML bodies are read whole: DeleteObjects with 1,000 keys of 1,024 bytes fits.
        cfg.xml_max_body_size = 2 << 20;
        // Browser-form uploads (POST object) are refused by the front door.
        cfg.post_object_max_file_size = 0;
        b.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(cfg))));
        S3Api {
            service: b.build(),
            domains: Arc::new(host::Domains::new(domains)),
        }
    }

    /// The bucket a Host header names (virtual-hosted style), if it names one.
    pub fn bucket_of<'a>(&self, host: &'a str) -> Option<&'a str> {
        self.domains.bucket_of(host)
    }

    /// Answers a request (already authenticated, its body checked; a [`RequestContext`] in
    /// its extensions).
    pub async fn call(&self, req: http::Request<s3s::Body>) -> http::Response<s3s::Body> {
        match self.service.call(req).await {
            Ok(resp) => resp,
            Err(e) => {
                tracing::error!(error = ?e, "an S3 response could not be written");
                error_response(
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                    None,
                )
            }
        }
    }
}

/// An S3 error response (for the front door's refusals).
pub fn error_response(code: &str, message: &str, request_id: Option<&str>) -> http::Response<s3s::Body> {
    let code: s3s::S3ErrorCode = code.parse().unwrap_or(s3s::S3ErrorCode::InternalError);
    let mut e = s3s::S3Error::with_message(code, message.to_owned());
    if let Some(id) = request_id {
        e.set_request_id(id);
    }
    if let Some(status) = ops::status_of(e.code()) {
        e.set_status_code(status);
    }
    match e.to_http_response() {
        Ok(r) => {
            let (parts, body) = r.into_parts();
            http::Response::from_parts(parts, body)
        }
        Err(_) => {
            let mut r = http::Response::new(s3s::Body::empty());
            *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    }
}
