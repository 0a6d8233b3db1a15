//! One tenant's event source mappings: their definitions (durable, `catalog`), and a task per
//! enabled mapping that reads its source and invokes its function (`kinesis`, `sqs`).

use crate::catalog::{Checkpoints, MappingDef, MappingsFile, Source, StartingPosition};
use rheo_engine::Engine;
use rheo_functions::{Destinations, FunctionError, Functions};
use rheo_log::Disk;
use rheo_queues::Sqs;
use rheo_types::StreamName;
use rheo_types::clock::Clock;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

pub type Result<T> = std::result::Result<T, FunctionError>;

/// What a tenant's mappings use.
pub struct MappingsConfig {
    /// `<tenant data>/connect`.
    pub data_dir: PathBuf,
    pub account: String,
    pub region: String,
}

pub(crate) struct Inner {
    pub config: MappingsConfig,
    pub clock: Arc<dyn Clock>,
    pub disk: Arc<dyn Disk>,
    pub engine: Engine,
    pub sqs: Sqs,
    pub functions: Functions,
    pub destinations: Arc<dyn Destinations>,
    file: Mutex<MappingsFile>,
    /// Per mapping: a generation bumped at each change, which its task watches.
    pub changes: Mutex<HashMap<String, watch::Sender<u64>>>,
    pub results: Mutex<HashMap<String, String>>,
}

/// One tenant's mappings. Cheap to clone.
#[derive(Clone)]
pub struct Mappings {
    pub(crate) inner: Arc<Inner>,
}

/// CreateEventSourceMapping's request.
#[derive(Debug, Clone, Default)]
pub struct NewMapping {
    pub function: String,
    pub source_arn: String,
    pub batch_size: Option<u32>,
    pub batching_window_s: Option<u32>,
    pub starting_position: Option<StartingPosition>,
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_record_age_s: Option<i64>,
    pub bisect: Option<bool>,
    pub report_batch_item_failures: bool,
    pub parallelization_factor: Option<u32>,
    pub tumbling_window_s: Option<u32>,
    pub filters: Vec<String>,
    pub on_failure: Option<String>,
    pub enabled: Option<bool>,
    pub maximum_concurrency: Option<u32>,
    pub tags: BTreeMap<String, String>,
}

/// UpdateEventSourceMapping's changes.
#[derive(Debug, Clone, Default)]
pub struct MappingChanges {
    pub function: Option<String>,
    pub batch_size: Option<u32>,
    pub batching_window_s: Option<u32>,
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_record_age_s: Option<i64>,
    pub bisect: Option<bool>,
    pub report_batch_item_failures: Option<bool>,
    pub parallelization_factor: Option<u32>,
    pub tumbling_window_s: Option<u32>,
    pub filters: Option<Vec<String>>,
    pub on_failure: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub maximum_concurrency: Option<u32>,
}

/// A mapping as the API shows it.
#[derive(Debug, Clone)]
pub struct MappingView {
    pub def: MappingDef,
    pub arn: String,
    pub function_arn: String,
    pub state: &'static str,
    pub last_processing_result: String,
}

fn invalid(m: impl Into<String>) -> FunctionError {
    FunctionError::InvalidParameter(m.into())
}

impl Mappings {
    /// Opens (or creates) the tenant's mappings and starts a task for each.
    pub fn open(
        config: MappingsConfig,
        clock: Arc<dyn Clock>,
        disk: Arc<dyn Disk>,
        engine: Engine,
        sqs: Sqs,
        functions: Functions,
        destinations: Arc<dyn Destinations>,
    ) -> std::io::Result<Mappings> {
        disk.create_dir_all(&config.data_dir)?;
        let file = MappingsFile::load(&*disk, &config.data_dir)?;
        let uuids: Vec<String> = file.mappings.keys().cloned().collect();
        let m = Mappings {
            inner: Arc::new(Inner {
                config,
                clock,
                disk,
                engine,
                sqs,
                functions,
                destinations,
                file: Mutex::new(file),
                changes: Mutex::default(),
                results: Mutex::default(),
            }),
        };
        for uuid in uuids {
            m.start(&uuid);
        }
        Ok(m)
    }

    fn file(&self) -> MutexGuard<'_, MappingsFile> {
        self.inner.file.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn def(&self, uuid: &str) -> Option<MappingDef> {
        self.file().mappings.get(uuid).cloned()
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    pub fn mapping_arn(&self, uuid: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:event-source-mapping:{uuid}",
            self.inner.config.region, self.inner.config.account
        )
    }

    pub(crate) fn set_result(&self, uuid: &str, result: &str) {
        self.inner
            .results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(uuid.to_owned(), result.to_owned());
    }

    /// Invokes the mapping's function with `payload`. A call that could not run (throttled,
    /// not ready, gone) is the mapping's PROBLEM and gives `None`.
    pub(crate) async fn invoke(&self, def: &MappingDef, payload: bytes::Bytes) -> Option<rheo_functions::Invoked> {
        let out = self
            .inner
            .functions
            .invoke(
                &def.function,
                None,
                payload,
                rheo_functions::InvokeKind::RequestResponse,
                false,
                None,
            )
            .await;
        match out {
            Ok(o) => Some(o),
            Err(e) => {
                self.set_result(&def.uuid, &format!("PROBLEM: {e}"));
                None
            }
        }
    }

    fn view(&self, def: MappingDef, state: Option<&'static str>) -> MappingView {
        let last = self
            .inner
            .results
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&def.uuid)
            .cloned()
            .unwrap_or_else(|| "No records processed".into());
        let state = state.unwrap_or(if def.enabled { "Enabled" } else { "Disabled" });
        MappingView {
            arn: self.mapping_arn(&def.uuid),
            function_arn: self.inner.functions.function_arn(&def.function),
            state,
            last_processing_result: last,
            def,
        }
    }

    fn change<T>(&self, change: impl FnOnce(&mut MappingsFile) -> Result<T>) -> Result<T> {
        let mut g = self.file();
        let mut next = g.clone();
        let out = change(&mut next)?;
        let (disk, dir) = (self.inner.disk.clone(), self.inner.config.data_dir.clone());
        off_worker(|| next.save(&*disk, &dir))
            .map_err(|e| FunctionError::Service(format!("saving the event source mappings: {e}")))?;
        *g = next;
        Ok(out)
    }

    /// The source an ARN names, checked to exist.
    fn source_of(&self, arn: &str) -> Result<Source> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, _, service, region, account, resource] = parts.as_slice() else {
            return Err(invalid(format!("Unrecognized event source: {arn}")));
        };
        let ours = *region == self.inner.config.region && *account == self.inner.config.account;
        match *service {
            "kinesis" if resource.starts_with("queue/") => {
                // A Kinesis queue (Rheo's extension): live, of this account and region.
                let live = self.inner.engine.describe_queue(arn).is_ok_and(|v| {
                    matches!(
                        v.status,
                        rheo_engine::catalog::QueueStatus::Active | rheo_engine::catalog::QueueStatus::Updating
                    )
                });
                if !ours || !live {
                    return Err(invalid(format!("Queue not found: {arn}")));
                }
                Ok(Source::KinesisQueue)
            }
            "kinesis" if resource.contains("/consumer/") => {
                // An enhanced fan-out consumer: its stream's records, read the same way.
                let consumer = rheo_types::ConsumerArn::parse(arn)
                    .map_err(|_| invalid(format!("Unrecognized event source: {arn}")))?;
                let described = self
                    .inner
                    .engine
                    .describe_consumer(&rheo_engine::consumers::ConsumerRef::Arn(consumer));
                let stream = resource
                    .strip_prefix("stream/")
                    .and_then(|s| s.split('/').next())
                    .unwrap_or_default();
                if !ours || described.is_err() {
                    return Err(invalid(format!("Consumer not found: {arn}")));
                }
                Ok(Source::Kinesis {
                    stream: stream.to_owned(),
                })
            }
            "kinesis" => {
                let stream = resource
                    .strip_prefix("stream/")
                    .map(|s| s.split('/').next().unwrap_or(s))
                    .ok_or_else(|| invalid(format!("Unrecognized event source: {arn}")))?;
                let name = StreamName::parse(stream).map_err(|_| invalid(format!("Stream not found: {arn}")))?;
                if !ours || self.inner.engine.feed(&name).is_err() {
                    return Err(invalid(format!("Stream not found: {arn}")));
                }
                Ok(Source::Kinesis {
                    stream: stream.to_owned(),
                })
            }
            "sqs" => {
                if !ours || self.inner.sqs.get_queue(resource).is_err() {
                    return Err(invalid(
                        "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist for this wsdl version.",
                    ));
                }
                Ok(Source::Sqs {
                    queue: (*resource).to_owned(),
                })
            }
            _ => Err(invalid(format!("Unrecognized event source: {arn}"))),
        }
    }

    /// CreateEventSourceMapping: checked, saved, started; answered `Creating`.
    pub fn create(&self, req: NewMapping) -> Result<MappingView> {
        let (function, _) = self.inner.functions.resolve(&req.function)?;
        self.inner
            .functions
            .get(&function)
            .map_err(|_| FunctionError::NotFound("Function does not exist".into()))?;
        let source = self.source_of(&req.source_arn)?;
        let kinesis = matches!(source, Source::Kinesis { .. });
        let kinesis_queue = matches!(source, Source::KinesisQueue);
        let batch_size = req.batch_size.unwrap_or(if kinesis { 100 } else { 10 });
        let window = req.batching_window_s.unwrap_or(0);
        check_batching(&req.source_arn, kinesis || kinesis_queue, batch_size, window)?;
        if kinesis && req.starting_position.is_none() {
            return Err(invalid(
                "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null",
            ));
        }
        if !kinesis && req.starting_position.is_some() {
            return Err(invalid(if kinesis_queue {
                "StartingPosition is not valid for Kinesis queue event sources: the queue starts where it was created to."
            } else {
                "StartingPosition is not valid for SQS event sources."
            }));
        }
        if let Some(StartingPosition::AtTimestamp(ts)) = req.starting_position
            && ts > self.now()
        {
            return Err(invalid("StartingPositionTimestamp cannot be in the future."));
        }
        check_record_age(req.maximum_record_age_s)?;
        for f in &req.filters {
            check_filter(f)?;
        }
        if let Some(d) = &req.on_failure {
            check_destination(d, kinesis)?;
        }
        let uuid = rheo_functions::service::new_uuid();
        let def = MappingDef {
            uuid: uuid.clone(),
            function: function.clone(),
            source_arn: req.source_arn.clone(),
            source,
            batch_size,
            batching_window_s: window,
            starting_position: req.starting_position,
            maximum_retry_attempts: req.maximum_retry_attempts.unwrap_or(-1),
            maximum_record_age_s: req.maximum_record_age_s.unwrap_or(-1),
            bisect: req.bisect.unwrap_or(false),
            report_batch_item_failures: req.report_batch_item_failures,
            parallelization_factor: req.parallelization_factor.unwrap_or(1),
            tumbling_window_s: req.tumbling_window_s.unwrap_or(0),
            filters: req.filters.clone(),
            on_failure: req.on_failure.clone(),
            enabled: req.enabled.unwrap_or(true),
            maximum_concurrency: req.maximum_concurrency,
            last_modified_ms: self.now(),
            tags: req.tags.clone(),
        };
        if kinesis {
            // Where it starts is fixed now, durably: a restart before the first batch must
            // not move LATEST forward.
            let start = crate::kinesis::initial_checkpoints(self, &def)?;
            let (disk, dir) = (self.inner.disk.clone(), self.inner.config.data_dir.clone());
            off_worker(|| start.save(&*disk, &dir, &uuid))?;
        }
        self.change(|f| {
            if let Some(existing) = f
                .mappings
                .values()
                .find(|m| m.source_arn == def.source_arn && m.function == def.function)
            {
                return Err(FunctionError::Conflict(format!(
                    "The event source arn (\" {} \") and function (\" {} \") provided mapping already exists. Please update or delete the existing mapping with UUID {}",
                    def.source_arn, def.function, existing.uuid
                )));
            }
            f.mappings.insert(uuid.clone(), def.clone());
            Ok(())
        })?;
        self.start(&uuid);
        Ok(self.view(def, Some("Creating")))
    }

    pub fn get(&self, uuid: &str) -> Result<MappingView> {
        let def = self.def(uuid).ok_or_else(|| not_found(uuid))?;
        Ok(self.view(def, None))
    }

    /// ListEventSourceMappings, by source and function, `max` after `marker` (a UUID).
    pub fn list(
        &self,
        source_arn: Option<&str>,
        function: Option<&str>,
        marker: Option<&str>,
        max: usize,
    ) -> Result<(Vec<MappingView>, Option<String>)> {
        let function = function
            .map(|f| self.inner.functions.resolve(f).map(|(n, _)| n))
            .transpose()?;
        let defs: Vec<MappingDef> = self
            .file()
            .mappings
            .values()
            .filter(|m| source_arn.is_none_or(|s| m.source_arn == s))
            .filter(|m| function.as_deref().is_none_or(|f| m.function == f))
            .filter(|m| marker.is_none_or(|k| m.uuid.as_str() > k))
            .take(max.saturating_add(1))
            .cloned()
            .collect();
        let next = (defs.len() > max)
            .then(|| defs.get(max.saturating_sub(1)).map(|d| d.uuid.clone()))
            .flatten();
        Ok((defs.into_iter().take(max).map(|d| self.view(d, None)).collect(), next))
    }

    /// UpdateEventSourceMapping: saved, then the mapping's task takes it up; answered
    /// `Updating` (or `Enabling`, `Disabling`).
    pub fn update(&self, uuid: &str, ch: MappingChanges) -> Result<MappingView> {
        let before = self.def(uuid).ok_or_else(|| not_found(uuid))?;
        let function = ch
            .function
            .as_deref()
            .map(|f| self.inner.functions.resolve(f).map(|(n, _)| n))
            .transpose()?;
        if let Some(f) = &function {
            self.inner
                .functions
                .get(f)
                .map_err(|_| FunctionError::NotFound("Function does not exist".into()))?;
        }
        for f in ch.filters.iter().flatten() {
            check_filter(f)?;
        }
        let kinesis = matches!(before.source, Source::Kinesis { .. });
        if let Some(Some(d)) = &ch.on_failure {
            check_destination(d, kinesis)?;
        }
        check_batching(
            &before.source_arn,
            kinesis || matches!(before.source, Source::KinesisQueue),
            ch.batch_size.unwrap_or(before.batch_size),
            ch.batching_window_s.unwrap_or(before.batching_window_s),
        )?;
        check_record_age(ch.maximum_record_age_s)?;
        let now = self.now();
        let def = self.change(|f| {
            let d = f.mappings.get_mut(uuid).ok_or_else(|| not_found(uuid))?;
            if let Some(v) = function {
                d.function = v;
            }
            if let Some(v) = ch.batch_size {
                d.batch_size = v;
            }
            if let Some(v) = ch.batching_window_s {
                d.batching_window_s = v;
            }
            if let Some(v) = ch.maximum_retry_attempts {
                d.maximum_retry_attempts = v;
            }
            if let Some(v) = ch.maximum_record_age_s {
                d.maximum_record_age_s = v;
            }
            if let Some(v) = ch.bisect {
                d.bisect = v;
            }
            if let Some(v) = ch.report_batch_item_failures {
                d.report_batch_item_failures = v;
            }
            if let Some(v) = ch.parallelization_factor {
                d.parallelization_factor = v;
            }
            if let Some(v) = ch.tumbling_window_s {
                d.tumbling_window_s = v;
            }
            if let Some(v) = ch.filters {
                d.filters = v;
            }
            if let Some(v) = ch.on_failure {
                d.on_failure = v;
            }
            if let Some(v) = ch.enabled {
                d.enabled = v;
            }
            if let Some(v) = ch.maximum_concurrency {
                d.maximum_concurrency = Some(v);
            }
            d.last_modified_ms = now;
            Ok(d.clone())
        })?;
        let state = match (before.enabled, def.enabled) {
            (false, true) => "Enabling",
            (true, false) => "Disabling",
            _ => "Updating",
        };
        self.signal(uuid);
        Ok(self.view(def, Some(state)))
    }

    /// DeleteEventSourceMapping: its task stops, its checkpoints go; answered `Deleting`.
    pub fn delete(&self, uuid: &str) -> Result<MappingView> {
        let def = self.change(|f| f.mappings.remove(uuid).ok_or_else(|| not_found(uuid)))?;
        self.signal(uuid);
        self.inner
            .changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(uuid);
        Checkpoints::remove(&*self.inner.disk, &self.inner.config.data_dir, uuid);
        Ok(self.view(def, Some("Deleting")))
    }

    /// Tells a mapping's task that its definition changed.
    fn signal(&self, uuid: &str) {
        if let Some(tx) = self.inner.changes.lock().unwrap_or_else(|p| p.into_inner()).get(uuid) {
            tx.send_modify(|g| *g = g.wrapping_add(1));
        }
    }

    /// A receiver that changes when the mapping does.
    pub(crate) fn watch(&self, uuid: &str) -> watch::Receiver<u64> {
        self.inner
            .changes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(uuid.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Starts the mapping's task (on the current runtime).
    fn start(&self, uuid: &str) {
        let Some(def) = self.def(uuid) else { return };
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let changes = self.watch(uuid);
        let me = self.clone();
        let uuid = uuid.to_owned();
        match def.source {
            Source::Kinesis { .. } => {
                tokio::spawn(async move { crate::kinesis::run(me, uuid, changes).await });
            }
            Source::Sqs { .. } => {
                tokio::spawn(async move { crate::sqs::run(me, uuid, changes).await });
            }
            Source::KinesisQueue => {
                tokio::spawn(async move { crate::kqueue::run(me, uuid, changes).await });
            }
        }
    }
}

fn not_found(uuid: &str) -> FunctionError {
    FunctionError::NotFound(format!(
        "The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: {uuid})"
    ))
}

/// BatchSize and MaximumBatchingWindowInSeconds as Lambda allows them: 1–10,000 (1–10 for FIFO
/// queues), and a window for SQS batches over 10.
fn check_batching(source_arn: &str, kinesis: bool, batch_size: u32, window: u32) -> Result<()> {
    let max_batch = if !kinesis && source_arn.ends_with(".fifo") {
        10
    } else {
        10_000
    };
    if !(1..=max_batch).contains(&batch_size) {
        return Err(invalid(format!("BatchSize must be between 1 and {max_batch}.")));
    }
    if !kinesis && batch_size > 10 && window == 0 {
        return Err(invalid(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        ));
    }
    Ok(())
}

/// MaximumRecordAgeInSeconds: −1 or 60–604,800.
fn check_record_age(age: Option<i64>) -> Result<()> {
    match age.filter(|a| (0..60).contains(a)) {
        Some(age) => Err(invalid(format!(
            "MaximumRecordAgeInSeconds {age} is invalid: the minimum valid value is 60 seconds (or -1 for no limit)."
        ))),
        None => Ok(()),
    }
}

/// A FilterCriteria pattern: a JSON object.
fn check_filter(f: &str) -> Result<()> {
    match serde_json::from_str::<serde_json::Value>(f) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(invalid(format!("Invalid filter pattern definition. {f}"))),
    }
}

/// An OnFailure destination: an SQS queue or SNS topic (S3 once buckets exist).
fn check_destination(arn: &str, kinesis: bool) -> Result<()> {
    let service = arn.split(':').nth(2).unwrap_or_default();
    if !kinesis {
        return Err(invalid(
            "Unsupported DestinationConfig parameter for given event source mapping type.",
        ));
    }
    if !matches!(service, "sqs" | "sns") {
        return Err(invalid(format!(
            "The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination={arn})) is invalid: Rheo sends on-failure records to SQS queues and SNS topics."
        )));
    }
    Ok(())
}

pub(crate) fn off_worker<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
