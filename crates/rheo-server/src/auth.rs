//! Who a request is from: its SigV4 signature, checked against the configured credentials,
//! picks the tenant (account and region) whose streams it sees.
//!
//! - With credentials configured, every Kinesis request must carry a valid signature (header
//!   or presigned) of a known access key, within AWS's 5-minute clock skew window. The key's
//!   account and the region of the signature's scope are the tenant.
//! - Without credentials (allowed on loopback, or with the explicit opt-out), any well-formed
//!   signature is accepted without checking it: the scope's region is the tenant's region, and
//!   an access key id of 12 digits names the account (as kinesis-mock and LocalStack do);
//!   otherwise the server's account.
//!
//! Unsigned requests are refused in both modes (MissingAuthenticationTokenException), as AWS
//! does. Each tenant has its own engine (`Tenants`), so accounts and regions never see each
//! other's streams.

use crate::error::ApiError;
use crate::faults::{FaultRule, Faults};
use rheo_engine::Engine;
use rheo_functions::{Functions, FunctionsConfig};
use rheo_queues::topics::{Sns, SnsConfig};
use rheo_queues::{Sqs, SqsConfig, SqsLimits};
use rheo_wire::sigv4::{self, RequestParts, SigError, Signature};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// A credential Rheo accepts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The account its requests act in; the server's account when absent.
    #[serde(default)]
    pub account_id: Option<String>,
}

impl Credential {
    /// `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:ACCOUNT_ID]`.
    pub fn parse_spec(spec: &str) -> Result<Credential, String> {
        let mut parts = spec.splitn(3, ':');
        let (Some(id), Some(secret)) = (parts.next(), parts.next()) else {
            return Err("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY[:ACCOUNT_ID]".into());
        };
        let c = Credential {
            access_key_id: id.to_owned(),
            secret_access_key: secret.to_owned(),
            account_id: parts.next().map(str::to_owned),
        };
        c.check()?;
        Ok(c)
    }

    pub fn check(&self) -> Result<(), String> {
        if self.access_key_id.is_empty() || self.secret_access_key.is_empty() {
            return Err("the access key id and the secret must not be empty".into());
        }
        if let Some(a) = &self.account_id
            && !is_account(a)
        {
            return Err(format!("account id must be 12 digits, got {a:?}"));
        }
        Ok(())
    }
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whom a request acts for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    pub account: String,
    pub region: String,
}

fn sig_error(e: SigError) -> ApiError {
    ApiError::new(e.name(), e.message())
}

/// Who may sign requests, and for which regions.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Verified credentials; none: any well-formed signature is accepted (see the module docs).
    pub credentials: Vec<Credential>,
    /// Regions a signature may be scoped to (the server's own is always among them).
    pub regions: Vec<String>,
    /// The server's account, for signatures that do not name one.
    pub account: String,
}

/// A request whose signature passed every check that does not need its body: what is left is
/// [`Pending::verify_body`], once the body has arrived.
#[derive(Debug)]
pub struct Pending {
    pub tenant: Tenant,
    /// The access key that signed the request.
    access_key: String,
    /// With credentials: the signature and the secret it must verify with.
    check: Option<(Signature, String)>,
    /// The signature covers the body (its hash is in the canonical request); otherwise it
    /// was made over `UNSIGNED-PAYLOAD`, which is accepted only over TLS.
    body_signed: bool,
}

/// The header that names the operation: it must be signed, or a captured request could be
/// replayed as another operation.
const TARGET_HEADER: &str = "x-amz-target";

/// Checks everything about a request's signature that its headers and query decide: the
/// signature's shape, its region, its key, its time, the headers it covers and how it covers
/// the payload. Runs before any of the body is read, so nothing is held for a request that is
/// going to be refused. `tls` says whether the request came over TLS.
/// `service` is the signing name the request's service expects (`kinesis`, `sqs`).
pub fn authenticate_headers(
    cfg: &AuthConfig,
    req: &RequestParts<'_>,
    now_ms: i64,
    tls: bool,
    service: &str,
) -> Result<Pending, ApiError> {
    let sig = sigv4::parse(req).map_err(sig_error)?;
    let region = &sig.scope.region;
    if !is_region(region) {
        return Err(sig_error(SigError::Incomplete(format!(
            "Credential should be scoped to a valid region, not '{region}'."
        ))));
    }
    if !cfg.regions.iter().any(|r| r == region) {
        return Err(sig_error(SigError::Invalid(format!(
            "Credential should be scoped to a valid region, not '{region}'. This server serves {}.",
            cfg.regions.join(", ")
        ))));
    }
    if cfg.credentials.is_empty() {
        let key = &sig.scope.access_key;
        let account = if is_account(key) {
            key.clone()
        } else {
            cfg.account.clone()
        };
        return Ok(Pending {
            access_key: sig.scope.access_key.clone(),
            tenant: Tenant {
                account,
                region: sig.scope.region,
            },
            check: None,
            body_signed: true,
        });
    }
    let Some(cred) = cfg.credentials.iter().find(|c| c.access_key_id == sig.scope.access_key) else {
        return Err(sig_error(SigError::UnknownKey));
    };
    if sig.scope.service != service {
        return Err(sig_error(SigError::Incomplete(format!(
            "Credential should be scoped to correct service: '{service}'."
        ))));
    }
    sigv4::check_time(&sig, now_ms).map_err(sig_error)?;
    let signed = |h: &str| sig.signed_headers.iter().any(|s| s == h);
    if !signed("host") && !signed(":authority") {
        return Err(sig_error(SigError::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        )));
    }
    let has_target = req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(TARGET_HEADER));
    if has_target && !signed(TARGET_HEADER) {
        return Err(sig_error(SigError::Incomplete(
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.".into(),
        )));
    }
    let declared = sigv4::declared_payload_hash(req, &sig);
    if service == "s3" {
        // S3 bodies stream: their hash, chunk signatures and checksums are checked as they
        // arrive (rheo-s3's CheckedBody), and S3 takes unsigned payloads over cleartext as AWS
        // does (docs/security.md).
        return Ok(Pending {
            access_key: sig.scope.access_key.clone(),
            tenant: Tenant {
                account: cred.account_id.clone().unwrap_or_else(|| cfg.account.clone()),
                region: sig.scope.region.clone(),
            },
            body_signed: false,
            check: Some((sig, cred.secret_access_key.clone())),
        });
    }
    if declared.as_deref().is_some_and(|d| d.starts_with("STREAMING-")) {
        return Err(sig_error(SigError::Invalid(
            "Streaming payload signatures (STREAMING-*) are not accepted by this service; sign the body's SHA-256."
                .into(),
        )));
    }
    let unsigned = declared.as_deref() == Some(sigv4::UNSIGNED_PAYLOAD);
    if unsigned && !tls && !sig.presigned {
        return Err(sig_error(SigError::Invalid(
            "UNSIGNED-PAYLOAD is accepted only over TLS: over cleartext the body could be replaced. Sign the body's SHA-256, or use https.".into(),
        )));
    }
    Ok(Pending {
        access_key: sig.scope.access_key.clone(),
        tenant: Tenant {
            account: cred.account_id.clone().unwrap_or_else(|| cfg.account.clone()),
            region: sig.scope.region.clone(),
        },
        body_signed: !unsigned || !tls,
        check: Some((sig, cred.secret_access_key.clone())),
    })
}

/// Checks an S3 presigned URL of signature version 2 (`AWSAccessKeyId`, `Expires`,
/// `Signature`): unexpired, and, with credentials, signed by a known key. Such URLs name no
/// region: they act in the server's own. `bucket` is the virtual-hosted bucket, if any.
pub fn authenticate_presigned_v2(
    cfg: &AuthConfig,
    req: &RequestParts<'_>,
    bucket: Option<&str>,
    now_ms: i64,
) -> Result<Pending, ApiError> {
    let Some(p) = rheo_wire::sigv2::parse(req.query) else {
        return Err(sig_error(SigError::Missing));
    };
    let region = cfg.regions.first().cloned().unwrap_or_default();
    if p.expires_s.saturating_mul(1000) < now_ms {
        return Err(ApiError::new("AccessDenied", "Request has expired".to_owned()));
    }
    let account = if cfg.credentials.is_empty() {
        if is_account(&p.access_key) {
            p.access_key.clone()
        } else {
            cfg.account.clone()
        }
    } else {
        let Some(cred) = cfg.credentials.iter().find(|c| c.access_key_id == p.access_key) else {
            return Err(sig_error(SigError::UnknownKey));
        };
        let to_sign =
            rheo_wire::sigv2::string_to_sign(req.method, req.path, req.query, bucket, req.headers, p.expires_s);
        if !rheo_wire::sigv2::verify(&cred.secret_access_key, &to_sign, &p.signature) {
            return Err(sig_error(SigError::Invalid(format!(
                "{}\n\nThe String-to-Sign should have been\n'{to_sign}'\n",
                sigv4::MISMATCH
            ))));
        }
        cred.account_id.clone().unwrap_or_else(|| cfg.account.clone())
    };
    Ok(Pending {
        access_key: p.access_key,
        tenant: Tenant { account, region },
        check: None,
        body_signed: false,
    })
}

impl Pending {
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// For S3: verifies the signature over the headers with the payload hash the request
    /// declares (its body is checked as it streams), and returns the chain of chunk
    /// signatures it starts (none without credentials).
    pub fn verify_declared(&self, req: &RequestParts<'_>) -> Result<Option<sigv4::ChunkSigner>, ApiError> {
        let Some((sig, secret)) = &self.check else {
            return Ok(None);
        };
        let declared = sigv4::declared_payload_hash(req, sig).ok_or_else(|| {
            ApiError::new(
                "InvalidRequest",
                "Missing required header for this request: x-amz-content-sha256".to_owned(),
            )
        })?;
        sigv4::verify(req, sig, secret, &declared).map_err(sig_error)?;
        Ok(Some(sigv4::ChunkSigner::new(secret, sig)))
    }

    /// Verifies the signature over the request and its body. A presigned request over
    /// cleartext verifies only with its body's hash.
    pub fn verify_body(&self, req: &RequestParts<'_>, body: &[u8]) -> Result<(), ApiError> {
        let Some((sig, secret)) = &self.check else {
            return Ok(());
        };
        let result = if self.body_signed {
            sigv4::verify(req, sig, secret, &sigv4::sha256_hex(body))
        } else {
            sigv4::verify_request(req, sig, secret, body)
        };
        result.map_err(sig_error)
    }
}

/// What the server keeps for one tenant: its engine, its fault rules and its share of the
/// request-body budget.
pub struct TenantState {
    pub tenant: Tenant,
    pub engine: Engine,
    /// The tenant's queues, opened on its first SQS request (in `<data>/sqs`).
    sqs: Mutex<Option<Sqs>>,
    /// The tenant's topics, opened on its first SNS request (in `<data>/sns`).
    sns: Mutex<Option<Sns>>,
    pub faults: Faults,
    /// Request-body bytes (charged twice, as in the global budget) this tenant may hold.
    pub body_budget: Arc<Semaphore>,
    /// When a request last used it (engine milliseconds).
    last_used_ms: AtomicI64,
    sqs_limits: SqsLimits,
    sqs_server_bytes: Arc<AtomicUsize>,
    /// Itself, for the services that call back into the tenant (SNS delivering to functions).
    me: std::sync::Weak<TenantState>,
    /// The tenant's functions, opened on its first Lambda request (in `<data>/lambda`).
    functions: Mutex<Option<Functions>>,
    /// The tenant's event source mappings (in `<data>/connect`), opened with its functions.
    mappings: Mutex<Option<rheo_connect::Mappings>>,
    functions_shared: Arc<FunctionsShared>,
    /// The tenant's buckets, opened on its first S3 request (in `<data>/s3`).
    objects: Mutex<Option<crate::s3::Objects>>,
    /// The tenant's delivery streams (in `<data>/firehose`), opened on first use.
    delivery: Mutex<Option<rheo_delivery::Delivery>>,
    /// The tenant's data catalog (in `<data>/glue`), opened on first use.
    glue: Mutex<Option<rheo_delivery::glue::Glue>>,
}

/// Limits on tenants.
#[derive(Debug, Clone)]
pub struct TenantLimits {
    /// Most tenants open at once besides the server's own.
    pub max_open: usize,
    /// A tenant unused this long, with nothing running in it and no fault rules, is closed
    /// (its engine stops; it reopens from its data on the next request).
    pub idle_ms: i64,
    /// Request-body bytes one tenant may hold (charged as in the global budget).
    pub body_bytes: usize,
    /// Limits on each tenant's queues.
    pub sqs: SqsLimits,
    /// The message bytes all tenants' queues hold, counted against `sqs.server_stored_bytes`.
    pub sqs_server_bytes: Arc<AtomicUsize>,
    /// What every tenant's functions share.
    pub functions: Arc<FunctionsShared>,
}

/// The settings and runtime every tenant's functions share.
pub struct FunctionsShared {
    pub python: Arc<rheo_functions::runtime::Python>,
    /// What functions call this server at (`AWS_ENDPOINT_URL`).
    pub endpoint_url: String,
    pub options: crate::server::FunctionOptions,
    /// The configured credentials: functions get one of their account's.
    pub credentials: Vec<Credential>,
    pub server_account: String,
}

impl std::fmt::Debug for FunctionsShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionsShared")
            .field("endpoint_url", &self.endpoint_url)
            .finish()
    }
}

/// One engine per tenant: the server's own (its configured account and region), and others
/// opened on first use, at most [`TenantLimits::max_open`] at once. A tenant's directory is
/// made only when it first writes (see `Engine::sibling`).
pub struct Tenants {
    default: Arc<TenantState>,
    others: Mutex<HashMap<Tenant, Arc<TenantState>>>,
    limits: TenantLimits,
    /// Fault rules a tenant starts with.
    initial_faults: Vec<FaultRule>,
    last_sweep_ms: AtomicI64,
}

impl Tenants {
    pub fn new(default: Engine, limits: TenantLimits, initial_faults: Vec<FaultRule>) -> Tenants {
        let cfg = default.config();
        let tenant = Tenant {
            account: cfg.account.clone(),
            region: cfg.region.clone(),
        };
        let state = Arc::new_cyclic(|me| TenantState::new(tenant, default, &limits, &initial_faults, me.clone()));
        Tenants {
            default: state,
            others: Mutex::default(),
            limits,
            initial_faults,
            last_sweep_ms: AtomicI64::new(i64::MIN),
        }
    }

    pub fn default_tenant(&self) -> &Arc<TenantState> {
        &self.default
    }

    /// The tenant's state, opening it if needed.
    pub fn get(&self, t: &Tenant) -> Result<Arc<TenantState>, ApiError> {
        let now = self.default.engine.now();
        if *t == self.default.tenant {
            self.default.touch(now);
            return Ok(self.default.clone());
        }
        let mut others = self.others.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = others.get(t) {
            s.touch(now);
            return Ok(s.clone());
        }
        if self.last_sweep_ms.load(Ordering::Relaxed) < now.saturating_sub(SWEEP_MS)
            || others.len() >= self.limits.max_open
        {
            self.last_sweep_ms.store(now, Ordering::Relaxed);
            self.sweep(&mut others, now);
        }
        if others.len() >= self.limits.max_open {
            tracing::warn!(account = %t.account, region = %t.region, open = others.len(), "refusing a tenant: too many open");
            return Err(ApiError::new(
                "LimitExceededException",
                format!(
                    "This server has {} accounts and regions open, its limit (max-tenants); try again once some are idle.",
                    others.len()
                ),
            ));
        }
        let engine = self.default.engine.sibling(&t.account, &t.region).map_err(|e| {
            tracing::error!(error = %e, account = %t.account, region = %t.region, "opening a tenant failed");
            ApiError::internal()
        })?;
        tracing::info!(account = %t.account, region = %t.region, "serving a new account and region");
        let state =
            Arc::new_cyclic(|me| TenantState::new(t.clone(), engine, &self.limits, &self.initial_faults, me.clone()));
        state.touch(now);
        others.insert(t.clone(), state.clone());
        Ok(state)
    }

    /// Every open tenant, the server's own first.
    pub fn open_states(&self) -> Vec<Arc<TenantState>> {
        let mut out = vec![self.default.clone()];
        out.extend(self.others.lock().unwrap_or_else(|p| p.into_inner()).values().cloned());
        out
    }

    /// The tenant's state if it is open now (the server's own always is); never opens one.
    pub fn get_open(&self, t: &Tenant) -> Option<Arc<TenantState>> {
        if *t == self.default.tenant {
            return Some(self.default.clone());
        }
        self.others.lock().unwrap_or_else(|p| p.into_inner()).get(t).cloned()
    }

    /// Every open tenant's engine health, the server's own first.
    pub fn health(&self) -> Vec<(Tenant, rheo_engine::Health)> {
        let mut out = vec![(self.default.tenant.clone(), self.default.engine.health())];
        let others: Vec<Arc<TenantState>> = self
            .others
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        out.extend(others.iter().map(|s| (s.tenant.clone(), s.engine.health())));
        out
    }

    /// Closes tenants that are idle: unused for the idle time, with no request, subscription
    /// or other holder of their engine, and their fault rules as they started.
    fn sweep(&self, others: &mut HashMap<Tenant, Arc<TenantState>>, now: i64) {
        let idle_before = now.saturating_sub(self.limits.idle_ms);
        others.retain(|t, s| {
            let idle = s.last_used_ms.load(Ordering::Relaxed) <= idle_before
                && Arc::strong_count(s) == 1
                && s.engine.is_unshared()
                && *s.faults.rules() == self.initial_faults;
            if idle {
                tracing::info!(account = %t.account, region = %t.region, "closing an idle account and region");
            }
            !idle
        });
    }
}

/// How often idle tenants are looked for, at most.
const SWEEP_MS: i64 = 10_000;

impl TenantState {
    fn new(
        tenant: Tenant,
        engine: Engine,
        limits: &TenantLimits,
        faults: &[FaultRule],
        me: std::sync::Weak<TenantState>,
    ) -> TenantState {
        TenantState {
            me,
            tenant,
            engine,
            sqs: Mutex::new(None),
            sns: Mutex::new(None),
            faults: Faults::new(faults.to_vec()),
            body_budget: Arc::new(Semaphore::new(limits.body_bytes)),
            last_used_ms: AtomicI64::new(i64::MIN),
            sqs_limits: limits.sqs,
            sqs_server_bytes: limits.sqs_server_bytes.clone(),
            functions: Mutex::new(None),
            mappings: Mutex::new(None),
            functions_shared: limits.functions.clone(),
            objects: Mutex::new(None),
            delivery: Mutex::new(None),
            glue: Mutex::new(None),
        }
    }

    /// The tenant's SQS service, opened (from its directory beside the engine's) on first
    /// use.
    pub fn sqs(&self) -> Result<Sqs, ApiError> {
        let mut slot = self.sqs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let cfg = self.engine.config();
        let config = SqsConfig {
            data_dir: cfg.data_dir.join("sqs"),
            account: self.tenant.account.clone(),
            region: self.tenant.region.clone(),
            log: cfg.log,
            limits: self.sqs_limits,
            server_bytes: self.sqs_server_bytes.clone(),
        };
        let sqs = Sqs::open(config, self.engine.clock(), self.engine.disk()).map_err(|e| {
            tracing::error!(error = %e, account = %self.tenant.account, region = %self.tenant.region, "opening the queues failed");
            ApiError::internal()
        })?;
        *slot = Some(sqs.clone());
        Ok(sqs)
    }

    /// The tenant's functions, opened on first use (in `<data>/lambda`).
    pub fn functions(self: &Arc<Self>) -> Result<Functions, ApiError> {
        let mut slot = self.functions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = slot.as_ref() {
            return Ok(f.clone());
        }
        let shared = &self.functions_shared;
        let account = &self.tenant.account;
        let credentials = shared
            .credentials
            .iter()
            .find(|c| c.account_id.as_deref().unwrap_or(&shared.server_account) == account)
            .map(|c| (c.access_key_id.clone(), c.secret_access_key.clone()))
            .unwrap_or_else(|| ("rheo-function".into(), "rheo-function".into()));
        let config = FunctionsConfig {
            data_dir: self.engine.config().data_dir.join("lambda"),
            account: account.clone(),
            region: self.tenant.region.clone(),
            endpoint_url: shared.endpoint_url.clone(),
            credentials,
            python: shared.python.clone(),
            max_processes: shared.options.max_processes,
            idle: shared.options.idle,
            retry_delays: shared.options.retry_delays.clone(),
        };
        let functions = Functions::open(config, self.engine.clock(), self.engine.disk()).map_err(|e| {
            tracing::error!(error = %e, account = %self.tenant.account, region = %self.tenant.region, "opening the functions failed");
            ApiError::internal()
        })?;
        functions.set_destinations(Arc::new(crate::destinations::TenantDestinations::new(self)));
        *slot = Some(functions.clone());
        Ok(functions)
    }

    /// The tenant's event source mappings, opened on first use; their tasks start then.
    pub fn mappings(self: &Arc<Self>) -> Result<rheo_connect::Mappings, ApiError> {
        let functions = self.functions()?;
        let sqs = self.sqs()?;
        let mut slot = self.mappings.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let config = rheo_connect::MappingsConfig {
            data_dir: self.engine.config().data_dir.join("connect"),
            account: self.tenant.account.clone(),
            region: self.tenant.region.clone(),
        };
        let mappings = rheo_connect::Mappings::open(
            config,
            self.engine.clock(),
            self.engine.disk(),
            self.engine.clone(),
            sqs,
            functions,
            Arc::new(crate::destinations::TenantDestinations::new(self)),
        )
        .map_err(|e| {
            tracing::error!(error = %e, account = %self.tenant.account, region = %self.tenant.region, "opening the event source mappings failed");
            ApiError::internal()
        })?;
        *slot = Some(mappings.clone());
        Ok(mappings)
    }

    /// The tenant's buckets, opened on first use; their notifications resume then.
    pub(crate) fn objects(self: &Arc<Self>) -> Result<crate::s3::Objects, ApiError> {
        let mut slot = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = slot.as_ref() {
            return Ok(o.clone());
        }
        let o = crate::s3::Objects::open(self)?;
        *slot = Some(o.clone());
        Ok(o)
    }

    /// The tenant's delivery streams, opened on first use; their workers start then.
    /// `externals`: the server's external buckets, which only its own account reaches.
    pub(crate) fn delivery(
        self: &Arc<Self>,
        externals: &crate::s3::Externals,
        default_tenant: bool,
    ) -> Result<rheo_delivery::Delivery, ApiError> {
        let mut slot = self.delivery.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = slot.as_ref() {
            return Ok(d.clone());
        }
        let none = crate::s3::Externals::default();
        let glue = self.glue()?;
        let d = crate::delivery::open(self, if default_tenant { externals } else { &none }, glue).map_err(|e| {
            tracing::error!(error = %e, account = %self.tenant.account, region = %self.tenant.region, "opening the delivery streams failed");
            ApiError::internal()
        })?;
        *slot = Some(d.clone());
        Ok(d)
    }

    /// The tenant's delivery streams if they are open (they are, from the start, wherever some
    /// exist); never opens them.
    pub(crate) fn delivery_if_open(&self) -> Option<rheo_delivery::Delivery> {
        self.delivery.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The tenant's data catalog, opened on first use.
    pub(crate) fn glue(&self) -> Result<rheo_delivery::glue::Glue, ApiError> {
        let mut slot = self.glue.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = slot.as_ref() {
            return Ok(g.clone());
        }
        let dir = self.engine.config().data_dir.join("glue");
        let g = rheo_delivery::glue::Glue::open(self.engine.disk(), dir, self.tenant.account.clone()).map_err(|e| {
            tracing::error!(error = %e, account = %self.tenant.account, region = %self.tenant.region, "opening the data catalog failed");
            ApiError::internal()
        })?;
        *slot = Some(g.clone());
        Ok(g)
    }

    /// The tenant's SNS service if a request opened it; never opens it.
    pub fn sns_if_open(&self) -> Option<Sns> {
        self.sns.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The tenant's SNS service, opened on first use beside its queues.
    pub fn sns(&self) -> Result<Sns, ApiError> {
        let sqs = self.sqs()?;
        let mut slot = self.sns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let config = SnsConfig {
            data_dir: self.engine.config().data_dir.join("sns"),
            account: self.tenant.account.clone(),
            region: self.tenant.region.clone(),
        };
        let sns = Sns::open(config, self.engine.clock(), self.engine.disk(), sqs).map_err(|e| {
            tracing::error!(error = %e, account = %self.tenant.account, region = %self.tenant.region, "opening the topics failed");
            ApiError::internal()
        })?;
        sns.set_function_sink(Arc::new(crate::destinations::SnsToFunctions(self.me.clone())));
        *slot = Some(sns.clone());
        Ok(sns)
    }

    fn touch(&self, now: i64) {
        self.last_used_ms.fetch_max(now, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_specs_parse() {
        let c = Credential::parse_spec("AKID:se:cr:et").unwrap_err();
        assert!(c.contains("12 digits"), "{c}");
        let c = Credential::parse_spec("AKID:secret:111111111111").unwrap();
        assert_eq!(c.account_id.as_deref(), Some("111111111111"));
        assert_eq!(Credential::parse_spec("AKID:secret").unwrap().account_id, None);
        assert!(Credential::parse_spec("AKID").is_err());
        assert!(Credential::parse_spec(":secret").is_err());
    }
}
