//! S3's front door: a request signed for service `s3` (header or presigned) is authenticated
//! here, with Rheo's own SigV4 and tenants, and handed to `rheo-s3` as an anonymous request
//! whose body checks itself as it streams (chunk signatures, payload hash, checksums).
//! Nothing of an S3 body is held beyond what one write gathers (1 MiB).

use crate::auth::{self, TenantState};
use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::server::{App, Conn, request_parts, signed_headers};
use http::{HeaderValue, Request, Response, header};
use hyper::body::Incoming;
use rheo_s3::body::{ALGORITHMS, CheckedBody, ChecksumSpec, Encoding};
use rheo_s3::notify::{BoxFuture, Events, Notifier, Sink};
use rheo_s3::{RequestContext, S3Api};
use std::sync::{Arc, Weak};

/// Whether a request is signed for S3: its credential scope names service `s3`, or it is a
/// presigned URL of signature version 2 (S3's alone).
pub(crate) fn is_s3(req: &Request<Incoming>) -> bool {
    if let Some(auth) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        return auth.starts_with("AWS4-HMAC-SHA256") && auth.contains("/s3/aws4_request");
    }
    req.uri().query().is_some_and(|q| {
        q.split('&').any(|kv| {
            kv.strip_prefix("X-Amz-Credential=")
                .is_some_and(|v| v.contains("%2Fs3%2Faws4_request") || v.contains("/s3/aws4_request"))
        }) || rheo_wire::sigv2::parse(Some(q)).is_some()
    })
}

/// The query parameters of a presigned URL, which s3s must not see.
const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// S3's names for the front door's authentication errors.
fn s3_auth_error(e: &ApiError) -> (&'static str, String) {
    let message = e.message.clone().unwrap_or_default();
    let code = match e.kind {
        "MissingAuthenticationTokenException" => "AccessDenied",
        "IncompleteSignatureException" => "AuthorizationHeaderMalformed",
        "UnrecognizedClientException" => {
            return (
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.".into(),
            );
        }
        "InvalidSignatureException" if message.contains("expired") => "AccessDenied",
        "InvalidSignatureException" if message.contains("Signature not yet current") || message.contains("too far") => {
            "RequestTimeTooSkewed"
        }
        "InvalidSignatureException" if message.contains("region") => "AuthorizationHeaderMalformed",
        "InvalidSignatureException" => "SignatureDoesNotMatch",
        "InvalidRequest" => "InvalidRequest",
        "AccessDenied" => "AccessDenied",
        "LimitExceededException" => "SlowDown",
        _ => "InternalError",
    };
    (code, message)
}

fn refuse(code: &str, message: &str, id: &str) -> Response<ResponseBody> {
    let resp = rheo_s3::error_response(code, message, Some(id));
    finish(resp, id)
}

fn finish(resp: Response<s3s::Body>, id: &str) -> Response<ResponseBody> {
    let (mut parts, body) = resp.into_parts();
    if let Ok(v) = HeaderValue::from_str(id) {
        parts.headers.insert("x-amz-request-id", v.clone());
        parts.headers.insert("x-amz-id-2", v);
    }
    Response::from_parts(parts, ResponseBody::S3(body))
}

pub(crate) async fn handle(app: &App, conn: &Conn, req: Request<Incoming>) -> Response<ResponseBody> {
    let id = crate::server::request_id();
    let (mut parts, body) = req.into_parts();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if parts.method == http::Method::POST && is_form {
        return refuse(
            "NotImplemented",
            "Browser-form uploads (POST Object) are not supported by Rheo; use PutObject or a presigned PUT.",
            &id,
        );
    }
    let now = app.tenants.default_tenant().engine.now();
    let v2 = !parts.headers.contains_key(header::AUTHORIZATION) && rheo_wire::sigv2::parse(parts.uri.query()).is_some();
    let (pending, signer) = {
        let headers = signed_headers(&parts);
        let signed = request_parts(&parts, &headers);
        if v2 {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| parts.uri.authority().map(|a| a.as_str()))
                .unwrap_or_default();
            match auth::authenticate_presigned_v2(&app.auth, &signed, app.s3.bucket_of(host), now) {
                Ok(p) => (p, None),
                Err(e) => {
                    let (code, message) = s3_auth_error(&e);
                    return refuse(code, &message, &id);
                }
            }
        } else {
            let pending = match auth::authenticate_headers(&app.auth, &signed, now, conn.tls, "s3") {
                Ok(p) => p,
                Err(e) => {
                    let (code, message) = s3_auth_error(&e);
                    return refuse(code, &message, &id);
                }
            };
            match pending.verify_declared(&signed) {
                Ok(signer) => (pending, signer),
                Err(e) => {
                    let (code, message) = s3_auth_error(&e);
                    return refuse(code, &message, &id);
                }
            }
        }
    };
    let tenant = match app.tenants.get(&pending.tenant) {
        Ok(t) => t,
        Err(e) => {
            let (code, message) = s3_auth_error(&e);
            return refuse(code, &message, &id);
        }
    };
    // Below the free-space watermark, writes are refused as S3 throttles (reads go on).
    let writes = matches!(parts.method, http::Method::PUT | http::Method::POST);
    if writes && tenant.engine.health().disk_low {
        return refuse(
            "SlowDown",
            "Please reduce your request rate. (This server's disk is below its free-space watermark, --min-free-bytes.)",
            &id,
        );
    }
    let objects = match tenant.objects() {
        Ok(o) => o,
        Err(_) => {
            return refuse(
                "InternalError",
                "We encountered an internal error. Please try again.",
                &id,
            );
        }
    };
    let header = |name: &str| header_of(&parts.headers, name);
    let declared = header("x-amz-content-sha256");
    let encoding = match declared.as_deref() {
        Some(d) if d.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") => {
            Encoding::Chunked(Box::new(rheo_wire::aws_chunked::ChunkedDecoder::new(signer)))
        }
        Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER") => {
            Encoding::Chunked(Box::new(rheo_wire::aws_chunked::ChunkedDecoder::new(None)))
        }
        Some(d) if d.starts_with("STREAMING-") => {
            return refuse(
                "NotImplemented",
                &format!("The payload signing method {d} is not supported."),
                &id,
            );
        }
        Some(d) if d.len() == 64 => match decode_hex32(d) {
            Some(h) => Encoding::Plain { sha256: Some(h) },
            None => {
                return refuse(
                    "InvalidArgument",
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value.",
                    &id,
                );
            }
        },
        Some("UNSIGNED-PAYLOAD") | None => Encoding::Plain { sha256: None },
        Some(_) => {
            return refuse(
                "InvalidArgument",
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value.",
                &id,
            );
        }
    };
    let chunked = matches!(encoding, Encoding::Chunked(_));
    let declared_len = if chunked {
        match header("x-amz-decoded-content-length").and_then(|v| v.parse::<u64>().ok()) {
            Some(n) => Some(n),
            None => {
                return refuse(
                    "MissingContentLength",
                    "You must provide the Content-Length HTTP header (x-amz-decoded-content-length for aws-chunked).",
                    &id,
                );
            }
        }
    } else {
        header("content-length").and_then(|v| v.parse::<u64>().ok())
    };
    let trailer = header("x-amz-trailer").map(|t| t.trim().to_ascii_lowercase());
    let spec = checksum_spec(&parts.headers, trailer.as_deref());
    // The request as s3s sees it: anonymous, its body decoded.
    for name in [
        "authorization",
        "x-amz-content-sha256",
        "x-amz-trailer",
        "x-amz-decoded-content-length",
    ] {
        parts.headers.remove(name);
    }
    if chunked {
        parts.headers.remove(header::TRANSFER_ENCODING);
        if let Some(n) = declared_len {
            parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
        let rest = header_of(&parts.headers, "content-encoding").map(|e| {
            e.split(',')
                .map(str::trim)
                .filter(|c| !c.eq_ignore_ascii_case("aws-chunked") && !c.is_empty())
                .collect::<Vec<_>>()
                .join(",")
        });
        parts.headers.remove(header::CONTENT_ENCODING);
        if let Some(v) = rest
            .filter(|r| !r.is_empty())
            .and_then(|r| HeaderValue::from_str(&r).ok())
        {
            parts.headers.insert(header::CONTENT_ENCODING, v);
        }
    }
    if let Some(q) = parts.uri.query()
        && (q.contains("X-Amz-") || v2)
    {
        let kept: Vec<&str> = q
            .split('&')
            .filter(|kv| {
                let name = kv.split('=').next();
                !PRESIGN_PARAMS
                    .iter()
                    .chain(rheo_wire::sigv2::PARAMS.iter())
                    .any(|p| name == Some(*p))
            })
            .collect();
        let path_and_query = if kept.is_empty() {
            parts.uri.path().to_owned()
        } else {
            format!("{}?{}", parts.uri.path(), kept.join("&"))
        };
        let mut uri = http::uri::Parts::from(parts.uri.clone());
        uri.path_and_query = path_and_query.parse().ok();
        if let Ok(u) = http::Uri::from_parts(uri) {
            parts.uri = u;
        }
    }
    let verified = rheo_s3::body::Verified::default();
    parts.extensions.insert(RequestContext {
        store: objects.store.clone(),
        account: tenant.tenant.account.clone(),
        region: tenant.tenant.region.clone(),
        principal: pending_principal(&pending),
        source_ip: conn.peer_ip(),
        now_ms: now,
        verified: verified.clone(),
        events: objects.events.clone(),
        externals: if tenant.tenant == app.tenants.default_tenant().tenant {
            app.s3_external.clone()
        } else {
            Externals::default()
        },
    });
    let body = CheckedBody::new(body, encoding, declared_len, spec, verified);
    let req = Request::from_parts(parts, s3s::Body::http_body(body));
    finish(app.s3.call(req).await, &id)
}

fn header_of(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn pending_principal(p: &auth::Pending) -> String {
    p.access_key().to_owned()
}

fn decode_hex32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *slot = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// The checksum a body is checked against: the trailer's (`x-amz-trailer`), a header's
/// (`x-amz-checksum-*`), or the algorithm the SDK names (`x-amz-sdk-checksum-algorithm`).
fn checksum_spec(headers: &http::HeaderMap, trailer: Option<&str>) -> ChecksumSpec {
    if let Some(alg) = trailer.and_then(|t| t.strip_prefix("x-amz-checksum-"))
        && ALGORITHMS.contains(&alg)
    {
        return ChecksumSpec {
            algorithm: Some(alg.to_owned()),
            value: None,
        };
    }
    for alg in ALGORITHMS {
        if let Some(v) = headers
            .get(format!("x-amz-checksum-{alg}").as_str())
            .and_then(|v| v.to_str().ok())
        {
            return ChecksumSpec {
                algorithm: Some(alg.to_owned()),
                value: Some(v.to_owned()),
            };
        }
    }
    let named = headers
        .get("x-amz-sdk-checksum-algorithm")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .filter(|a| ALGORITHMS.contains(&a.as_str()));
    ChecksumSpec {
        algorithm: named,
        value: None,
    }
}

/// A tenant's buckets: the store, its notifications, and what the S3 API calls back.
#[derive(Clone)]
pub(crate) struct Objects {
    pub store: Arc<rheo_objects::local::LocalStore>,
    pub events: Arc<dyn Events>,
}

impl Objects {
    pub(crate) fn open(tenant: &Arc<TenantState>) -> Result<Objects, ApiError> {
        let cfg = tenant.engine.config();
        let store = rheo_objects::local::LocalStore::open(tenant.engine.disk(), &cfg.data_dir.join("s3"), cfg.log)
            .map_err(|e| {
                tracing::error!(error = %e, account = %tenant.tenant.account, region = %tenant.tenant.region, "opening the buckets failed");
                ApiError::internal()
            })?;
        let store = Arc::new(store);
        let sink = Arc::new(TenantSink(Arc::downgrade(tenant)));
        let notifier = Notifier::new(
            store.clone(),
            sink,
            tenant.tenant.account.clone(),
            tenant.tenant.region.clone(),
        );
        notifier.resume();
        let events = Arc::new(TenantEvents {
            tenant: Arc::downgrade(tenant),
            notifier: notifier.clone(),
        });
        Ok(Objects { store, events })
    }
}

struct TenantSink(Weak<TenantState>);

impl Sink for TenantSink {
    fn deliver(&self, arn: String, message: String) -> BoxFuture<Result<(), String>> {
        let d = self
            .0
            .upgrade()
            .map(|t| crate::destinations::TenantDestinations::new(&t));
        Box::pin(async move {
            let d = d.ok_or("the account and region were closed")?;
            rheo_functions::Destinations::deliver(&d, arn, message).await
        })
    }
}

struct TenantEvents {
    tenant: Weak<TenantState>,
    notifier: Arc<Notifier>,
}

impl Events for TenantEvents {
    fn changed(&self, bucket: &str) {
        self.notifier.wake(bucket);
    }

    fn validate(&self, arn: String, test_event: String) -> BoxFuture<Result<(), String>> {
        let tenant = self.tenant.upgrade();
        Box::pin(async move {
            let tenant = tenant.ok_or("the account and region were closed")?;
            if arn.starts_with("arn:aws:lambda:") {
                // Functions are not sent the test event; they must exist.
                let functions = tenant.functions().map_err(|e| e.message.unwrap_or_default())?;
                return functions.resolve(&arn).map(|_| ()).map_err(|e| e.to_string());
            }
            let d = crate::destinations::TenantDestinations::new(&tenant);
            rheo_functions::Destinations::deliver(&d, arn, test_event).await
        })
    }
}

pub(crate) type Externals = Arc<std::collections::BTreeMap<String, Arc<rheo_objects::external::External>>>;

/// The configured external buckets, each checked for a valid name and a usable endpoint.
pub(crate) fn externals(configs: &[rheo_objects::external::ExternalConfig]) -> std::io::Result<Externals> {
    let mut out = std::collections::BTreeMap::new();
    for c in configs {
        rheo_objects::names::check_bucket_name(&c.name)
            .map_err(|e| std::io::Error::other(format!("external bucket {:?}: {e:?}", c.name)))?;
        let x = rheo_objects::external::External::new(c.clone()).map_err(std::io::Error::other)?;
        if out.insert(c.name.clone(), Arc::new(x)).is_some() {
            return Err(std::io::Error::other(format!(
                "external bucket {:?} is configured twice",
                c.name
            )));
        }
    }
    Ok(Arc::new(out))
}

/// The S3 API the server answers with (its virtual-host domains from the options).
pub(crate) fn api(domains: &[String]) -> S3Api {
    let mut all = vec!["localhost".to_owned(), "s3.localhost".to_owned()];
    all.extend(domains.iter().cloned());
    S3Api::new(all)
}
