//! Connections and requests: one port serves HTTP/1.1 and h2c. Request bodies are read under a
//! shared byte budget, so many large requests at once queue instead of exhausting memory.

use crate::admin;
use crate::auth::{self, Credential, Tenants};
use crate::body::ResponseBody;
use crate::error::ApiError;
use crate::faults::{FaultRule, Faults};
pub use crate::protocol::Protocol;
use crate::router;
use crate::tls::TlsSource;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rheo_engine::Engine;
use rheo_wire::sigv4::RequestParts;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::Instrument;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Request bytes held in memory at once across all requests. Each request is charged twice
    /// its body size: the body plus the records decoded from it.
    pub body_budget_bytes: usize,
    /// Time allowed to receive a request's headers, and then its body. A client that sends
    /// slower than this gives its share of the budget back instead of holding it.
    pub read_timeout: std::time::Duration,
    /// Fault injection rules in force at start; `/_rheo/faults` changes them.
    pub faults: Vec<FaultRule>,
    /// TLS on the same port as cleartext, when set.
    pub tls: Option<TlsSource>,
    /// Credentials whose SigV4 signatures are verified; empty: any well-formed signature is
    /// accepted (see [`crate::auth`]).
    pub credentials: Vec<Credential>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: 16 * 1024 * 1024,
            body_budget_bytes: 256 * 1024 * 1024,
            read_timeout: std::time::Duration::from_secs(60),
            faults: Vec::new(),
            tls: None,
            credentials: Vec::new(),
        }
    }
}

struct App {
    tenants: Tenants,
    options: ServerOptions,
    /// One permit per KiB of body in memory.
    budget: Semaphore,
    faults: Faults,
}

/// Serves until the task running it is dropped or aborted.
pub async fn serve(listener: TcpListener, engine: Engine, options: ServerOptions) -> std::io::Result<()> {
    let tls = match &options.tls {
        Some(source) => Some(tokio_rustls::TlsAcceptor::from(crate::tls::server_config(source)?)),
        None => None,
    };
    let permits = (options.body_budget_bytes / 1024).max(charge_kib(options.max_body_bytes) as usize);
    let app = Arc::new(App {
        tenants: Tenants::new(engine),
        budget: Semaphore::new(permits),
        faults: Faults::new(options.faults.clone()),
        options,
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(app.options.read_timeout);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and similar: wait a little rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let timeout = app.options.read_timeout;
            let svc = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&app, req).await) }
            });
            let served = match tls {
                Some(acceptor) if starts_tls(&stream, timeout).await => {
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => builder.serve_connection(TokioIo::new(tls_stream), svc).await,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
                _ => builder.serve_connection(TokioIo::new(stream), svc).await,
            };
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Whether a connection opens with a TLS handshake record (first byte 22); waits for that byte.
async fn starts_tls(stream: &tokio::net::TcpStream, timeout: std::time::Duration) -> bool {
    let mut first = [0u8; 1];
    matches!(
        tokio::time::timeout(timeout, stream.peek(&mut first)).await,
        Ok(Ok(1)) if first[0] == 0x16
    )
}

async fn handle(app: &App, req: Request<Incoming>) -> Response<ResponseBody> {
    if req.method() == Method::GET && req.uri().path() == "/health" {
        return respond(
            StatusCode::OK,
            ResponseBody::full(Bytes::from_static(b"{\"status\":\"ok\"}")),
            Protocol::Json,
        );
    }
    if req.uri().path().starts_with(admin::PREFIX) {
        return admin(app, req).await;
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let protocol = Protocol::of(req.headers());
    let span = tracing::debug_span!("request", target = %target);
    async move {
        if req.method() != Method::POST {
            return error_response(&ApiError::unknown_operation(), protocol);
        }
        let reply = match read_and_dispatch(app, &target, req, protocol).await {
            Ok(body) => protocol.encode(body).await,
            Err(e) => Err(e),
        };
        match reply {
            Ok(body) => respond(StatusCode::OK, body, protocol),
            Err(e) => error_response(&e, protocol),
        }
    }
    .instrument(span)
    .await
}

async fn read_and_dispatch(
    app: &App,
    target: &str,
    req: Request<Incoming>,
    protocol: Protocol,
) -> Result<ResponseBody, ApiError> {
    let max = app.options.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let _permit = app
        .budget
        .acquire_many(charge_kib(declared.unwrap_or(max)))
        .await
        .map_err(|_| ApiError::internal())?;
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(app.options.read_timeout, Limited::new(body, max).collect());
    let body = match read.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large(max)),
        Ok(Err(_)) => return Err(ApiError::serialization("The request body could not be read.")),
        Err(_) => return Err(ApiError::serialization("The request body did not arrive in time.")),
    };
    let engine = tenant_engine(app, &parts, &body)?;
    let body = protocol.decode(body)?;
    let action = target.strip_prefix(router::TARGET_PREFIX).unwrap_or_default();
    let fault = app.faults.for_action(action);
    if let Some(f) = &fault {
        if f.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(f.latency_ms)).await;
        }
        if !router::fails_per_record(action, f) && f.roll() {
            return Err(f.error(action));
        }
    }
    router::dispatch(&engine, target, &body, fault.as_ref(), protocol).await
}

/// The engine of the tenant a request's signature names.
fn tenant_engine(app: &App, parts: &http::request::Parts, body: &[u8]) -> Result<Engine, ApiError> {
    let mut headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    // HTTP/2 carries the host as the :authority pseudo-header; clients sign it as `host` or,
    // like the JavaScript SDK, as `:authority`.
    if let Some(a) = parts.uri.authority().map(|a| a.as_str()) {
        if !parts.headers.contains_key(header::HOST) {
            headers.push(("host", a));
        }
        headers.push((":authority", a));
    }
    let req = RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &headers,
    };
    let default = app.tenants.default_engine();
    let tenant = auth::authenticate(
        &app.options.credentials,
        &default.config().account,
        &req,
        body,
        default.now(),
    )?;
    app.tenants.engine(&tenant)
}

/// A request to `/_rheo/`: small JSON bodies, read whole.
async fn admin(app: &App, req: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let read = tokio::time::timeout(app.options.read_timeout, Limited::new(body, 1024 * 1024).collect());
    let Ok(Ok(body)) = read.await else {
        return respond(
            StatusCode::BAD_REQUEST,
            ResponseBody::full(Bytes::from_static(b"{\"message\":\"the body could not be read\"}")),
            Protocol::Json,
        );
    };
    let body = body.to_bytes();
    // With credentials configured, the admin endpoints need a valid signature too, and act on
    // the signer's account and region; without, they serve the server's own (loopback use).
    let engine = if app.options.credentials.is_empty() {
        app.tenants.default_engine().clone()
    } else {
        match tenant_engine(app, &parts, &body) {
            Ok(e) => e,
            Err(e) => return error_response(&e, Protocol::Json),
        }
    };
    let (status, body) = admin::handle(&engine, &app.faults, &parts.method, parts.uri.path(), &body);
    respond(status, body, Protocol::Json)
}

/// KiB of budget a request body of `bytes` takes: the body and what is decoded from it.
fn charge_kib(bytes: usize) -> u32 {
    (bytes.saturating_mul(2) / 1024 + 1).min(u32::MAX as usize) as u32
}

fn too_large(max: usize) -> ApiError {
    ApiError {
        kind: "SerializationException",
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: Some(format!("Request body exceeds the limit of {max} bytes.")),
    }
}

fn respond(status: StatusCode, body: ResponseBody, protocol: Protocol) -> Response<ResponseBody> {
    let content_type = match body {
        ResponseBody::Events { .. } => "application/vnd.amazon.eventstream",
        _ => protocol.content_type(),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-requestid", id);
    }
    resp
}

/// A request id in AWS's UUID shape: unique within the process (a counter) and across restarts
/// (a random part drawn at start).
fn request_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: LazyLock<u64> =
        LazyLock::new(|| std::collections::hash_map::RandomState::new().build_hasher().finish());
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let s = *SEED;
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        s >> 32,
        (s >> 16) & 0xffff,
        s & 0xfff,
        (n >> 48) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

fn error_response(e: &ApiError, protocol: Protocol) -> Response<ResponseBody> {
    let body = match protocol {
        Protocol::Json => rheo_wire::error::error_body(e.kind, e.message.as_deref()),
        Protocol::Cbor => rheo_wire::cbor::error_body(e.kind, e.message.as_deref()),
    };
    let mut resp = respond(e.status, ResponseBody::full(body), protocol);
    if let Ok(v) = HeaderValue::from_str(e.kind) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}
