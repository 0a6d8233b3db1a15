//! Connections and requests: one port serves HTTP/1.1 and HTTP/2, cleartext or TLS.
//!
//! The order of admission is the invariant here: a request's signature is checked from its
//! headers (shape, region, key, time, signed headers) before any of its body is read; its body
//! is then charged to three budgets (its connection's, its tenant's and the server's) as bytes
//! arrive, never by the size it declares; and its signature is verified over the body last.
//! Every connection is watched (`conn`): first byte, idle and stall timeouts, and a limit on
//! how many are open, past which new ones are closed at once while the others are served.

use crate::admin;
use crate::auth::{self, AuthConfig, Credential, TenantLimits, TenantState, Tenants};
use crate::body::ResponseBody;
use crate::conn::{self, Activity, Timeouts, Tracked, Watched};
use crate::error::ApiError;
use crate::faults::FaultRule;
pub use crate::protocol::Protocol;
use crate::query;
use crate::router::{self, Route, Service};
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
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Request bytes held in memory at once across all requests. Each request is charged twice
    /// its body size (the body plus what is decoded from it), as its bytes arrive.
    pub body_budget_bytes: usize,
    /// Of that, what one tenant (account and region) may hold.
    pub tenant_body_bytes: usize,
    /// Of that, what one connection may hold (HTTP/2 carries many requests at once).
    pub connection_body_bytes: usize,
    /// How long a request waits for budget before it is refused with 503 ServiceUnavailable.
    pub admission_wait: Duration,
    /// Time allowed to receive a request's headers, and then its body; also how long a request
    /// in flight may make no progress (no body bytes in, no response bytes taken) before its
    /// connection is closed.
    pub read_timeout: Duration,
    /// A new connection must send its first byte within this.
    pub first_byte_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once; past it, new connections are closed at once.
    pub max_connections: usize,
    /// HTTP/2: concurrent streams per connection.
    pub h2_max_streams: u32,
    /// HTTP/2: keep-alive ping interval, and how long a ping may go unanswered.
    pub h2_keepalive: Duration,
    /// Fault injection rules every tenant starts with; `/_rheo/faults` changes a tenant's.
    pub faults: Vec<FaultRule>,
    /// TLS on the same port as cleartext, when set.
    pub tls: Option<TlsSource>,
    /// With TLS on, refuse requests that arrive over cleartext.
    pub require_tls: bool,
    /// Credentials whose SigV4 signatures are verified; empty: any well-formed signature is
    /// accepted (see [`crate::auth`]).
    pub credentials: Vec<Credential>,
    /// Regions served besides the server's own.
    pub regions: Vec<String>,
    /// Tenants (accounts and regions) open at once besides the server's own.
    pub max_tenants: usize,
    /// A tenant unused this long is closed (its data stays; it reopens on demand).
    pub tenant_idle_timeout: Duration,
    /// The credential whose signature `/_rheo/` requires; without one, `/_rheo/` is served
    /// only to loopback peers (and, with credentials configured, needs a valid signature).
    pub admin_credential: Option<Credential>,
    /// Limits on SQS queues: messages in flight per queue, message bytes held per tenant and
    /// per server.
    pub sqs: rheo_queues::SqsLimits,
    /// How functions run.
    pub functions: FunctionOptions,
    /// Domains under which `<bucket>.<domain>` addresses a bucket (virtual-hosted style),
    /// besides `localhost` and `s3.localhost`.
    pub s3_domains: Vec<String>,
    /// Buckets of the server's own account and region that live on other S3-compatible
    /// stores.
    pub s3_external: Vec<rheo_objects::external::ExternalConfig>,
}

/// How functions run: their Python, and their processes.
#[derive(Debug, Clone)]
pub struct FunctionOptions {
    /// Where Python functions' interpreter comes from; `None`: a virtualenv Rheo makes in
    /// `<data>/runtimes/python`.
    pub python: Option<rheo_functions::runtime::PythonSetup>,
    /// Processes one function may run at once (without reserved concurrency).
    pub max_processes: usize,
    /// A process idle this long is stopped.
    pub idle: Duration,
    /// The waits before an asynchronous invocation's retries.
    pub retry_delays: Vec<Duration>,
}

impl Default for FunctionOptions {
    fn default() -> FunctionOptions {
        FunctionOptions {
            python: None,
            max_processes: 10,
            idle: Duration::from_secs(300),
            retry_delays: vec![Duration::from_secs(60), Duration::from_secs(120)],
        }
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            max_body_bytes: 16 * 1024 * 1024,
            body_budget_bytes: 256 * 1024 * 1024,
            tenant_body_bytes: 128 * 1024 * 1024,
            connection_body_bytes: 64 * 1024 * 1024,
            admission_wait: Duration::from_secs(2),
            read_timeout: Duration::from_secs(60),
            first_byte_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            h2_max_streams: 100,
            h2_keepalive: Duration::from_secs(20),
            faults: Vec::new(),
            tls: None,
            require_tls: false,
            credentials: Vec::new(),
            regions: Vec::new(),
            max_tenants: 64,
            tenant_idle_timeout: Duration::from_secs(600),
            admin_credential: None,
            sqs: rheo_queues::SqsLimits::default(),
            functions: FunctionOptions::default(),
            s3_domains: Vec::new(),
            s3_external: Vec::new(),
        }
    }
}

impl ServerOptions {
    /// Settings that cannot work together.
    pub fn check(&self) -> Result<(), String> {
        let charge = self.max_body_bytes.saturating_mul(2);
        for (name, v) in [
            ("body budget", self.body_budget_bytes),
            ("tenant body budget", self.tenant_body_bytes),
            ("connection body budget", self.connection_body_bytes),
        ] {
            if v < charge {
                return Err(format!(
                    "the {name} ({v} bytes) must hold at least twice the largest body ({charge} bytes)"
                ));
            }
        }
        if self.max_connections == 0 || self.h2_max_streams == 0 {
            return Err("max connections and HTTP/2 streams must be at least 1".into());
        }
        if self.require_tls && self.tls.is_none() {
            return Err("require-tls needs TLS on".into());
        }
        Ok(())
    }
}

pub(crate) struct App {
    pub(crate) tenants: Tenants,
    pub(crate) auth: AuthConfig,
    options: ServerOptions,
    /// Request-body bytes in memory, charged twice.
    budget: Arc<Semaphore>,
    connections: Arc<Semaphore>,
    pub(crate) s3: rheo_s3::S3Api,
    /// The server's own tenant's buckets on external stores.
    pub(crate) s3_external: crate::s3::Externals,
}

/// What a request knows of its connection.
pub(crate) struct Conn {
    pub(crate) peer: SocketAddr,
    pub(crate) tls: bool,
    activity: Arc<Activity>,
    budget: Arc<Semaphore>,
}

impl Conn {
    /// The client's IP address, as text.
    pub(crate) fn peer_ip(&self) -> String {
        self.peer.ip().to_string()
    }
}

/// Serves until the task running it is dropped or aborted.
pub async fn serve(listener: TcpListener, engine: Engine, options: ServerOptions) -> std::io::Result<()> {
    options.check().map_err(std::io::Error::other)?;
    let tls = match &options.tls {
        Some(source) => Some(tokio_rustls::TlsAcceptor::from(crate::tls::server_config(source)?)),
        None => None,
    };
    let cfg = engine.config();
    let mut regions = vec![cfg.region.clone()];
    regions.extend(options.regions.iter().filter(|r| **r != cfg.region).cloned());
    let auth = AuthConfig {
        credentials: options.credentials.clone(),
        regions,
        account: cfg.account.clone(),
    };
    let limits = TenantLimits {
        max_open: options.max_tenants,
        idle_ms: options.tenant_idle_timeout.as_millis() as i64,
        body_bytes: options.tenant_body_bytes,
        sqs: options.sqs,
        sqs_server_bytes: Arc::default(),
        functions: Arc::new(crate::auth::FunctionsShared {
            python: rheo_functions::runtime::Python::new(options.functions.python.clone().unwrap_or_else(|| {
                rheo_functions::runtime::PythonSetup::Managed {
                    dir: cfg.data_dir.join("runtimes").join("python"),
                    extra: Vec::new(),
                }
            })),
            endpoint_url: format!("http://{}", listener.local_addr()?),
            options: options.functions.clone(),
            credentials: options.credentials.clone(),
            server_account: cfg.account.clone(),
        }),
    };
    let app = Arc::new(App {
        tenants: Tenants::new(engine, limits, options.faults.clone()),
        auth,
        budget: Arc::new(Semaphore::new(options.body_budget_bytes)),
        connections: Arc::new(Semaphore::new(options.max_connections)),
        s3: crate::s3::api(&options.s3_domains),
        s3_external: crate::s3::externals(&options.s3_external)?,
        options,
    });
    let data_dir = app.tenants.default_tenant().engine.config().data_dir.clone();
    start_mappings(&app, &data_dir);
    start_notifications(&app, &data_dir);
    start_delivery(&app, &data_dir);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(app.options.read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(app.options.h2_max_streams)
        .keep_alive_interval(Some(app.options.h2_keepalive))
        .keep_alive_timeout(app.options.h2_keepalive)
        .max_header_list_size(64 * 1024);
    let timeouts = Timeouts {
        first_byte: app.options.first_byte_timeout,
        idle: app.options.idle_timeout,
        stall: app.options.read_timeout,
    };
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // Out of file descriptors and similar: wait a little rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = app.connections.clone().try_acquire_owned() else {
            // At the limit: the connections already open keep being served.
            tracing::debug!(%peer, "refusing a connection: at the connection limit");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let activity = Activity::new();
            let served = serve_connection(app, builder, tls, stream, peer, activity.clone());
            tokio::select! {
                () = served => {}
                reason = conn::watchdog(activity, timeouts) => {
                    tracing::debug!(%peer, reason, "closing a connection");
                }
            }
        });
    }
}

async fn serve_connection(
    app: Arc<App>,
    builder: auto::Builder<TokioExecutor>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    activity: Arc<Activity>,
) {
    let is_tls = match &tls {
        Some(_) => starts_tls(&stream).await,
        None => false,
    };
    let conn = Arc::new(Conn {
        peer,
        tls: is_tls,
        activity: activity.clone(),
        budget: Arc::new(Semaphore::new(app.options.connection_body_bytes)),
    });
    let svc = service_fn(move |req| {
        let app = app.clone();
        let conn = conn.clone();
        let in_flight = conn.activity.begin();
        async move {
            let resp = handle(&app, &conn, req).await;
            Ok::<_, std::convert::Infallible>(resp.map(|body| Tracked::new(body, in_flight)))
        }
    });
    let stream = Watched::new(stream, activity);
    let served = match tls {
        Some(acceptor) if is_tls => match acceptor.accept(stream).await {
            Ok(tls_stream) => builder.serve_connection(TokioIo::new(tls_stream), svc).await,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
        },
        _ => builder.serve_connection(TokioIo::new(stream), svc).await,
    };
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Whether a connection opens with a TLS handshake record (first byte 22); waits for that byte
/// (the connection's watchdog bounds the wait).
async fn starts_tls(stream: &tokio::net::TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0] == 0x16)
}

async fn handle(app: &App, conn: &Conn, req: Request<Incoming>) -> Response<ResponseBody> {
    if req.method() == Method::GET && req.uri().path() == "/health" {
        return health(app);
    }
    if let Some(name) = sns_certificate_name(&req) {
        return sns_certificate(app, name);
    }
    let protocol = Protocol::of(req.headers());
    if app.options.require_tls && !conn.tls {
        let e = ApiError {
            kind: "AccessDeniedException",
            status: StatusCode::FORBIDDEN,
            message: Some("This server accepts requests only over TLS (require-tls).".into()),
            query_error: None,
        };
        return error_response(&e, protocol);
    }
    if req.uri().path().starts_with(admin::PREFIX) {
        return admin(app, conn, req).await;
    }
    // CORS only where signatures are verified: without credentials any signature passes, and
    // browsers would let every web page a developer visits call the server (docs/security.md).
    let origin = req.headers().contains_key(header::ORIGIN) && !app.auth.credentials.is_empty();
    if origin && req.method() == Method::OPTIONS {
        return preflight(&req);
    }
    if crate::s3::is_s3(&req) {
        return crate::s3::handle(app, conn, req).await;
    }
    if is_query(&req) {
        return query::handle(app, conn, req).await;
    }
    // REST services (Lambda) send no X-Amz-Target: JSON requests skip this look.
    if !req.headers().contains_key("x-amz-target")
        && let Some(service) = crate::rest::service_of(&req)
    {
        return crate::rest::handle(app, conn, req, service).await;
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::debug_span!("request", target = %target);
    let mut resp = async move {
        if req.method() != Method::POST {
            return xml_error(
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                "Unable to determine service/operation name to be authorized",
            );
        }
        if let Some(refusal) = unreadable_content_type(req.headers(), &target) {
            return refusal;
        }
        // Before the signature, as AWS does: an unknown target costs nothing to refuse.
        let Some(route) = router::route(&target) else {
            return error_response(&ApiError::unknown_operation(), protocol);
        };
        // SQS speaks AWS JSON 1.0 only.
        let protocol = match route.service {
            Service::Sqs => Protocol::Json10,
            Service::Logs | Service::Firehose | Service::Glue => Protocol::Json,
            Service::Kinesis => protocol,
        };
        let reply = match read_and_dispatch(app, conn, route, req, protocol).await {
            Ok(body) => protocol.encode(body).await,
            Err(e) => Err(e),
        };
        match reply {
            Ok(body) => respond(StatusCode::OK, body, protocol),
            Err(e) => error_response(&e, protocol),
        }
    }
    .instrument(span)
    .await;
    if origin {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    resp
}

/// Opens the tenants that have buckets, so that notifications not yet sent go out from the
/// start rather than from the tenant's next request.
fn start_notifications(app: &App, data_dir: &std::path::Path) {
    for t in tenants_with(app, data_dir, &["s3", "buckets.json"]) {
        if let Err(e) = app.tenants.get(&t).and_then(|s| s.objects()) {
            tracing::error!(account = %t.account, region = %t.region, error = ?e.message, "resuming the bucket notifications failed");
        }
    }
}

/// The tenants whose data directory holds `path`, the server's own first.
fn tenants_with(app: &App, data_dir: &std::path::Path, path: &[&str]) -> Vec<crate::auth::Tenant> {
    let has = |dir: &std::path::Path| path.iter().fold(dir.to_path_buf(), |d, p| d.join(p)).exists();
    let mut tenants = Vec::new();
    if has(data_dir) {
        tenants.push(app.tenants.default_tenant().tenant.clone());
    }
    for account in std::fs::read_dir(data_dir.join("tenants"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for region in std::fs::read_dir(account.path()).into_iter().flatten().flatten() {
            if has(&region.path()) {
                tenants.push(crate::auth::Tenant {
                    account: account.file_name().to_string_lossy().into_owned(),
                    region: region.file_name().to_string_lossy().into_owned(),
                });
            }
        }
    }
    tenants
}

/// Opens the tenants that have event source mappings, so that their mappings run from the
/// start rather than from the tenant's next request.
fn start_mappings(app: &App, data_dir: &std::path::Path) {
    let tenants = tenants_with(app, data_dir, &["connect", rheo_connect::catalog::FILE]);
    for t in tenants {
        if let Err(e) = app.tenants.get(&t).and_then(|s| s.mappings()) {
            tracing::error!(account = %t.account, region = %t.region, error = ?e.message, "starting the event source mappings failed");
        }
    }
}

/// Resumes the delivery streams of every tenant that has some: their buffered records are
/// delivered without waiting for a request.
fn start_delivery(app: &App, data_dir: &std::path::Path) {
    for t in tenants_with(app, data_dir, &["firehose", rheo_delivery::catalog::FILE]) {
        let default = t == app.tenants.default_tenant().tenant;
        if let Err(e) = app.tenants.get(&t).and_then(|s| s.delivery(&app.s3_external, default)) {
            tracing::error!(account = %t.account, region = %t.region, error = ?e.message, "starting the delivery streams failed");
        }
    }
}

/// A GET of an SNS signing certificate, `/SimpleNotificationService-<fingerprint>.pem` (the
/// SigningCertURL of SNS messages): its file name.
fn sns_certificate_name(req: &Request<Incoming>) -> Option<&str> {
    let name = req.uri().path().strip_prefix('/')?;
    (req.method() == Method::GET && name.starts_with("SimpleNotificationService-") && name.ends_with(".pem"))
        .then_some(name)
}

/// Serves an SNS signing certificate, unsigned as on AWS, from the open tenant it belongs to.
fn sns_certificate(app: &App, name: &str) -> Response<ResponseBody> {
    let found = app
        .tenants
        .open_states()
        .iter()
        .filter_map(|t| t.sns_if_open())
        .find_map(|sns| sns.certificate(name));
    match found {
        Some(pem) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/x-x509-ca-cert")
            .body(ResponseBody::full(pem))
            .unwrap_or_else(|_| Response::new(ResponseBody::full(Bytes::new()))),
        None => xml_error(StatusCode::NOT_FOUND, "NotFound", "The certificate does not exist."),
    }
}

/// Whether a request speaks the query protocol: a form post, or a GET with `Action=`.
fn is_query(req: &Request<Incoming>) -> bool {
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/x-www-form-urlencoded"));
    let get_action = req.method() == Method::GET
        && req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("Action=")));
    (form && req.method() == Method::POST) || get_action
}

/// The headers a browser may read from Kinesis responses (as AWS lists them).
const EXPOSED_HEADERS: &str = "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date";

/// A CORS preflight: allowed from any origin, for the method and headers asked, cached two
/// days; no signature needed (browsers send none).
fn preflight(req: &Request<Incoming>) -> Response<ResponseBody> {
    let mut resp = Response::new(ResponseBody::full(Vec::new()));
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    for (asked, allowed) in [
        (
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
        ),
        (
            header::ACCESS_CONTROL_REQUEST_METHOD,
            header::ACCESS_CONTROL_ALLOW_METHODS,
        ),
    ] {
        if let Some(v) = req.headers().get(asked) {
            h.insert(allowed, v.clone());
        }
    }
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("172800"));
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-requestid", id);
    }
    resp
}

/// A body in a Content-Type AWS's JSON front end does not read (kinesalite's connection tests
/// against AWS): 403 AccessDenied when the target cannot be split into service and operation,
/// else 404 `<UnknownOperationException/>`. `application/json` is read as AWS JSON 1.1 (AWS's
/// answers to it are not consistently recorded).
fn unreadable_content_type(headers: &http::HeaderMap, target: &str) -> Option<Response<ResponseBody>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    let readable = [
        Protocol::Json.content_type(),
        Protocol::Json10.content_type(),
        Protocol::Cbor.content_type(),
        "application/json",
    ]
    .contains(&content_type);
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if readable || !has_body {
        return None;
    }
    let named = target
        .split_once('.')
        .is_some_and(|(service, op)| !service.is_empty() && !op.is_empty());
    Some(if named {
        let mut resp = Response::new(ResponseBody::full(b"<UnknownOperationException/>\n".to_vec()));
        *resp.status_mut() = StatusCode::NOT_FOUND;
        ids(resp.headers_mut());
        resp
    } else {
        xml_error(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            "Unable to determine service/operation name to be authorized",
        )
    })
}

/// An error AWS answers in XML (requests its JSON front end cannot place).
fn xml_error(status: StatusCode, kind: &str, message: &str) -> Response<ResponseBody> {
    let body = format!("<{kind}>\n  <Message>{message}</Message>\n</{kind}>\n");
    let mut resp = Response::new(ResponseBody::full(body.into_bytes()));
    *resp.status_mut() = status;
    ids(resp.headers_mut());
    resp
}

/// `GET /health`: 200 `{"status":"ok"}`, or 503 `{"status":"degraded", ...}` while writes are
/// refused for lack of disk space or a shard's last append failed.
fn health(app: &App) -> Response<ResponseBody> {
    let all = app.tenants.health();
    let Some((_, disk)) = all.first() else {
        return respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            ResponseBody::full(Bytes::new()),
            Protocol::Json,
        );
    };
    let failing: Vec<String> = all
        .iter()
        .flat_map(|(t, h)| {
            h.failing_shards
                .iter()
                .map(move |s| format!("{}/{}/{s}", t.account, t.region))
        })
        .collect();
    let degraded = disk.disk_low || !failing.is_empty();
    let body = serde_json::json!({
        "status": if degraded { "degraded" } else { "ok" },
        "disk": {
            "free_bytes": disk.free_bytes,
            "min_free_bytes": disk.min_free_bytes,
            "writes_refused": disk.disk_low,
        },
        "failing_shards": failing,
    });
    let status = if degraded {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    respond(
        status,
        ResponseBody::full(serde_json::to_vec(&body).unwrap_or_default()),
        Protocol::Json,
    )
}

/// A request's headers as the signature covers them. HTTP/2 carries the host as the
/// :authority pseudo-header; clients sign it as `host` or, like the JavaScript SDK, as
/// `:authority`.
pub(crate) fn signed_headers(parts: &http::request::Parts) -> Vec<(&str, &str)> {
    let mut headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    if let Some(a) = parts.uri.authority().map(|a| a.as_str()) {
        if !parts.headers.contains_key(header::HOST) {
            headers.push(("host", a));
        }
        headers.push((":authority", a));
    }
    headers
}

pub(crate) fn request_parts<'a>(
    parts: &'a http::request::Parts,
    headers: &'a [(&'a str, &'a str)],
) -> RequestParts<'a> {
    RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers,
    }
}

async fn read_and_dispatch(
    app: &App,
    conn: &Conn,
    route: Route,
    req: Request<Incoming>,
    protocol: Protocol,
) -> Result<ResponseBody, ApiError> {
    let (parts, body) = req.into_parts();
    let headers = signed_headers(&parts);
    let signed = request_parts(&parts, &headers);
    let now = app.tenants.default_tenant().engine.now();
    // Admission comes after authentication: nothing of the body is read, and no budget is
    // taken, for a request whose signature is already known to fail.
    let service = route.service.signing_name();
    let pending = auth::authenticate_headers(&app.auth, &signed, now, conn.tls, service)?;
    let tenant = app.tenants.get(&pending.tenant)?;
    let (body, _charge) = read_body(app, conn, &tenant, &parts, body).await?;
    pending.verify_body(&signed, &body)?;
    let body = protocol.decode(body)?;
    if route.service == Service::Sqs {
        return sqs(conn, &tenant, &parts, route, &body).await;
    }
    if route.service == Service::Logs {
        let input = router::checked_input(route.service.model(), route.op, &body)?;
        let functions = tenant.functions()?;
        return crate::ops::logs::dispatch(&functions, &route.op.name, input)
            .await
            .map(ResponseBody::full);
    }
    if route.service == Service::Glue {
        let input = router::checked_input(route.service.model(), route.op, &body)?;
        let glue = tenant.glue()?;
        let now = tenant.engine.now();
        return crate::ops::glue::dispatch(&glue, &route.op.name, input, now)
            .await
            .map(ResponseBody::full);
    }
    if route.service == Service::Firehose {
        let input = router::checked_input(route.service.model(), route.op, &body)?;
        let default = tenant.tenant == app.tenants.default_tenant().tenant;
        let delivery = tenant.delivery(&app.s3_external, default)?;
        return crate::ops::firehose::dispatch(&delivery, &route.op.name, input)
            .await
            .map(ResponseBody::full);
    }
    let action = route.op.name.as_str();
    if route.service == Service::Kinesis && crate::ops::kinesis::channels::is_channel_action(action) {
        let input = router::checked_input(route.service.model(), route.op, &body)?;
        let default = tenant.tenant == app.tenants.default_tenant().tenant;
        let delivery = tenant.delivery(&app.s3_external, default)?;
        return crate::ops::kinesis::channels::dispatch(&delivery, action, input)
            .await
            .map(ResponseBody::full);
    }
    if route.service == Service::Kinesis && action == "DeleteStream" {
        refuse_deleting_channels_stream(&tenant, &body)?;
    }
    let fault = tenant.faults.for_action(action);
    if let Some(f) = &fault {
        if f.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
        }
        if !router::fails_per_record(action, f) && f.roll() {
            return Err(f.error(action));
        }
    }
    router::dispatch(&tenant, route.op, &body, fault.as_ref(), protocol).await
}

/// DeleteStream of a stream a channel reads: ResourceInUseException, as AWS (the channel
/// belongs to the tenant's delivery streams, which the engine does not know).
fn refuse_deleting_channels_stream(tenant: &TenantState, body: &[u8]) -> Result<(), ApiError> {
    let Some(delivery) = tenant.delivery_if_open() else {
        return Ok(());
    };
    let input: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let name = match (input.get("StreamName"), input.get("StreamARN")) {
        (Some(n), _) => n.as_str().unwrap_or_default(),
        (None, Some(arn)) => arn
            .as_str()
            .and_then(|a| a.rsplit_once(":stream/"))
            .map_or("", |(_, n)| n),
        _ => "",
    };
    if !name.is_empty() && delivery.channels_reading(name) > 0 {
        return Err(ApiError::new(
            "ResourceInUseException",
            format!(
                "Stream {name} under account {} has channels. Delete them first.",
                tenant.tenant.account
            ),
        ));
    }
    Ok(())
}

/// An SQS request, its body read and its signature verified.
async fn sqs(
    conn: &Conn,
    tenant: &TenantState,
    parts: &http::request::Parts,
    route: Route,
    body: &[u8],
) -> Result<ResponseBody, ApiError> {
    let input = router::checked_input(route.service.model(), route.op, body)?;
    let ctx = sqs_ctx(conn, tenant, parts)?;
    crate::ops::sqs::dispatch(&ctx, &route.op.name, input)
        .await
        .map(ResponseBody::full)
}

/// `scheme://host[:port]` as the client called the server.
pub(crate) fn base_url(conn: &Conn, parts: &http::request::Parts) -> String {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let scheme = if conn.tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// What an SQS handler knows of its request: the queues, the URL base the client called, the
/// trace header, the sender.
pub(crate) fn sqs_ctx(
    conn: &Conn,
    tenant: &TenantState,
    parts: &http::request::Parts,
) -> Result<crate::ops::sqs::Ctx, ApiError> {
    let trace_header = parts
        .headers
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(crate::ops::sqs::Ctx {
        sqs: tenant.sqs()?,
        base_url: base_url(conn, parts),
        trace_header,
        sender: tenant.tenant.account.clone(),
    })
}

/// Reads a request body, charging each piece as it arrives to the connection's, the tenant's
/// and the server's budgets (twice its size: the body and what is decoded from it). The
/// charges are held until the request is answered.
pub(crate) async fn read_body(
    app: &App,
    conn: &Conn,
    tenant: &TenantState,
    parts: &http::request::Parts,
    mut body: Incoming,
) -> Result<(Bytes, Vec<OwnedSemaphorePermit>), ApiError> {
    let max = app.options.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let deadline = tokio::time::Instant::now()
        .checked_add(app.options.read_timeout)
        .unwrap_or_else(tokio::time::Instant::now);
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut permits = Vec::new();
    let mut total = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(ApiError::serialization("The request body did not arrive in time.")),
            Ok(None) => break,
            Ok(Some(Err(_))) => return Err(ApiError::serialization("The request body could not be read.")),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        if data.is_empty() {
            continue;
        }
        total = total.saturating_add(data.len());
        if total > max {
            return Err(too_large(max));
        }
        let charge = u32::try_from(data.len().saturating_mul(2)).map_err(|_| too_large(max))?;
        for budget in [&conn.budget, &tenant.body_budget, &app.budget] {
            permits.push(admit(budget, charge, app.options.admission_wait).await?);
        }
        conn.activity.progressed();
        chunks.push(data);
    }
    let body = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut whole = Vec::with_capacity(total);
            for c in &chunks {
                whole.extend_from_slice(c);
            }
            Bytes::from(whole)
        }
    };
    Ok((body, permits))
}

/// Takes `n` bytes of a budget, waiting at most `wait`.
async fn admit(budget: &Arc<Semaphore>, n: u32, wait: Duration) -> Result<OwnedSemaphorePermit, ApiError> {
    if let Ok(p) = budget.clone().try_acquire_many_owned(n) {
        return Ok(p);
    }
    match tokio::time::timeout(wait, budget.clone().acquire_many_owned(n)).await {
        Ok(Ok(p)) => Ok(p),
        _ => Err(ApiError {
            kind: "ServiceUnavailable",
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: Some("The server is holding as many request bytes as it may; retry shortly.".into()),
            query_error: None,
        }),
    }
}

/// A request to `/_rheo/`: small JSON bodies, read whole after the caller is authorised.
///
/// - With an admin credential configured, the request must be signed by it (from any
///   address); it acts on the tenant named by the `account` and `region` query parameters, the
///   server's own by default.
/// - Without one, only loopback peers are served. With credentials configured, the request
///   needs a valid signature and acts on the signer's tenant; without, on the server's.
async fn admin(app: &App, conn: &Conn, req: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = req.into_parts();
    let refuse = |status: StatusCode, message: &str| {
        let body = serde_json::to_vec(&serde_json::json!({ "message": message })).unwrap_or_default();
        respond(status, ResponseBody::full(body), Protocol::Json)
    };
    let headers = signed_headers(&parts);
    let signed = request_parts(&parts, &headers);
    let now = app.tenants.default_tenant().engine.now();
    let pending = match &app.options.admin_credential {
        Some(cred) => {
            let cfg = AuthConfig {
                credentials: vec![cred.clone()],
                ..app.auth.clone()
            };
            match auth::authenticate_headers(&cfg, &signed, now, conn.tls, "kinesis") {
                Ok(p) => Some(p),
                Err(e) => return error_response(&e, Protocol::Json),
            }
        }
        None if !conn.peer.ip().is_loopback() => {
            return refuse(
                StatusCode::FORBIDDEN,
                "/_rheo/ is served only to loopback clients unless an admin credential is configured",
            );
        }
        None if app.auth.credentials.is_empty() => None,
        None => match auth::authenticate_headers(&app.auth, &signed, now, conn.tls, "kinesis") {
            Ok(p) => Some(p),
            Err(e) => return error_response(&e, Protocol::Json),
        },
    };
    let read = tokio::time::timeout(app.options.read_timeout, Limited::new(body, 1024 * 1024).collect());
    let Ok(Ok(body)) = read.await else {
        return refuse(StatusCode::BAD_REQUEST, "the body could not be read");
    };
    let body = body.to_bytes();
    if let Some(p) = &pending
        && let Err(e) = p.verify_body(&signed, &body)
    {
        return error_response(&e, Protocol::Json);
    }
    let tenant = match (&app.options.admin_credential, pending) {
        (Some(_), _) => {
            let default = &app.tenants.default_tenant().tenant;
            let named = |key: &str| {
                parts.uri.query().and_then(|q| {
                    q.split('&')
                        .filter_map(|kv| kv.split_once('='))
                        .find(|(k, _)| *k == key)
                        .map(|(_, v)| v.to_owned())
                })
            };
            let tenant = auth::Tenant {
                account: named("account").unwrap_or_else(|| default.account.clone()),
                region: named("region").unwrap_or_else(|| default.region.clone()),
            };
            let valid = app.auth.regions.contains(&tenant.region)
                && tenant.account.len() == 12
                && tenant.account.bytes().all(|b| b.is_ascii_digit());
            if !valid {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "account must be 12 digits and region one this server serves",
                );
            }
            app.tenants.get(&tenant)
        }
        (None, Some(p)) => app.tenants.get(&p.tenant),
        (None, None) => Ok(app.tenants.default_tenant().clone()),
    };
    let tenant = match tenant {
        Ok(t) => t,
        Err(e) => return error_response(&e, Protocol::Json),
    };
    let (status, body) = admin::handle(&tenant.engine, &tenant.faults, &parts.method, parts.uri.path(), &body);
    respond(status, body, Protocol::Json)
}

fn too_large(max: usize) -> ApiError {
    ApiError {
        kind: "SerializationException",
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: Some(format!("Request body exceeds the limit of {max} bytes.")),
        query_error: None,
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
    ids(h);
    resp
}

/// The two ids AWS puts on every response: `x-amzn-RequestId` and `x-amz-id-2` (base64 of 72
/// random bytes).
pub(crate) fn ids(h: &mut http::HeaderMap) {
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-requestid", id);
    }
    let mut raw = [0u8; 72];
    fastrand::fill(&mut raw);
    if let Ok(id2) = HeaderValue::from_str(&rheo_wire::encode_blob(&raw)) {
        h.insert("x-amz-id-2", id2);
    }
}

/// A request id in AWS's UUID shape: unique within the process (a counter) and across restarts
/// (a random part drawn at start).
pub(crate) fn request_id() -> String {
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
        Protocol::Json | Protocol::Json10 => rheo_wire::error::error_body(e.kind, e.message.as_deref()),
        Protocol::Cbor => rheo_wire::cbor::error_body(e.kind, e.message.as_deref()),
    };
    let mut resp = respond(e.status, ResponseBody::full(body), protocol);
    if let Ok(v) = HeaderValue::from_str(e.kind) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    if let Some(v) = e.query_error.as_deref().and_then(|q| HeaderValue::from_str(q).ok()) {
        resp.headers_mut().insert("x-amzn-query-error", v);
    }
    resp
}
