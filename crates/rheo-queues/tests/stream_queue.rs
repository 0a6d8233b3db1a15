//! A model test of Kinesis queues' delivery state on the simulated disk: records appended to
//! a two-shard stream, received, acknowledged, the journal compacted, I/O errors and power
//! cuts. After every power cut and restart, no acknowledged record is delivered again, and
//! every other record of the stream is still delivered, each once per delivery (the queue's
//! cursors never lose or repeat a record).

use bytes::Bytes;
use proptest::prelude::*;
use rheo_log::disk::{EIO, Op, SimDisk};
use rheo_log::{Durability, LogConfig};
use rheo_queues::stream_queue::{RecordSource, Side, SourceRecord, SourceShard, StreamQueueSpec};
use rheo_queues::{QueueError, Sqs, SqsConfig};
use rheo_types::clock::{Clock, ManualClock};
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

/// A stream held in memory: each shard's records, by position.
#[derive(Default)]
struct Stream {
    shards: [Vec<SourceRecord>; 2],
}

impl Stream {
    fn append(&mut self, shard: usize, now_ms: i64) -> String {
        let key = self.shards[shard].len() as u64;
        let id = format!("{shard}x{key}");
        self.shards[shard].push(SourceRecord {
            key,
            record_id: id.clone(),
            arrival_ms: now_ms,
            partition_key: "pk".into(),
            data: Bytes::from(id.clone()),
        });
        id
    }
}

impl RecordSource for Stream {
    fn shards(&self) -> Vec<SourceShard> {
        vec![SourceShard { index: 0 }, SourceShard { index: 1 }]
    }
    fn position_at(&self, _shard: u32, _ts: i64) -> Result<u64, QueueError> {
        Ok(0)
    }
    fn read(&self, shard: u32, from: u64, max: usize) -> Result<Vec<SourceRecord>, QueueError> {
        let all = &self.shards[shard as usize];
        Ok(all.iter().skip(from as usize).take(max).cloned().collect())
    }
    fn get(&self, shard: u32, key: u64) -> Result<Option<SourceRecord>, QueueError> {
        Ok(self.shards[shard as usize].get(key as usize).cloned())
    }
    fn changed(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::pending())
    }
}

#[derive(Debug, Clone)]
enum Step {
    Append(usize, usize),
    Receive,
    Ack(usize),
    Expire,
    Tick,
    Fail(Op, usize),
    PowerCut(usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let op = prop_oneof![Just(Op::Write), Just(Op::Sync), Just(Op::Open), Just(Op::Rename)];
    prop::collection::vec(
        prop_oneof![
            4 => (0..2usize, 1..30usize).prop_map(|(s, n)| Step::Append(s, n)),
            5 => Just(Step::Receive),
            5 => any::<usize>().prop_map(Step::Ack),
            1 => Just(Step::Expire),
            1 => Just(Step::Tick),
            1 => (op, 1..3usize).prop_map(|(o, n)| Step::Fail(o, n)),
            2 => any::<usize>().prop_map(Step::PowerCut),
        ],
        1..50,
    )
}

fn spec() -> StreamQueueSpec {
    StreamQueueSpec {
        id: "model".into(),
        visibility_s: 30,
        max_receive_count: None,
        retention_ms: 86_400_000,
        start_ms: None,
    }
}

/// Opened off the runtime, so the service starts no background tick: the steps alone drive
/// it, and no tick of a dropped instance can still be writing when the power is cut.
fn open(disk: &SimDisk, clock: &Arc<ManualClock>) -> Sqs {
    let (disk, clock) = (disk.clone(), clock.clone());
    std::thread::spawn(move || open_here(&disk, &clock)).join().unwrap()
}

fn open_here(disk: &SimDisk, clock: &Arc<ManualClock>) -> Sqs {
    let config = SqsConfig {
        data_dir: PathBuf::from("/rheo-stream-queue-model/sqs"),
        account: "000000000000".into(),
        region: "us-east-1".into(),
        log: LogConfig {
            segment_bytes: 2048,
            durability: Durability::Fsync,
            ..LogConfig::default()
        },
        limits: rheo_queues::SqsLimits::default(),
        server_bytes: Default::default(),
    };
    let sqs = Sqs::open(config, clock.clone() as Arc<dyn Clock>, Arc::new(disk.clone()))
        .expect("the queues open after any power cut");
    sqs.ensure_stream_queue(&spec()).expect("the queue's state is made");
    sqs
}

async fn run(steps: Vec<Step>) {
    let disk = SimDisk::default();
    let clock = Arc::new(ManualClock::default());
    let mut stream = Stream::default();
    let mut sqs = open(&disk, &clock);
    // Records whose acknowledgement succeeded: never delivered again.
    let mut acked: BTreeSet<String> = BTreeSet::new();
    // Records received and not acknowledged, with their handles.
    let mut in_flight: Vec<(String, String)> = Vec::new();
    for step in steps {
        match step {
            Step::Append(shard, n) => {
                for _ in 0..n {
                    stream.append(shard, clock.now_ms());
                }
            }
            Step::Receive => {
                if let Ok((got, _)) = sqs.receive_records(&spec(), &stream, Side::Records, 10, None).await {
                    for r in got {
                        assert!(
                            !acked.contains(&r.record_id),
                            "acknowledged {} delivered again",
                            r.record_id
                        );
                        assert_eq!(r.data, Bytes::from(r.record_id.clone()));
                        in_flight.push((r.record_id, r.receipt_handle));
                    }
                }
            }
            Step::Ack(i) => {
                if in_flight.is_empty() {
                    continue;
                }
                let (id, handle) = in_flight.remove(i % in_flight.len());
                if let Ok(results) = sqs.ack_records(&spec().id, Side::Records, &[handle]).await
                    && results[0].is_ok()
                {
                    acked.insert(id);
                }
            }
            Step::Expire => {
                clock.advance_ms(31_000);
                in_flight.clear();
            }
            Step::Tick => sqs.tick().await,
            Step::Fail(op, times) => disk.fail(op, times, EIO),
            Step::PowerCut(seed) => {
                drop(sqs);
                let mut rng = seed;
                disk.power_cut(|_, len| {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    if len == 0 { 0 } else { (rng >> 33) % (len + 1) }
                });
                sqs = open(&disk, &clock);
                in_flight.clear();
            }
        }
    }
    // A last restart, then every record not acknowledged is delivered exactly once (its
    // visibility outlasts the drain), and no acknowledged one.
    drop(sqs);
    disk.power_cut(|_, _| 0);
    let sqs = open(&disk, &clock);
    clock.advance_ms(31_000);
    let mut delivered: BTreeSet<String> = BTreeSet::new();
    loop {
        let (got, _) = sqs
            .receive_records(&spec(), &stream, Side::Records, 10, Some(3600))
            .await
            .expect("receives work on a healthy disk");
        if got.is_empty() {
            break;
        }
        for r in got {
            assert!(
                !acked.contains(&r.record_id),
                "acknowledged {} delivered again",
                r.record_id
            );
            assert!(delivered.insert(r.record_id.clone()), "{} delivered twice", r.record_id);
        }
    }
    for shard in &stream.shards {
        for r in shard {
            assert!(
                acked.contains(&r.record_id) || delivered.contains(&r.record_id),
                "{} was lost",
                r.record_id
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn no_record_is_lost_repeated_or_delivered_after_its_acknowledgement(steps in steps()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(steps));
    }
}
