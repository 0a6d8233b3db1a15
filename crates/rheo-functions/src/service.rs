//! One tenant's functions: their definitions (durable, in the catalog), their state (Pending
//! until their runtime is ready, then Active, or Failed with a reason), their pools of
//! processes, and invocation.

use crate::catalog::{CatalogFile, CodeStore, EventInvokeConfig, FunctionDef};
use crate::error::{FunctionError, Result};
use crate::instance::{Failure, Invocation, Outcome, Spawn};
use crate::logs::Logs;
use crate::pending::{self, PendingEvent};
use crate::pool::Pool;
use crate::runtime::{Launch, Python, launch_for};
use bytes::Bytes;
use rheo_log::Disk;
use rheo_types::clock::Clock;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Clone)]
pub struct FunctionsConfig {
    /// The service's directory (`<tenant data>/lambda`).
    pub data_dir: PathBuf,
    pub account: String,
    pub region: String,
    /// What functions get as `AWS_ENDPOINT_URL`: this server.
    pub endpoint_url: String,
    /// The credentials functions get (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
    pub credentials: (String, String),
    pub python: Arc<Python>,
    /// Processes one function may run at once (without reserved concurrency).
    pub max_processes: usize,
    /// A process idle this long is stopped.
    pub idle: Duration,
    /// The waits before an asynchronous invocation's retries (Lambda's are about 1 and 2
    /// minutes).
    pub retry_delays: Vec<Duration>,
}

/// A function's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Pending,
    Active,
    Failed { reason: String, code: &'static str },
}

/// A function as the API shows it.
#[derive(Debug, Clone)]
pub struct FunctionView {
    pub def: FunctionDef,
    pub arn: String,
    pub state: State,
}

/// CreateFunction's request, checked for types by the model.
#[derive(Debug, Clone, Default)]
pub struct NewFunction {
    pub name: String,
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: String,
    pub description: Option<String>,
    pub timeout_s: Option<u32>,
    pub memory_mb: Option<u32>,
    pub environment: Option<BTreeMap<String, String>>,
    pub zip: Option<Vec<u8>>,
    pub tags: BTreeMap<String, String>,
    pub architecture: Option<String>,
    pub ephemeral_storage_mb: Option<u32>,
    pub dead_letter_target: Option<String>,
}

/// UpdateFunctionConfiguration's changes: what is given replaces what was.
#[derive(Debug, Clone, Default)]
pub struct ConfigChanges {
    pub runtime: Option<String>,
    pub handler: Option<String>,
    pub role: Option<String>,
    pub description: Option<String>,
    pub timeout_s: Option<u32>,
    pub memory_mb: Option<u32>,
    pub environment: Option<BTreeMap<String, String>>,
    pub ephemeral_storage_mb: Option<u32>,
    pub dead_letter_target: Option<Option<String>>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeKind {
    RequestResponse,
    Event,
    DryRun,
}

/// Invoke's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoked {
    pub status: u16,
    pub payload: Bytes,
    /// `Unhandled` when the function failed.
    pub function_error: Option<String>,
    /// The base64 of the invocation's last 4 KB of log (LogType=Tail).
    pub log_result: Option<String>,
    pub executed_version: &'static str,
}

/// Where asynchronous invocations' results go (OnSuccess and OnFailure destinations,
/// dead-letter queues): an SQS queue, an SNS topic or a function, by ARN.
pub trait Destinations: Send + Sync + 'static {
    fn deliver(
        &self,
        arn: String,
        body: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<(), String>> + Send>>;
}

struct Inner {
    config: FunctionsConfig,
    clock: Arc<dyn Clock>,
    disk: Arc<dyn Disk>,
    code: CodeStore,
    /// Held while the catalog is changed and saved.
    catalog: Mutex<CatalogFile>,
    states: Mutex<HashMap<String, State>>,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    logs: Logs,
    destinations: Mutex<Option<Arc<dyn Destinations>>>,
    /// Packages stored for a change not yet in the catalog: never collected.
    pending: Mutex<Vec<String>>,
    /// Serialises unpacking (two cold starts of one package unpack it once).
    unpacking: tokio::sync::Mutex<()>,
}

/// One tenant's functions. Cheap to clone.
#[derive(Clone)]
pub struct Functions {
    inner: Arc<Inner>,
}

/// The most an Invoke request may carry: 6 MB synchronously, 1 MB asynchronously.
pub const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
pub const MAX_ASYNC_PAYLOAD: usize = 1024 * 1024;

/// Environment variables functions may not set (Lambda's reserved keys).
const RESERVED_KEYS: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

impl Functions {
    /// Opens (or creates) the service in `config.data_dir`; functions whose runtime needs
    /// preparing are Pending until it is ready.
    pub fn open(mut config: FunctionsConfig, clock: Arc<dyn Clock>, disk: Arc<dyn Disk>) -> std::io::Result<Functions> {
        // Processes run in their code's directory: every path they are given is absolute.
        config.data_dir = std::path::absolute(&config.data_dir)?;
        disk.create_dir_all(&config.data_dir)?;
        let catalog = CatalogFile::load(&*disk, &config.data_dir)?;
        let code = CodeStore::new(config.data_dir.join("code"));
        let f = Functions {
            inner: Arc::new(Inner {
                config,
                clock,
                disk,
                code,
                catalog: Mutex::new(catalog),
                states: Mutex::default(),
                pools: Mutex::default(),
                logs: Logs::default(),
                destinations: Mutex::default(),
                pending: Mutex::default(),
                unpacking: tokio::sync::Mutex::new(()),
            }),
        };
        // Unpacked packages no function names are removed here, at open, when no process of
        // this server can be running in them.
        f.collect_code(true);
        let defs: Vec<FunctionDef> = f.catalog().functions.values().cloned().collect();
        for def in defs {
            f.prepare(&def);
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            // Asynchronous invocations acknowledged before a restart run now.
            for event in pending::load_all(&*f.inner.disk, &f.inner.config.data_dir) {
                let me = f.clone();
                tokio::spawn(async move { me.run_event(event).await });
            }
            let weak = Arc::downgrade(&f.inner);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    let Some(inner) = weak.upgrade() else { return };
                    let pools: Vec<Arc<Pool>> = inner
                        .pools
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .values()
                        .cloned()
                        .collect();
                    for p in pools {
                        p.reap(inner.config.idle);
                    }
                }
            });
        }
        Ok(f)
    }

    /// Sets where asynchronous results go.
    pub fn set_destinations(&self, d: Arc<dyn Destinations>) {
        *self.inner.destinations.lock().unwrap_or_else(|p| p.into_inner()) = Some(d);
    }

    pub fn logs(&self) -> &Logs {
        &self.inner.logs
    }

    pub fn account(&self) -> &str {
        &self.inner.config.account
    }

    /// The URL functions call this server at.
    pub fn endpoint_url(&self) -> &str {
        &self.inner.config.endpoint_url
    }

    pub fn region(&self) -> &str {
        &self.inner.config.region
    }

    fn catalog(&self) -> MutexGuard<'_, CatalogFile> {
        self.inner.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.inner.config.region, self.inner.config.account
        )
    }

    /// The function a FunctionName names (a name, `ACCOUNT:function:NAME` or an ARN, with an
    /// optional `:QUALIFIER`), and that qualifier.
    pub fn resolve(&self, given: &str) -> Result<(String, Option<String>)> {
        let not_found = || self.not_found(given);
        let parts: Vec<&str> = given.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, q] => (*name, Some(*q)),
            [account, "function", name] | [account, "function", name, _] => {
                if *account != self.inner.config.account {
                    return Err(not_found());
                }
                (*name, parts.get(3).copied())
            }
            ["arn", _, "lambda", region, account, "function", name, rest @ ..] if rest.len() <= 1 => {
                if *region != self.inner.config.region || *account != self.inner.config.account {
                    return Err(not_found());
                }
                (*name, rest.first().copied())
            }
            _ => return Err(not_found()),
        };
        Ok((name.to_owned(), qualifier.map(str::to_owned)))
    }

    fn view(&self, def: FunctionDef) -> FunctionView {
        let state = self
            .inner
            .states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&def.name)
            .cloned()
            .unwrap_or(State::Pending);
        FunctionView {
            arn: self.function_arn(&def.name),
            def,
            state,
        }
    }

    fn def(&self, name: &str) -> Result<FunctionDef> {
        self.catalog()
            .functions
            .get(name)
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    /// Makes the function's runtime ready: at once for a bootstrap, in the background for
    /// Python (Pending meanwhile).
    fn prepare(&self, def: &FunctionDef) {
        let set = |s: State| {
            self.inner
                .states
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(def.name.clone(), s);
        };
        match launch_for(&def.runtime) {
            Ok(Launch::Bootstrap) => set(State::Active),
            Ok(Launch::Python) => {
                set(State::Pending);
                let (me, name, revision) = (self.clone(), def.name.clone(), def.revision_id.clone());
                let python = self.inner.config.python.clone();
                let ready = move || {
                    let state = match python.interpreter() {
                        Ok(_) => State::Active,
                        Err(reason) => State::Failed {
                            reason: format!("The Python runtime could not be prepared: {reason}"),
                            code: "InternalError",
                        },
                    };
                    // Only if the function was not changed meanwhile.
                    if me
                        .catalog()
                        .functions
                        .get(&name)
                        .is_some_and(|d| d.revision_id == revision)
                    {
                        me.inner
                            .states
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(name, state);
                    }
                };
                if tokio::runtime::Handle::try_current().is_ok() {
                    tokio::task::spawn_blocking(ready);
                } else {
                    ready();
                }
            }
            Err(e) => set(State::Failed {
                reason: e.to_string(),
                code: "InvalidRuntime",
            }),
        }
    }

    fn not_found(&self, name: &str) -> FunctionError {
        FunctionError::NotFound(format!("Function not found: {}", self.function_arn(name)))
    }

    /// Saves the catalog with one function changed by `change` (ResourceNotFoundException if
    /// there is none of that name).
    fn change_function<T>(&self, name: &str, change: impl FnOnce(&mut FunctionDef) -> Result<T>) -> Result<T> {
        self.change(|c| change(c.functions.get_mut(name).ok_or_else(|| self.not_found(name))?))
    }

    /// Saves the catalog as changed by `change`; nothing changes if the save fails.
    fn change<T>(&self, change: impl FnOnce(&mut CatalogFile) -> Result<T>) -> Result<T> {
        let mut g = self.catalog();
        let mut next = g.clone();
        let out = change(&mut next)?;
        let (disk, dir) = (self.inner.disk.clone(), self.inner.config.data_dir.clone());
        off_worker(|| next.save(&*disk, &dir))
            .map_err(|e| FunctionError::Service(format!("saving the functions' catalog: {e}")))?;
        *g = next;
        Ok(out)
    }

    fn retire_pool(&self, name: &str) {
        self.inner.pools.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
    }

    /// CreateFunction.
    pub async fn create(&self, req: NewFunction) -> Result<FunctionView> {
        let runtime = req.runtime.clone().ok_or_else(|| {
            FunctionError::InvalidParameter(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages.".into(),
            )
        })?;
        let handler = match launch_for(&runtime)? {
            Launch::Python => req.handler.clone().ok_or_else(|| {
                FunctionError::InvalidParameter(
                    "Runtime and Handler are mandatory parameters for functions created with deployment packages."
                        .into(),
                )
            })?,
            Launch::Bootstrap => req.handler.clone().unwrap_or_default(),
        };
        let env = req.environment.clone().unwrap_or_default();
        check_environment(&env)?;
        let zip = req
            .zip
            .as_deref()
            .ok_or_else(|| FunctionError::InvalidParameter("Please provide a source for function code.".into()))?;
        let code = self.store_code(zip)?;
        let sha = code.sha.clone();
        let now = self.now();
        let def = FunctionDef {
            name: req.name.clone(),
            runtime,
            handler,
            role: req.role.clone(),
            description: req.description.clone().unwrap_or_default(),
            timeout_s: req.timeout_s.unwrap_or(3),
            memory_mb: req.memory_mb.unwrap_or(128),
            environment: env,
            architecture: req.architecture.clone().unwrap_or_else(|| "x86_64".into()),
            ephemeral_storage_mb: req.ephemeral_storage_mb.unwrap_or(512),
            code_sha: code.sha,
            code_sha256: code.sha256_base64,
            code_size: code.size,
            revision_id: new_uuid(),
            last_modified_ms: now,
            tags: req.tags.clone(),
            reserved_concurrency: None,
            dead_letter_target: req.dead_letter_target.clone(),
            event_invoke: None,
        };
        let arn = self.function_arn(&def.name);
        let created = self.change(|c| {
            if c.functions.contains_key(&def.name) {
                return Err(FunctionError::Conflict(format!("Function already exist: {}", def.name)));
            }
            c.functions.insert(def.name.clone(), def.clone());
            Ok(())
        });
        self.done_storing(&sha);
        created?;
        tracing::info!(function = %arn, "created a function");
        self.prepare(&def);
        Ok(self.view(def))
    }

    pub fn get(&self, name: &str) -> Result<FunctionView> {
        Ok(self.view(self.def(name)?))
    }

    /// ListFunctions: up to `max` (1–50) after the `marker` (a name).
    pub fn list(&self, marker: Option<&str>, max: usize) -> (Vec<FunctionView>, Option<String>) {
        let defs: Vec<FunctionDef> = self
            .catalog()
            .functions
            .values()
            .filter(|d| marker.is_none_or(|m| d.name.as_str() > m))
            .take(max + 1)
            .cloned()
            .collect();
        let next = (defs.len() > max).then(|| defs[max - 1].name.clone());
        (defs.into_iter().take(max).map(|d| self.view(d)).collect(), next)
    }

    pub async fn delete(&self, name: &str) -> Result<()> {
        self.change(|c| c.functions.remove(name).map(|_| ()).ok_or_else(|| self.not_found(name)))?;
        self.retire_pool(name);
        self.inner.states.lock().unwrap_or_else(|p| p.into_inner()).remove(name);
        self.collect_code(false);
        Ok(())
    }

    /// Removes the packages no function names and no change in progress stored; their
    /// unpacked directories only when `dirs` (at open: a retired revision's processes may
    /// still run in theirs).
    fn collect_code(&self, dirs: bool) {
        let mut keep: Vec<String> = self.catalog().functions.values().map(|d| d.code_sha.clone()).collect();
        keep.extend(
            self.inner
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
        self.inner.code.collect(&keep, dirs);
    }

    /// Stores a package for a change, kept from collection until `done_storing`.
    fn store_code(&self, zip: &[u8]) -> Result<crate::catalog::StoredCode> {
        let code = off_worker(|| self.inner.code.store(zip))?;
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(code.sha.clone());
        Ok(code)
    }

    fn done_storing(&self, sha: &str) {
        let mut pending = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = pending.iter().position(|p| p == sha) {
            pending.swap_remove(i);
        }
    }

    fn check_revision(def: &FunctionDef, revision_id: Option<&str>) -> Result<()> {
        match revision_id {
            Some(r) if r != def.revision_id => Err(FunctionError::InvalidParameter(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
            )),
            _ => Ok(()),
        }
    }

    /// UpdateFunctionCode.
    pub async fn update_code(&self, name: &str, zip: &[u8], revision_id: Option<&str>) -> Result<FunctionView> {
        Self::check_revision(&self.def(name)?, revision_id)?;
        let code = self.store_code(zip)?;
        let now = self.now();
        let changed = self.change_function(name, |d| {
            d.code_sha = code.sha.clone();
            d.code_sha256 = code.sha256_base64.clone();
            d.code_size = code.size;
            d.revision_id = new_uuid();
            d.last_modified_ms = now;
            Ok(d.clone())
        });
        self.done_storing(&code.sha);
        let def = changed?;
        self.retire_pool(name);
        self.collect_code(false);
        Ok(self.view(def))
    }

    /// UpdateFunctionConfiguration.
    pub async fn update_configuration(&self, name: &str, ch: ConfigChanges) -> Result<FunctionView> {
        Self::check_revision(&self.def(name)?, ch.revision_id.as_deref())?;
        if let Some(r) = &ch.runtime {
            launch_for(r)?;
        }
        if let Some(env) = &ch.environment {
            check_environment(env)?;
        }
        let now = self.now();
        let def = self.change_function(name, |d| {
            if let Some(v) = ch.runtime {
                d.runtime = v;
            }
            if let Some(v) = ch.handler {
                d.handler = v;
            }
            if let Some(v) = ch.role {
                d.role = v;
            }
            if let Some(v) = ch.description {
                d.description = v;
            }
            if let Some(v) = ch.timeout_s {
                d.timeout_s = v;
            }
            if let Some(v) = ch.memory_mb {
                d.memory_mb = v;
            }
            if let Some(v) = ch.environment {
                d.environment = v;
            }
            if let Some(v) = ch.ephemeral_storage_mb {
                d.ephemeral_storage_mb = v;
            }
            if let Some(v) = ch.dead_letter_target {
                d.dead_letter_target = v;
            }
            d.revision_id = new_uuid();
            d.last_modified_ms = now;
            Ok(d.clone())
        })?;
        self.retire_pool(name);
        self.prepare(&def);
        Ok(self.view(def))
    }

    /// PutFunctionConcurrency (`Some`) and DeleteFunctionConcurrency (`None`).
    pub fn set_concurrency(&self, name: &str, reserved: Option<u32>) -> Result<()> {
        self.change_function(name, |d| {
            d.reserved_concurrency = reserved;
            Ok(())
        })?;
        self.retire_pool(name);
        Ok(())
    }

    /// Put/Update/DeleteFunctionEventInvokeConfig. `merge`: Update keeps what is not given.
    pub fn set_event_invoke(
        &self,
        name: &str,
        config: Option<EventInvokeConfig>,
        merge: bool,
    ) -> Result<Option<EventInvokeConfig>> {
        let now = self.now();
        self.change_function(name, |d| {
            d.event_invoke = match (config, merge, d.event_invoke.take()) {
                (None, _, _) => None,
                (Some(new), true, Some(old)) => Some(EventInvokeConfig {
                    maximum_retry_attempts: new.maximum_retry_attempts.or(old.maximum_retry_attempts),
                    maximum_event_age_s: new.maximum_event_age_s.or(old.maximum_event_age_s),
                    on_success: new.on_success.or(old.on_success),
                    on_failure: new.on_failure.or(old.on_failure),
                    last_modified_ms: now,
                }),
                (Some(new), _, _) => Some(EventInvokeConfig {
                    last_modified_ms: now,
                    ..new
                }),
            };
            Ok(d.event_invoke.clone())
        })
    }

    /// TagResource and UntagResource.
    pub fn tag(&self, name: &str, add: BTreeMap<String, String>, remove: &[String]) -> Result<()> {
        self.change_function(name, |d| {
            d.tags.extend(add);
            for k in remove {
                d.tags.remove(k);
            }
            if d.tags.len() > 50 {
                return Err(FunctionError::InvalidParameter(
                    "Number of tags exceeds resource tag limit.".into(),
                ));
            }
            Ok(())
        })
    }

    /// The package's bytes.
    pub fn code_zip(&self, name: &str) -> Result<Vec<u8>> {
        let def = self.def(name)?;
        Ok(self.inner.code.read(&def.code_sha)?)
    }

    /// Invoke. `qualifier`: only `$LATEST` exists.
    pub async fn invoke(
        &self,
        name: &str,
        qualifier: Option<&str>,
        payload: Bytes,
        kind: InvokeKind,
        tail: bool,
        client_context: Option<String>,
    ) -> Result<Invoked> {
        let def = self.def(name)?;
        if let Some(q) = qualifier.filter(|q| *q != "$LATEST") {
            return Err(FunctionError::NotFound(format!(
                "Function not found: {}:{q}",
                self.function_arn(name)
            )));
        }
        let limit = if kind == InvokeKind::Event {
            MAX_ASYNC_PAYLOAD
        } else {
            MAX_SYNC_PAYLOAD
        };
        if payload.len() > limit {
            return Err(FunctionError::RequestTooLarge(format!(
                "Request must be smaller than {limit} bytes for the InvokeFunction operation"
            )));
        }
        let payload = if payload.is_empty() {
            Bytes::from_static(b"{}")
        } else {
            payload
        };
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
            return Err(FunctionError::InvalidRequestContent(format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            )));
        }
        match self.view(def.clone()).state {
            State::Active => {}
            State::Pending => {
                return Err(FunctionError::Conflict(
                    "The operation cannot be performed at this time. The function is currently in the following state: Pending".into(),
                ));
            }
            State::Failed { reason, .. } => return Err(FunctionError::NotReady(reason)),
        }
        match kind {
            InvokeKind::DryRun => Ok(Invoked {
                status: 204,
                payload: Bytes::new(),
                function_error: None,
                log_result: None,
                executed_version: "$LATEST",
            }),
            InvokeKind::Event => {
                // Acknowledged only once it is on disk.
                let event = PendingEvent {
                    request_id: new_uuid(),
                    function: def.name.clone(),
                    payload: String::from_utf8_lossy(&payload).into_owned(),
                    queued_ms: self.now(),
                    attempts: 0,
                };
                let (disk, dir) = (self.inner.disk.clone(), self.inner.config.data_dir.clone());
                off_worker(|| pending::save(&*disk, &dir, &event))
                    .map_err(|e| FunctionError::Service(format!("queueing an asynchronous invocation: {e}")))?;
                let me = self.clone();
                tokio::spawn(async move { me.run_event(event).await });
                Ok(Invoked {
                    status: 202,
                    payload: Bytes::new(),
                    function_error: None,
                    log_result: None,
                    executed_version: "$LATEST",
                })
            }
            InvokeKind::RequestResponse => {
                // Run to its end even if the caller goes away (as Lambda does): a dropped
                // request must not kill the process mid-invocation.
                let (me, def) = (self.clone(), def.clone());
                let run = tokio::spawn(async move { me.run(&def, payload, client_context, &new_uuid()).await });
                let (mut out, log) = run.await.map_err(|e| FunctionError::Service(e.to_string()))??;
                if tail {
                    use base64::Engine as _;
                    out.log_result = Some(base64::engine::general_purpose::STANDARD.encode(log));
                }
                Ok(out)
            }
        }
    }

    fn pool(&self, def: &FunctionDef) -> Arc<Pool> {
        let current =
            self.catalog().functions.get(&def.name).is_some_and(|d| {
                d.revision_id == def.revision_id && d.reserved_concurrency == def.reserved_concurrency
            });
        let mut pools = self.inner.pools.lock().unwrap_or_else(|p| p.into_inner());
        // A pool serves one revision with one reserved concurrency; a stale definition never
        // replaces a newer pool.
        if let Some(p) = pools
            .get(&def.name)
            .filter(|p| p.revision == def.revision_id && p.reserved == def.reserved_concurrency)
        {
            return p.clone();
        }
        let p = Arc::new(Pool::new(
            def.revision_id.clone(),
            self.inner.config.max_processes,
            def.reserved_concurrency,
        ));
        if current {
            pools.insert(def.name.clone(), p.clone());
        }
        p
    }

    /// Runs one synchronous invocation; returns its answer and its log tail.
    pub async fn run(
        &self,
        def: &FunctionDef,
        payload: Bytes,
        client_context: Option<String>,
        request_id: &str,
    ) -> Result<(Invoked, String)> {
        let pool = self.pool(def);
        let group = format!("/aws/lambda/{}", def.name);
        let code_dir = self.code_dir(def).await;
        let lease = match pool.take(|| self.spawn(def, code_dir)).await {
            None => {
                return Err(FunctionError::TooManyRequests {
                    message: "Rate Exceeded.".into(),
                    reason: "ReservedFunctionConcurrentInvocationLimitExceeded",
                });
            }
            Some(Err(failure)) => {
                let (payload, log) = self.failed(&failure, request_id, def.timeout_s);
                return Ok((unhandled(payload), log));
            }
            Some(Ok(lease)) => lease,
        };
        let stream = lease.instance.stream.clone();
        let log = |line: String| self.inner.logs.append(&group, &stream, self.now(), line);
        let mut lines = format!("START RequestId: {request_id} Version: $LATEST\n");
        log(lines.trim_end().to_owned());
        let started = std::time::Instant::now();
        let timeout = Duration::from_secs(u64::from(def.timeout_s));
        let inv = Invocation {
            request_id: request_id.to_owned(),
            payload,
            deadline_ms: self.now() + timeout.as_millis() as i64,
            function_arn: self.function_arn(&def.name),
            client_context,
            trace_id: format!(
                "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0;Lineage=1:00000000:0",
                self.now() / 1000,
                fastrand::u128(..) >> 32,
                fastrand::u64(..)
            ),
            done: tokio::sync::oneshot::channel().0,
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let (result, printed) = lease.instance.invoke(inv, deadline).await;
        lines.push_str(&printed);
        // An environment that timed out, crashed or broke the protocol is not reused.
        let reusable = result.is_ok();
        let elapsed = started.elapsed();
        let out = match result {
            Ok(Outcome::Response(body)) => Invoked {
                status: 200,
                payload: body,
                function_error: None,
                log_result: None,
                executed_version: "$LATEST",
            },
            Ok(Outcome::Error { body, .. }) => unhandled(body),
            Ok(Outcome::TooLarge) => unhandled(Bytes::from(
                serde_json::json!({
                    "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                    "errorType": "Function.ResponseSizeTooLarge"
                })
                .to_string(),
            )),
            Err(failure) => unhandled(self.failed(&failure, request_id, def.timeout_s).0),
        };
        if let Some(e) = self.timeout_line(&out, request_id) {
            log(e.clone());
            lines.push_str(&e);
            lines.push('\n');
        }
        let end = format!("END RequestId: {request_id}");
        let mut report = format!(
            "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
            elapsed.as_secs_f64() * 1000.0,
            elapsed.as_micros().div_ceil(1000).max(1),
            def.memory_mb,
            lease.instance.max_memory_mb().unwrap_or(0),
        );
        if let Some(init) = lease.init {
            report.push_str(&format!("Init Duration: {:.2} ms\t", init.as_secs_f64() * 1000.0));
        }
        log(end.clone());
        log(report.clone());
        lines.push_str(&format!("{end}\n{report}\n"));
        if reusable {
            pool.give_back(lease);
        }
        let mut tail = String::new();
        for l in lines.lines() {
            crate::instance::push_tail(&mut tail, l);
        }
        Ok((out, tail))
    }

    fn timeout_line(&self, out: &Invoked, request_id: &str) -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(&out.payload).ok()?;
        (v["errorType"] == "Sandbox.Timedout").then(|| {
            format!(
                "{} {request_id} Task timed out after {}",
                iso8601(self.now()),
                v["errorMessage"]
                    .as_str()
                    .unwrap_or_default()
                    .rsplit("after ")
                    .next()
                    .unwrap_or_default()
            )
        })
    }

    /// The error payload for an environment that failed, and its log lines.
    fn failed(&self, failure: &Failure, request_id: &str, timeout_s: u32) -> (Bytes, String) {
        let body = match failure {
            Failure::Exited {
                init_error: Some(body), ..
            } => return (body.clone(), String::new()),
            Failure::Exited { status, .. } => serde_json::json!({
                "errorType": "Runtime.ExitError",
                "errorMessage": format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
            }),
            Failure::Timeout => serde_json::json!({
                "errorType": "Sandbox.Timedout",
                "errorMessage": format!("RequestId: {request_id} Error: Task timed out after {timeout_s}.00 seconds"),
            }),
            Failure::InitTimeout => serde_json::json!({
                "errorType": "Runtime.Unknown",
                "errorMessage": format!("RequestId: {request_id} Error: The runtime did not ask for an invocation within {} seconds", crate::pool::INIT_TIMEOUT.as_secs()),
            }),
            Failure::Start(e) => serde_json::json!({
                "errorType": "Runtime.InvalidEntrypoint",
                "errorMessage": format!("RequestId: {request_id} Error: {e}"),
            }),
        };
        (Bytes::from(body.to_string()), String::new())
    }

    /// The command, directory and environment of a new process for `def`.
    /// The function's unpacked code (unpacked on the blocking pool, once at a time).
    async fn code_dir(&self, def: &FunctionDef) -> PathBuf {
        let _one = self.inner.unpacking.lock().await;
        let (code, sha) = (self.inner.code.clone(), def.code_sha.clone());
        let unpacked = tokio::task::spawn_blocking(move || code.unpacked(&sha)).await;
        match unpacked {
            Ok(Ok(dir)) => dir,
            Ok(Err(e)) => {
                tracing::error!(error = %e, function = %def.name, "unpacking the function's code failed");
                self.inner.config.data_dir.join("missing-code")
            }
            Err(e) => {
                tracing::error!(error = %e, function = %def.name, "unpacking the function's code failed");
                self.inner.config.data_dir.join("missing-code")
            }
        }
    }

    fn spawn(&self, def: &FunctionDef, code_dir: PathBuf) -> Spawn {
        let cfg = &self.inner.config;
        let now = self.now();
        let stream = format!(
            "{}/[$LATEST]{:032x}",
            &iso8601(now)[..10].replace('-', "/"),
            fastrand::u128(..)
        );
        let group = format!("/aws/lambda/{}", def.name);
        let (program, args, runtime_dir) = match launch_for(&def.runtime) {
            Ok(Launch::Python) => {
                let python = cfg.python.interpreter().unwrap_or_else(|_| PathBuf::from("python3"));
                let dir = python.parent().map(PathBuf::from).unwrap_or_default();
                (
                    python,
                    vec!["-m".to_owned(), "awslambdaric".to_owned(), def.handler.clone()],
                    dir,
                )
            }
            _ => (code_dir.join("bootstrap"), Vec::new(), code_dir.clone()),
        };
        let mut env: Vec<(String, String)> = vec![
            (
                "PATH".into(),
                format!("{}:/usr/local/bin:/usr/bin:/bin", runtime_dir.display()),
            ),
            ("LANG".into(), "en_US.UTF-8".into()),
            ("TZ".into(), ":UTC".into()),
            ("HOME".into(), std::env::var("HOME").unwrap_or_else(|_| "/tmp".into())),
            ("_HANDLER".into(), def.handler.clone()),
            ("AWS_REGION".into(), cfg.region.clone()),
            ("AWS_DEFAULT_REGION".into(), cfg.region.clone()),
            ("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{}", def.runtime)),
            ("AWS_LAMBDA_FUNCTION_NAME".into(), def.name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), def.memory_mb.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME".into(), group.clone()),
            ("AWS_LAMBDA_LOG_STREAM_NAME".into(), stream.clone()),
            ("AWS_ACCESS_KEY_ID".into(), cfg.credentials.0.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), cfg.credentials.1.clone()),
            ("AWS_SESSION_TOKEN".into(), String::new()),
            ("AWS_ENDPOINT_URL".into(), cfg.endpoint_url.clone()),
            ("LAMBDA_TASK_ROOT".into(), code_dir.display().to_string()),
            ("LAMBDA_RUNTIME_DIR".into(), runtime_dir.display().to_string()),
            ("PYTHONUNBUFFERED".into(), "1".into()),
        ];
        env.retain(|(k, v)| k != "AWS_SESSION_TOKEN" || !v.is_empty());
        env.extend(def.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        Spawn {
            program,
            args,
            cwd: code_dir,
            env,
            logs: self.inner.logs.clone(),
            group,
            stream,
            clock: self.inner.clock.clone(),
        }
    }

    /// An asynchronous invocation: tried, retried after the configured delays while attempts
    /// and the event's age allow, then sent to its destination or dead-letter queue.
    async fn run_event(&self, mut event: PendingEvent) {
        let name = event.function.clone();
        let payload = Bytes::from(event.payload.clone());
        let request_id = event.request_id.clone();
        let queued = event.queued_ms;
        // A function still being prepared (after a restart) is waited for.
        while matches!(self.def(&name).map(|d| self.view(d).state), Ok(State::Pending)) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let mut attempts = event.attempts;
        loop {
            let Ok(def) = self.def(&name) else {
                self.forget_event(&request_id);
                return;
            };
            let config = def.event_invoke.clone().unwrap_or_default();
            let max_attempts = 1 + config.maximum_retry_attempts.unwrap_or(2);
            let max_age_ms = i64::from(config.maximum_event_age_s.unwrap_or(21_600)) * 1000;
            attempts += 1;
            let result = self.run(&def, payload.clone(), None, &request_id).await;
            let out = match result {
                Ok((out, _)) => out,
                Err(FunctionError::TooManyRequests { .. }) if self.now() - queued < max_age_ms => {
                    // Throttled: not an attempt, while the event is young enough.
                    attempts -= 1;
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(FunctionError::TooManyRequests { message, .. }) => {
                    let out = unhandled(Bytes::from(
                        serde_json::json!({"errorType": "TooManyRequestsException", "errorMessage": message})
                            .to_string(),
                    ));
                    self.deliver_result(&def, &request_id, &payload, &out, "EventAgeExceeded", attempts)
                        .await;
                    self.forget_event(&request_id);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, function = %name, "an asynchronous invocation could not run; retrying");
                    attempts -= 1;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            let aged = self.now() - queued >= max_age_ms;
            if out.function_error.is_none() || attempts >= max_attempts || aged {
                let condition = match (out.function_error.is_none(), aged) {
                    (true, _) => "Success",
                    (false, true) => "EventAgeExceeded",
                    (false, false) => "RetriesExhausted",
                };
                self.deliver_result(&def, &request_id, &payload, &out, condition, attempts)
                    .await;
                self.forget_event(&request_id);
                return;
            }
            // The attempt is recorded before the wait: a restart does not grant extra retries.
            event.attempts = attempts;
            let (disk, dir) = (self.inner.disk.clone(), self.inner.config.data_dir.clone());
            let saved = event.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || pending::save(&*disk, &dir, &saved)).await {
                tracing::warn!(error = %e, function = %name, "recording an asynchronous invocation's attempt failed");
            }
            let delay = self
                .inner
                .config
                .retry_delays
                .get(attempts as usize - 1)
                .or(self.inner.config.retry_delays.last())
                .copied()
                .unwrap_or(Duration::from_secs(60));
            tokio::time::sleep(delay).await;
        }
    }

    /// Removes a finished asynchronous invocation from disk.
    fn forget_event(&self, request_id: &str) {
        let (disk, dir) = (self.inner.disk.clone(), self.inner.config.data_dir.clone());
        if let Err(e) = off_worker(|| pending::remove(&*disk, &dir, request_id)) {
            tracing::warn!(error = %e, request_id, "removing a finished asynchronous invocation failed");
        }
    }

    async fn deliver_result(
        &self,
        def: &FunctionDef,
        request_id: &str,
        payload: &Bytes,
        out: &Invoked,
        condition: &str,
        attempts: u32,
    ) {
        let config = def.event_invoke.clone().unwrap_or_default();
        let target = if condition == "Success" {
            config.on_success.clone()
        } else {
            config.on_failure.clone()
        };
        let destinations = self
            .inner
            .destinations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(destinations) = destinations else { return };
        if let Some(arn) = target {
            let as_json = |b: &Bytes| serde_json::from_slice::<serde_json::Value>(b).unwrap_or(serde_json::Value::Null);
            let mut response = serde_json::json!({"statusCode": 200, "executedVersion": "$LATEST"});
            if let Some(e) = &out.function_error {
                response["functionError"] = e.clone().into();
            }
            let record = serde_json::json!({
                "version": "1.0",
                "timestamp": iso8601(self.now()),
                "requestContext": {
                    "requestId": request_id,
                    "functionArn": format!("{}:$LATEST", self.function_arn(&def.name)),
                    "condition": condition,
                    "approximateInvokeCount": attempts,
                },
                "requestPayload": as_json(payload),
                "responseContext": response,
                "responsePayload": as_json(&out.payload),
            });
            if let Err(e) = destinations.deliver(arn.clone(), record.to_string()).await {
                tracing::warn!(error = %e, destination = %arn, "an asynchronous invocation's result could not be delivered");
            }
        } else if condition != "Success"
            && let Some(dlq) = &def.dead_letter_target
        {
            // A dead-letter queue gets the event itself.
            let body = String::from_utf8_lossy(payload).into_owned();
            if let Err(e) = destinations.deliver(dlq.clone(), body).await {
                tracing::warn!(error = %e, destination = %dlq, "an asynchronous invocation's event could not be dead-lettered");
            }
        }
    }
}

fn unhandled(payload: Bytes) -> Invoked {
    Invoked {
        status: 200,
        payload,
        function_error: Some("Unhandled".into()),
        log_result: None,
        executed_version: "$LATEST",
    }
}

fn check_environment(env: &BTreeMap<String, String>) -> Result<()> {
    let reserved: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .filter(|k| RESERVED_KEYS.contains(k))
        .collect();
    if !reserved.is_empty() {
        return Err(FunctionError::InvalidParameter(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    let size: usize = env.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > 4096 {
        return Err(FunctionError::InvalidParameter(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.".into(),
        ));
    }
    Ok(())
}

pub use rheo_types::ids::uuid_v4 as new_uuid;

pub use rheo_types::clock::iso8601;

/// Runs blocking work off the async workers when on a multi-threaded runtime.
fn off_worker<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_environment_keys_are_refused() {
        let env = BTreeMap::from([("AWS_REGION".to_owned(), "x".to_owned())]);
        assert!(check_environment(&env).unwrap_err().to_string().ends_with("AWS_REGION"));
        assert!(check_environment(&BTreeMap::from([("MINE".to_owned(), "x".to_owned())])).is_ok());
    }
}
