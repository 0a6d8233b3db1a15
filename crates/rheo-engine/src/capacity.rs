//! Capacity: UpdateStreamMode, UpdateMaxRecordSize, UpdateStreamWarmThroughput,
//! UpdateStreamRecordDistributionStrategy, and the scaler that reshards on-demand streams from
//! their observed write rates (the decision itself is [`crate::scaling::decide`]).

use crate::catalog::{Distribution, StreamMeta, StreamMode};
use crate::control::{check_on_demand_settings, require_active};
use crate::scaling::{self, Rate, SUSTAIN_SECONDS, ShardLoad, StreamLoad};
use crate::{Engine, Error};
use rheo_types::StreamName;
use rheo_types::limits::ON_DEMAND_STREAM_LIMIT;

/// The most warm throughput a stream may ask for, in MiB/s (AWS's 10 GiB/s).
pub const MAX_WARM_THROUGHPUT_MIBPS: u32 = 10 * 1024;

/// What UpdateStreamWarmThroughput reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmThroughput {
    pub target_mibps: u32,
    pub current_mibps: u32,
}

impl WarmThroughput {
    /// An on-demand stream's warm throughput: the target asked for, and what its open shards
    /// take now (1 MiB/s each).
    pub fn of(meta: &StreamMeta) -> Option<WarmThroughput> {
        (meta.mode == StreamMode::OnDemand).then(|| WarmThroughput {
            target_mibps: meta.settings.warm_throughput_mibps.unwrap_or(0),
            current_mibps: meta.open_shard_count(),
        })
    }
}

impl Engine {
    /// UpdateStreamMode. The new mode applies at once; shards are kept.
    pub async fn update_stream_mode(
        &self,
        name: &StreamName,
        mode: StreamMode,
        warm_mibps: Option<u32>,
    ) -> Result<(), Error> {
        let account = self.inner.config.account.clone();
        self.update_meta(name, |meta, c| {
            require_active(meta, c.now)?;
            if meta.mode == mode {
                return Err(Error::InvalidArgument(format!(
                    "Stream {name} under account {account} is already in {} mode.",
                    mode.as_str()
                )));
            }
            if mode == StreamMode::Provisioned && meta.live_queues(c.now).next().is_some() {
                return Err(Error::InUse(format!(
                    "Stream {name} under account {account} has queues, which need ON_DEMAND mode. Delete them first."
                )));
            }
            if mode == StreamMode::OnDemand && c.on_demand_streams >= ON_DEMAND_STREAM_LIMIT {
                return Err(Error::LimitExceeded(format!(
                    "This request would exceed the limit of {ON_DEMAND_STREAM_LIMIT} on-demand streams for the account {account}."
                )));
            }
            let mut settings = meta.settings.clone();
            settings.warm_throughput_mibps = warm_mibps.map(check_warm).transpose()?;
            if mode == StreamMode::Provisioned {
                // AUTO distribution exists only on on-demand streams.
                settings.distribution = Distribution::UserPartitionKey;
            }
            check_on_demand_settings(name, mode, &settings)?;
            meta.mode = mode;
            meta.settings = settings;
            Ok(())
        })
    }

    /// UpdateMaxRecordSize: records up to `kib` KiB (1024 to 10240) are accepted.
    pub async fn update_max_record_size(&self, name: &StreamName, kib: u32) -> Result<(), Error> {
        self.update_meta(name, |meta, c| {
            require_active(meta, c.now)?;
            meta.settings.max_record_kib = Some(kib);
            Ok(())
        })
    }

    /// UpdateStreamWarmThroughput (on-demand streams only). The scaler raises the open shards
    /// to the target.
    pub async fn update_warm_throughput(&self, name: &StreamName, mibps: u32) -> Result<WarmThroughput, Error> {
        let account = self.inner.config.account.clone();
        self.update_meta(name, |meta, c| {
            require_active(meta, c.now)?;
            if meta.mode != StreamMode::OnDemand {
                return Err(Error::InvalidArgument(format!(
                    "Warm throughput is only supported for streams in ON_DEMAND mode; stream {name} under account {account} is PROVISIONED."
                )));
            }
            meta.settings.warm_throughput_mibps = Some(check_warm(mibps)?);
            Ok(WarmThroughput {
                target_mibps: mibps,
                current_mibps: meta.open_shard_count(),
            })
        })
    }

    /// UpdateStreamRecordDistributionStrategy; AUTO only on on-demand streams.
    pub async fn update_distribution(&self, name: &StreamName, distribution: Distribution) -> Result<(), Error> {
        self.update_meta(name, |meta, c| {
            require_active(meta, c.now)?;
            let mut settings = meta.settings.clone();
            settings.distribution = distribution;
            check_on_demand_settings(name, meta.mode, &settings)?;
            meta.settings = settings;
            Ok(())
        })
    }

    /// The largest record data the stream accepts, in bytes.
    pub fn max_record_bytes(&self, name: &StreamName) -> Result<usize, Error> {
        self.with_meta(name, |meta, _| Ok(meta.settings.max_record_bytes()))
    }

    /// Reshards every ACTIVE on-demand stream whose observed writes call for it (run by the
    /// background tick).
    pub(crate) fn scale_on_demand(&self) {
        let now = self.now();
        let mut decisions = Vec::new();
        {
            let mut st = self.inner.lock();
            let crate::runtime::State {
                catalog,
                runtimes,
                peaks,
            } = &mut *st;
            for meta in catalog.live(now) {
                if meta.mode != StreamMode::OnDemand || meta.status(now) != crate::catalog::Status::Active {
                    continue;
                }
                let Some(rt) = runtimes.get(&meta.incarnation) else {
                    continue;
                };
                let open: Vec<ShardLoad> = meta
                    .shards
                    .iter()
                    .filter(|s| s.is_open())
                    .filter_map(|s| {
                        let meter = rt.shard(s.id)?.meter.lock().unwrap_or_else(|p| p.into_inner());
                        Some(ShardLoad {
                            id: s.id,
                            range: s.range,
                            recent: meter.writes.last_seconds(now, SUSTAIN_SECONDS).collect(),
                        })
                    })
                    .collect();
                let rate = scaling::stream_rate(&open);
                let peak = peaks.entry(meta.incarnation).or_default();
                *peak = Rate {
                    bytes: peak.bytes.max(rate.bytes),
                    records: peak.records.max(rate.records),
                };
                let load = StreamLoad {
                    open,
                    peak: *peak,
                    warm_throughput_mibps: meta.settings.warm_throughput_mibps,
                };
                if let Some(op) = scaling::decide(&load) {
                    decisions.push((meta.name.clone(), op));
                }
            }
        }
        for (name, op) in decisions {
            match self.begin_reshard(&name, op.clone(), true) {
                Ok(_) => tracing::info!(stream = %name, ?op, "on-demand scaling"),
                Err(e) => tracing::warn!(stream = %name, ?op, error = %e, "on-demand scaling refused"),
            }
        }
    }
}

fn check_warm(mibps: u32) -> Result<u32, Error> {
    if mibps > MAX_WARM_THROUGHPUT_MIBPS {
        return Err(Error::LimitExceeded(format!(
            "Warm throughput of {mibps} MiB/s exceeds the limit of {MAX_WARM_THROUGHPUT_MIBPS} MiB/s."
        )));
    }
    Ok(mibps)
}
