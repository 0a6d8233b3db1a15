//! The tenant's delivery streams: one method per Firehose operation, taking the request's
//! members (already checked against the model) and returning the response's, with errors as
//! [`DeliveryError`] values the server names.

use crate::catalog::{CatalogFile, KinesisSource, StreamDef};
use crate::intake::Intake;
use crate::spec::{self, Spec};
use crate::worker::{Runtime, Worker, record_id};
use crate::{Buckets, Functions};
use rheo_log::{Disk, LogConfig};
use rheo_types::clock::Clock;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    ConcurrentModification(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Internal(String),
}

type Result<T> = std::result::Result<T, DeliveryError>;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub dir: PathBuf,
    pub account: String,
    pub region: String,
    pub log: LogConfig,
}

/// What workers share.
pub(crate) struct Env {
    pub engine: rheo_engine::Engine,
    pub disk: Arc<dyn Disk>,
    pub clock: Arc<dyn Clock>,
    pub buckets: Arc<dyn Buckets>,
    pub functions: Arc<dyn Functions>,
    /// The tenant's data catalog: the tables records are converted with.
    pub glue: crate::glue::Glue,
    pub region: String,
}

struct Running {
    incarnation: u64,
    /// Read by every put: kept here, off the catalog's lock.
    encrypted: std::sync::atomic::AtomicBool,
    kinesis_source: bool,
    intake: Intake,
    runtime: Arc<Mutex<Arc<Runtime>>>,
    /// The source-record backup's settings, once it runs (S3BackupMode Enabled).
    backup: Mutex<Option<Arc<Mutex<Arc<Runtime>>>>>,
    holds: Arc<crate::worker::Holds>,
    dir: std::path::PathBuf,
    stop: watch::Sender<bool>,
}

struct Inner {
    config: DeliveryConfig,
    /// Held by each control-plane change for its whole course: the catalog and the running
    /// streams change together.
    control: Mutex<()>,
    env: Arc<Env>,
    catalog: Mutex<CatalogFile>,
    running: Mutex<HashMap<String, Running>>,
}

/// One tenant's delivery streams. Cheap to clone.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

/// Most delivery streams in one account and region (AWS's default quota).
pub const MAX_STREAMS: usize = 5000;
const MAX_TAGS: usize = 50;
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
const DESTINATION_ID: &str = "destinationId-000000000001";

fn io(e: std::io::Error) -> DeliveryError {
    DeliveryError::Internal(e.to_string())
}

fn s<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

impl Delivery {
    /// Opens the tenant's delivery streams and starts their workers (inside a tokio runtime).
    pub fn open(
        config: DeliveryConfig,
        clock: Arc<dyn Clock>,
        disk: Arc<dyn Disk>,
        engine: rheo_engine::Engine,
        buckets: Arc<dyn Buckets>,
        functions: Arc<dyn Functions>,
        glue: crate::glue::Glue,
    ) -> std::io::Result<Delivery> {
        let catalog = CatalogFile::load(&*disk, &config.dir)?;
        let env = Arc::new(Env {
            engine,
            disk,
            clock,
            buckets,
            functions,
            glue,
            region: config.region.clone(),
        });
        let d = Delivery {
            inner: Arc::new(Inner {
                config,
                control: Mutex::new(()),
                env,
                catalog: Mutex::new(catalog.clone()),
                running: Mutex::new(HashMap::new()),
            }),
        };
        for def in catalog.streams.values() {
            // One stream that cannot start does not keep the others from delivering.
            if let Err(e) = d.start(def) {
                tracing::error!(error = %e, stream = %def.name, "a delivery stream cannot start");
            }
        }
        Ok(d)
    }

    fn arn(&self, name: &str) -> String {
        let c = &self.inner.config;
        format!("arn:aws:firehose:{}:{}:deliverystream/{name}", c.region, c.account)
    }

    fn not_found(&self, name: &str) -> DeliveryError {
        DeliveryError::ResourceNotFound(format!(
            "Firehose {name} under account {} not found.",
            self.inner.config.account
        ))
    }

    fn control(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn catalog(&self) -> std::sync::MutexGuard<'_, CatalogFile> {
        self.inner.catalog.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn def(&self, name: &str) -> Result<StreamDef> {
        self.catalog()
            .streams
            .get(name)
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    /// Checks a destination as Create and UpdateDestination do: its plan, and the table a
    /// conversion reads (AWS asks Glue then).
    fn check(&self, destination: &spec::Spec) -> Result<()> {
        let plan = spec::plan(destination).map_err(DeliveryError::InvalidArgument)?;
        if let Some(c) = &plan.conversion {
            let t = &c.table;
            crate::convert::columns_of(&self.inner.env.glue, t).map_err(|e| {
                DeliveryError::InvalidArgument(match e.code {
                    "DataFormatConversion.EntityNotFound" => format!(
                        "The table {}.{} was not found in the data catalog. (Service: AWSGlue; Status Code: 400; Error Code: EntityNotFoundException)",
                        t.database, t.table
                    ),
                    _ => format!("The table {}.{} cannot be converted to: {}", t.database, t.table, e.message),
                })
            })?;
        }
        Ok(())
    }

    /// The backup worker's settings: the stream's, with the backup's destination.
    fn backup_runtime_of(&self, def: &StreamDef) -> Result<Option<Runtime>> {
        let Some(b) = spec::backup(&def.destination).map_err(DeliveryError::InvalidArgument)? else {
            return Ok(None);
        };
        Ok(Some(Runtime {
            plan: spec::plan(&b).map_err(DeliveryError::InvalidArgument)?,
            spec: b,
            ..self.runtime_of(def)?
        }))
    }

    /// Starts a stream's backup worker: it reads the intake from its own checkpoint (from the
    /// oldest record kept when it first starts) into the backup's bucket.
    fn start_backup(&self, r: &Running, rt: Runtime) -> std::io::Result<()> {
        let env = &self.inner.env;
        let dir = r.dir.join("backup");
        env.disk.create_dir_all(&dir)?;
        let runtime = Arc::new(Mutex::new(Arc::new(rt)));
        {
            let _held = r.holds.lock.lock().unwrap_or_else(|p| p.into_inner());
            r.holds.backup.store(0, Ordering::SeqCst);
        }
        let worker = Worker {
            runtime: runtime.clone(),
            reader: r.intake.reader.clone(),
            committed: r.intake.committed.clone(),
            stop: r.stop.subscribe(),
            dir,
            env: env.clone(),
            holds: r.holds.clone(),
            backup: true,
        };
        tokio::spawn(worker.run());
        *r.backup.lock().unwrap_or_else(|p| p.into_inner()) = Some(runtime);
        Ok(())
    }

    fn runtime_of(&self, def: &StreamDef) -> Result<Runtime> {
        Ok(Runtime {
            name: def.name.clone(),
            arn: self.arn(&def.name),
            version: def.version,
            incarnation: def.incarnation,
            source_arn: def.source.as_ref().map(|s| s.stream_arn.clone()),
            spec: def.destination.clone(),
            plan: spec::plan(&def.destination).map_err(DeliveryError::InvalidArgument)?,
        })
    }

    fn start(&self, def: &StreamDef) -> std::io::Result<()> {
        let dir = self.inner.config.dir.join(def.incarnation.to_string());
        let env = &self.inner.env;
        let intake = Intake::open(
            env.disk.clone(),
            &dir.join("records"),
            self.inner.config.log,
            env.clock.clone(),
        )?;
        let runtime = Arc::new(Mutex::new(Arc::new(
            self.runtime_of(def).map_err(|e| std::io::Error::other(e.to_string()))?,
        )));
        let (stop, stop_rx) = watch::channel(false);
        let source_saved = Arc::new(AtomicU64::new(u64::MAX));
        if let Some(src) = &def.source {
            let stream = rheo_types::Arn::parse(&src.stream_arn)
                .map_err(|e| std::io::Error::other(format!("{e:?}")))?
                .stream;
            let pump = crate::source::Pump {
                engine: env.engine.clone(),
                stream,
                intake: intake.clone(),
                dir: dir.clone(),
                disk: env.disk.clone(),
                stop: stop_rx.clone(),
                saved: source_saved.clone(),
            };
            source_saved.store(0, Ordering::SeqCst);
            tokio::spawn(pump.run());
        }
        let backup = self
            .backup_runtime_of(def)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let holds = Arc::new(crate::worker::Holds::new(source_saved, backup.is_some()));
        let worker = Worker {
            runtime: runtime.clone(),
            reader: intake.reader.clone(),
            committed: intake.committed.clone(),
            stop: stop_rx,
            dir: dir.clone(),
            env: env.clone(),
            holds: holds.clone(),
            backup: false,
        };
        tokio::spawn(worker.run());
        let running = Running {
            incarnation: def.incarnation,
            encrypted: std::sync::atomic::AtomicBool::new(def.encryption.is_some()),
            kinesis_source: def.source.is_some(),
            intake,
            runtime,
            backup: Mutex::new(None),
            holds,
            dir,
            stop,
        };
        if let Some(rt) = backup {
            self.start_backup(&running, rt)?;
        }
        let old = self
            .inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(def.name.clone(), running);
        if let Some(old) = old {
            let _ = old.stop.send(true);
        }
        Ok(())
    }

    /// Saves the catalog with `change` applied, or leaves it as it was.
    fn change<T>(&self, f: impl FnOnce(&mut CatalogFile) -> Result<T>) -> Result<T> {
        let mut cat = self.catalog();
        let mut next = cat.clone();
        let out = f(&mut next)?;
        next.save(&*self.inner.env.disk, &self.inner.config.dir).map_err(io)?;
        *cat = next;
        Ok(out)
    }

    /// CreateDeliveryStream.
    pub fn create(&self, input: &Value) -> Result<Value> {
        let _control = self.control();
        let name = s(input, "DeliveryStreamName").unwrap_or_default().to_owned();
        let kind = s(input, "DeliveryStreamType").unwrap_or("DirectPut").to_owned();
        let now = self.inner.env.clock.now_ms();
        let source = match (kind.as_str(), input.get("KinesisStreamSourceConfiguration")) {
            ("DirectPut", None) => None,
            ("KinesisStreamAsSource", Some(c)) => Some(self.kinesis_source(c, now)?),
            ("DirectPut", Some(_)) => {
                return Err(DeliveryError::InvalidArgument(
                    "KinesisStreamSourceConfiguration is only allowed for the KinesisStreamAsSource type.".into(),
                ));
            }
            ("KinesisStreamAsSource", None) => {
                return Err(DeliveryError::InvalidArgument(
                    "KinesisStreamSourceConfiguration is required for the KinesisStreamAsSource type.".into(),
                ));
            }
            (other, _) => {
                return Err(DeliveryError::InvalidArgument(format!(
                    "DeliveryStreamType {other} is not supported by Rheo yet; use DirectPut or KinesisStreamAsSource."
                )));
            }
        };
        let destinations = [
            "S3DestinationConfiguration",
            "ExtendedS3DestinationConfiguration",
            "RedshiftDestinationConfiguration",
            "ElasticsearchDestinationConfiguration",
            "AmazonopensearchserviceDestinationConfiguration",
            "SplunkDestinationConfiguration",
            "HttpEndpointDestinationConfiguration",
            "AmazonOpenSearchServerlessDestinationConfiguration",
            "SnowflakeDestinationConfiguration",
            "IcebergDestinationConfiguration",
        ];
        let given: Vec<&str> = destinations.into_iter().filter(|d| input.get(*d).is_some()).collect();
        let destination = match given.as_slice() {
            ["S3DestinationConfiguration"] | ["ExtendedS3DestinationConfiguration"] => {
                let mut d = input[given[0]].as_object().cloned().unwrap_or_default();
                d.remove(spec::CHANNEL_KEY);
                d.remove(spec::HTTP_KEY);
                d
            }
            ["HttpEndpointDestinationConfiguration"] => spec::from_http(&input["HttpEndpointDestinationConfiguration"])
                .map_err(DeliveryError::InvalidArgument)?,
            [] => {
                return Err(DeliveryError::InvalidArgument(
                    "Exactly one destination configuration must be given.".into(),
                ));
            }
            [one] => {
                return Err(DeliveryError::InvalidArgument(format!(
                    "{one} is not supported by Rheo yet; use ExtendedS3DestinationConfiguration."
                )));
            }
            _ => {
                return Err(DeliveryError::InvalidArgument(
                    "Only one destination configuration may be given.".into(),
                ));
            }
        };
        self.check(&destination)?;
        let tags = tag_list(input.get("Tags"))?;
        let encryption = input
            .get("DeliveryStreamEncryptionConfigurationInput")
            .map(encryption_of);
        let now = self.inner.env.clock.now_ms();
        let arn = self.arn(&name);
        let account = self.inner.config.account.clone();
        let (source, positions) = source.unzip();
        let def = StreamDef {
            name: name.clone(),
            incarnation: 0,
            kind,
            create_ms: now,
            update_ms: now,
            version: 1,
            destination,
            tags,
            encryption,
            direct_put: input.get("DirectPutSourceConfiguration").cloned(),
            source,
            channel: None,
        };
        self.insert_and_start(def, positions.as_ref(), |cat| {
            if cat.streams.contains_key(&name) {
                return Err(DeliveryError::ResourceInUse(format!(
                    "Firehose {name} under accountId {account} already exists"
                )));
            }
            if cat.streams.len() >= MAX_STREAMS {
                return Err(DeliveryError::LimitExceeded(format!(
                    "You have already consumed your firehose quota of {MAX_STREAMS} hoses. Firehose names: {name}"
                )));
            }
            Ok(())
        })?;
        Ok(json!({ "DeliveryStreamARN": arn }))
    }

    /// The account's region and id.
    pub(crate) fn place(&self) -> (&str, &str) {
        (&self.inner.config.region, &self.inner.config.account)
    }

    /// Every definition (delivery streams and channels).
    pub(crate) fn defs(&self) -> Vec<StreamDef> {
        self.catalog().streams.values().cloned().collect()
    }

    /// The stream an ARN names, if it is on demand: its name and creation time.
    pub(crate) fn on_demand_stream(&self, arn: &str) -> Result<(String, i64)> {
        let parsed = rheo_types::Arn::parse(arn)
            .map_err(|_| DeliveryError::InvalidArgument(format!("StreamARN {arn} is not a valid stream ARN.")))?;
        let (on_demand, created_ms) = self
            .inner
            .env
            .engine
            .stream_mode(&parsed.stream)
            .ok_or_else(|| DeliveryError::ResourceNotFound(format!("Stream {} not found.", parsed.stream)))?;
        if !on_demand {
            return Err(DeliveryError::Validation(
                "Channels are supported only for data streams with the on-demand capacity mode.".into(),
            ));
        }
        Ok((parsed.stream.to_string(), created_ms))
    }

    /// Creates a hidden delivery stream (a channel's) reading `stream_arn` from now on.
    pub(crate) fn create_internal(
        &self,
        name: &str,
        kind: &str,
        destination: Spec,
        channel: Option<crate::channel::ChannelDef>,
        stream_arn: &str,
        unique: &dyn Fn(&mut dyn Iterator<Item = &StreamDef>) -> Result<()>,
    ) -> Result<StreamDef> {
        let _control = self.control();
        let now = self.inner.env.clock.now_ms();
        let (source, positions) = self.kinesis_source(&json!({"KinesisStreamARN": stream_arn}), now)?;
        let def = StreamDef {
            name: name.to_owned(),
            incarnation: 0,
            kind: kind.to_owned(),
            create_ms: now,
            update_ms: now,
            version: 1,
            destination,
            tags: Default::default(),
            encryption: None,
            direct_put: None,
            source: Some(source),
            channel,
        };
        self.insert_and_start(def, Some(&positions), |cat| unique(&mut cat.streams.values()))
    }

    /// Adds a stream to the catalog (its incarnation the next; where its source starts saved
    /// before it exists) once `check` passes with the catalog locked, and starts it; a stream
    /// that cannot start is taken out again (not serving, so not created).
    fn insert_and_start(
        &self,
        mut def: StreamDef,
        positions: Option<&crate::source::SourceCheckpoint>,
        check: impl FnOnce(&CatalogFile) -> Result<()>,
    ) -> Result<StreamDef> {
        let name = def.name.clone();
        let def = self.change(|cat| {
            check(cat)?;
            def.incarnation = cat.next_incarnation.max(1);
            if let Some(positions) = positions {
                let dir = self.inner.config.dir.join(def.incarnation.to_string());
                positions.save(&*self.inner.env.disk, &dir).map_err(io)?;
            }
            cat.next_incarnation = def.incarnation + 1;
            cat.streams.insert(name.clone(), def.clone());
            Ok(def)
        })?;
        if let Err(e) = self.start(&def) {
            let _ = self.change(|cat| Ok(cat.streams.remove(&name)));
            return Err(io(e));
        }
        Ok(def)
    }

    /// Changes a definition and the running stream's settings with it.
    pub(crate) fn update_internal(&self, name: &str, f: impl FnOnce(&mut StreamDef)) -> Result<StreamDef> {
        let _control = self.control();
        self.apply_update(name, |def| {
            f(def);
            Ok(())
        })
    }

    /// Applies `f` to a definition (which may refuse), checks its plan, moves its version on,
    /// saves it, and hands the running stream the new settings. The caller holds `control`.
    fn apply_update(&self, name: &str, f: impl FnOnce(&mut StreamDef) -> Result<()>) -> Result<StreamDef> {
        let now = self.inner.env.clock.now_ms();
        let def = self.change(|cat| {
            let def = cat.streams.get_mut(name).ok_or_else(|| self.not_found(name))?;
            f(def)?;
            self.check(&def.destination)?;
            def.version += 1;
            def.update_ms = now;
            Ok(def.clone())
        })?;
        let rt = self.runtime_of(&def)?;
        let backup = self.backup_runtime_of(&def)?;
        if let Some(r) = self.inner.running.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            *r.runtime.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(rt);
            let running_backup = r.backup.lock().unwrap_or_else(|p| p.into_inner()).clone();
            match (running_backup, backup) {
                (Some(slot), Some(b)) => *slot.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(b),
                (None, Some(b)) => self.start_backup(r, b).map_err(io)?,
                _ => {}
            }
        }
        Ok(def)
    }

    /// A Kinesis source's definition and the positions it starts from (each shard's end).
    pub(crate) fn kinesis_source(
        &self,
        c: &Value,
        now: i64,
    ) -> Result<(KinesisSource, crate::source::SourceCheckpoint)> {
        let arn = s(c, "KinesisStreamARN").unwrap_or_default();
        let parsed = rheo_types::Arn::parse(arn).map_err(|_| {
            DeliveryError::InvalidArgument(format!("KinesisStreamARN {arn} is not a valid stream ARN."))
        })?;
        let cfg = &self.inner.config;
        if parsed.account != cfg.account || parsed.region != cfg.region {
            return Err(DeliveryError::InvalidArgument(format!(
                "The Kinesis stream {arn} is not in this account and region."
            )));
        }
        let positions =
            crate::source::latest(&self.inner.env.engine, &parsed.stream).map_err(DeliveryError::InvalidArgument)?;
        let src = KinesisSource {
            stream_arn: arn.to_owned(),
            role_arn: s(c, "RoleARN").unwrap_or_default().to_owned(),
            start_ms: now,
        };
        Ok((src, positions))
    }

    /// DescribeDeliveryStream.
    pub fn describe(&self, name: &str) -> Result<Value> {
        let def = self.def(name)?;
        let (status, key_type, key_arn) = match &def.encryption {
            Some((t, a)) => ("ENABLED", Some(t.clone()), a.clone()),
            None => ("DISABLED", None, None),
        };
        let mut enc = json!({ "Status": status });
        if let Some(t) = key_type {
            enc["KeyType"] = json!(t);
        }
        if let Some(a) = key_arn {
            enc["KeyARN"] = json!(a);
        }
        let mut d = json!({
            "DeliveryStreamName": def.name,
            "DeliveryStreamARN": self.arn(&def.name),
            "DeliveryStreamStatus": "ACTIVE",
            "DeliveryStreamEncryptionConfiguration": enc,
            "DeliveryStreamType": def.kind,
            "VersionId": def.version.to_string(),
            "CreateTimestamp": def.create_ms as f64 / 1000.0,
            "Destinations": [destination_description(&def.destination)],
            "HasMoreDestinations": false,
        });
        if def.version > 1 {
            d["LastUpdateTimestamp"] = json!(def.update_ms as f64 / 1000.0);
        }
        if let Some(src) = &def.source {
            d["Source"] = json!({ "KinesisStreamSourceDescription": {
                "KinesisStreamARN": src.stream_arn,
                "RoleARN": src.role_arn,
                "DeliveryStartTimestamp": src.start_ms as f64 / 1000.0,
            }});
        } else if let Some(hint) = &def.direct_put {
            d["Source"] = json!({ "DirectPutSourceDescription": hint });
        }
        Ok(json!({ "DeliveryStreamDescription": d }))
    }

    /// ListDeliveryStreams.
    pub fn list(&self, input: &Value) -> Value {
        let limit = input.get("Limit").and_then(Value::as_u64).unwrap_or(10) as usize;
        let kind = s(input, "DeliveryStreamType");
        let after = s(input, "ExclusiveStartDeliveryStreamName");
        let cat = self.catalog();
        let mut names = cat
            .streams
            .values()
            .filter(|d| d.channel.is_none() && kind.is_none_or(|k| d.kind == k))
            .filter(|d| after.is_none_or(|a| d.name.as_str() > a))
            .map(|d| d.name.clone());
        let page: Vec<String> = names.by_ref().take(limit).collect();
        json!({ "DeliveryStreamNames": page, "HasMoreDeliveryStreams": names.next().is_some() })
    }

    /// DeleteDeliveryStream: the stream goes at once with its records not yet delivered.
    pub fn delete(&self, name: &str) -> Result<Value> {
        let _control = self.control();
        let def = self.change(|cat| {
            let def = cat.streams.remove(name);
            def.ok_or_else(|| self.not_found(name))
        })?;
        let running = self
            .inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
        if let Some(r) = running {
            let _ = r.stop.send(true);
        }
        let dir = self.inner.config.dir.join(def.incarnation.to_string());
        if let Err(e) = self.inner.env.disk.remove_dir_all(&dir) {
            tracing::warn!(error = %e, dir = %dir.display(), "a deleted delivery stream's data was not removed");
        }
        Ok(json!({}))
    }

    /// The intake of a DirectPut stream (a Kinesis-sourced one takes no puts).
    /// The stream's intake, incarnation and whether it is encrypted.
    fn intake(&self, name: &str) -> Result<(Intake, u64, bool)> {
        let running = self.inner.running.lock().unwrap_or_else(|p| p.into_inner());
        let r = running.get(name).ok_or_else(|| self.not_found(name))?;
        if r.kinesis_source {
            return Err(DeliveryError::InvalidArgument(
                "This operation is not permitted on KinesisStreamAsSource delivery stream type.".into(),
            ));
        }
        Ok((r.intake.clone(), r.incarnation, r.encrypted.load(Ordering::Relaxed)))
    }

    /// PutRecord: the record's id once it is on disk.
    pub async fn put_record(&self, name: &str, data: bytes::Bytes) -> Result<Value> {
        let (intake, incarnation, encrypted) = self.intake(name)?;
        let keys = intake
            .append(vec![(bytes::Bytes::new(), data)])
            .await
            .map_err(DeliveryError::ServiceUnavailable)?;
        let key = keys.first().map_or(0, |k| k.0);
        Ok(json!({ "RecordId": record_id(incarnation, key), "Encrypted": encrypted }))
    }

    /// PutRecordBatch: every record on disk, or every record failed.
    pub async fn put_record_batch(&self, name: &str, records: Vec<bytes::Bytes>) -> Result<Value> {
        let (intake, incarnation, encrypted) = self.intake(name)?;
        let total: usize = records.iter().map(|r| r.len()).sum();
        if total > MAX_BATCH_BYTES {
            return Err(DeliveryError::InvalidArgument(format!(
                "Records size exceeds {MAX_BATCH_BYTES} bytes limit"
            )));
        }
        let n = records.len();
        let frames = records.into_iter().map(|d| (bytes::Bytes::new(), d)).collect();
        match intake.append(frames).await {
            Ok(keys) => {
                let entries: Vec<Value> = keys
                    .iter()
                    .map(|(k, _)| json!({ "RecordId": record_id(incarnation, *k) }))
                    .collect();
                Ok(json!({ "FailedPutCount": 0, "Encrypted": encrypted, "RequestResponses": entries }))
            }
            Err(e) => {
                tracing::error!(error = %e, stream = %name, "a record batch could not be stored");
                let entry = json!({
                    "ErrorCode": "ServiceUnavailableException",
                    "ErrorMessage": "Slow down.",
                });
                Ok(json!({ "FailedPutCount": n, "Encrypted": encrypted, "RequestResponses": vec![entry; n] }))
            }
        }
    }

    /// UpdateDestination: the given members replace the destination's; the version moves on.
    pub fn update_destination(&self, input: &Value) -> Result<Value> {
        let _control = self.control();
        let name = s(input, "DeliveryStreamName").unwrap_or_default();
        let current = s(input, "CurrentDeliveryStreamVersionId").unwrap_or_default();
        let id = s(input, "DestinationId").unwrap_or_default();
        let updates = [
            "ExtendedS3DestinationUpdate",
            "S3DestinationUpdate",
            "HttpEndpointDestinationUpdate",
        ];
        let given: Vec<&str> = updates.into_iter().filter(|k| input.get(*k).is_some()).collect();
        let (kind, update) = match given[..] {
            [kind] => {
                let mut u = input[kind].as_object().cloned().unwrap_or_default();
                u.remove(spec::CHANNEL_KEY);
                u.remove(spec::HTTP_KEY);
                (kind, u)
            }
            [] => {
                return Err(DeliveryError::InvalidArgument(
                    "An S3, ExtendedS3 or HttpEndpoint destination update must be given.".into(),
                ));
            }
            _ => {
                return Err(DeliveryError::InvalidArgument(
                    "Only one destination update may be given.".into(),
                ));
            }
        };
        self.apply_update(name, |def| {
            if id != DESTINATION_ID {
                return Err(DeliveryError::InvalidArgument(format!(
                    "Destination Id {id} not found for Firehose {name}."
                )));
            }
            if current != def.version.to_string() {
                return Err(DeliveryError::ConcurrentModification(format!(
                    "Cannot update firehose: {name} since the current version id: {} and specified version id: {current} do not match",
                    def.version
                )));
            }
            let http = def.destination.contains_key(spec::HTTP_KEY);
            if http != (kind == "HttpEndpointDestinationUpdate") {
                return Err(DeliveryError::InvalidArgument(format!(
                    "{kind} does not match the Firehose stream's destination; Rheo does not change a destination's type."
                )));
            }
            if http {
                def.destination =
                    spec::update_http(&def.destination, &Value::Object(update)).map_err(DeliveryError::InvalidArgument)?;
                return Ok(());
            }
            let merged: Spec = spec::merge(&def.destination, &update);
            let enabled = |s: &Spec| {
                s.get("DynamicPartitioningConfiguration")
                    .and_then(|d| d.get("Enabled"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false)
            };
            let backup = |s: &Spec| s.get("S3BackupMode").and_then(Value::as_str) == Some("Enabled");
            if backup(&def.destination) && !backup(&merged) {
                return Err(DeliveryError::InvalidArgument(
                    "S3BackupMode cannot be changed from Enabled to Disabled: once backup is enabled, it cannot be disabled."
                        .into(),
                ));
            }
            if enabled(&merged) != enabled(&def.destination) {
                return Err(DeliveryError::InvalidArgument(
                    "Dynamic partitioning can be enabled only when a Firehose stream is created, and never disabled."
                        .into(),
                ));
            }
            def.destination = merged;
            Ok(())
        })?;
        Ok(json!({}))
    }

    /// TagDeliveryStream.
    pub fn tag(&self, name: &str, tags: Option<&Value>) -> Result<Value> {
        let add = tag_list(tags)?;
        self.change(|cat| {
            let def = cat.streams.get_mut(name).ok_or_else(|| self.not_found(name))?;
            let mut next = def.tags.clone();
            next.extend(add);
            if next.len() > MAX_TAGS {
                return Err(DeliveryError::LimitExceeded(format!(
                    "A Firehose stream cannot have more than {MAX_TAGS} tags."
                )));
            }
            def.tags = next;
            Ok(json!({}))
        })
    }

    /// UntagDeliveryStream.
    pub fn untag(&self, name: &str, keys: &[String]) -> Result<Value> {
        self.change(|cat| {
            let def = cat.streams.get_mut(name).ok_or_else(|| self.not_found(name))?;
            for k in keys {
                def.tags.remove(k);
            }
            Ok(json!({}))
        })
    }

    /// ListTagsForDeliveryStream.
    pub fn list_tags(&self, name: &str, input: &Value) -> Result<Value> {
        let def = self.def(name)?;
        let limit = input.get("Limit").and_then(Value::as_u64).unwrap_or(50) as usize;
        let after = s(input, "ExclusiveStartTagKey");
        let mut tags = def.tags.iter().filter(|(k, _)| after.is_none_or(|a| k.as_str() > a));
        let page: Vec<Value> = tags
            .by_ref()
            .take(limit)
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect();
        Ok(json!({ "Tags": page, "HasMoreTags": tags.next().is_some() }))
    }

    /// StartDeliveryStreamEncryption / StopDeliveryStreamEncryption: recorded (Rheo's disk
    /// encryption is the host's).
    pub fn set_encryption(&self, name: &str, config: Option<&Value>) -> Result<Value> {
        let _control = self.control();
        self.change(|cat| {
            let def = cat.streams.get_mut(name).ok_or_else(|| self.not_found(name))?;
            def.encryption = config.map(encryption_of);
            Ok(json!({}))
        })?;
        if let Some(r) = self.inner.running.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
            r.encrypted.store(config.is_some(), Ordering::Relaxed);
        }
        Ok(json!({}))
    }

    /// Stops every worker (the records stay in the intake for the next open).
    pub fn close(&self) {
        for r in self.inner.running.lock().unwrap_or_else(|p| p.into_inner()).values() {
            let _ = r.stop.send(true);
        }
    }
}

/// A destination as Describe gives it: an HTTP endpoint's, or an S3 one's in both forms.
fn destination_description(destination: &Spec) -> Value {
    if let Some(h) = destination.get(spec::HTTP_KEY) {
        return json!({
            "DestinationId": DESTINATION_ID,
            "HttpEndpointDestinationDescription": h["Description"],
        });
    }
    json!({
        "DestinationId": DESTINATION_ID,
        "S3DestinationDescription": spec::describe_plain(destination),
        "ExtendedS3DestinationDescription": spec::describe(destination),
    })
}

fn encryption_of(v: &Value) -> (String, Option<String>) {
    (
        s(v, "KeyType").unwrap_or("AWS_OWNED_CMK").to_owned(),
        s(v, "KeyARN").map(str::to_owned),
    )
}

fn tag_list(v: Option<&Value>) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for t in v.and_then(Value::as_array).into_iter().flatten() {
        let key = s(t, "Key").unwrap_or_default().to_owned();
        out.insert(key, s(t, "Value").unwrap_or_default().to_owned());
    }
    if out.len() > MAX_TAGS {
        return Err(DeliveryError::LimitExceeded(format!(
            "A Firehose stream cannot have more than {MAX_TAGS} tags."
        )));
    }
    Ok(out)
}
