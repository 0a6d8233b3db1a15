//! A model test of the whole engine on the simulated disk: streams created and deleted (the
//! catalog), records put (the shard logs), I/O errors and full disks injected into any disk
//! operation, and power cuts. After every power cut and restart, every acknowledged stream and
//! every acknowledged record is there, in order; a stream or record whose call failed may be
//! there or not (its write may have reached the medium), and nothing else appears.

use bytes::Bytes;
use proptest::prelude::*;
use rheo_engine::catalog::StreamMode;
use rheo_engine::control::CreateStream;
use rheo_engine::data::{PutEntry, StartingPosition};
use rheo_engine::{Clock, Engine, EngineConfig, ManualClock};
use rheo_log::disk::{EIO, ENOSPC, Op, SimDisk};
use rheo_types::StreamName;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone)]
enum Step {
    Create(usize),
    Delete(usize),
    Put(usize, u8),
    Fail(Op, usize, bool),
    PowerCut(usize),
}

const NAMES: [&str; 3] = ["alpha", "beta", "gamma"];

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let op = prop_oneof![
        Just(Op::Write),
        Just(Op::Sync),
        Just(Op::SetLen),
        Just(Op::Open),
        Just(Op::Rename),
        Just(Op::SyncDir)
    ];
    prop::collection::vec(
        prop_oneof![
            2 => (0..3usize).prop_map(Step::Create),
            1 => (0..3usize).prop_map(Step::Delete),
            6 => (0..3usize, any::<u8>()).prop_map(|(s, b)| Step::Put(s, b)),
            1 => (op, any::<usize>(), any::<bool>()).prop_map(|(o, n, f)| Step::Fail(o, n, f)),
            1 => any::<usize>().prop_map(Step::PowerCut),
        ],
        1..30,
    )
}

fn open(disk: &SimDisk, clock: &Arc<ManualClock>) -> Engine {
    let mut config = EngineConfig::new(PathBuf::from("/rheo-engine-model/data"));
    config.transition_delay_ms = 0;
    config.tick_ms = 3_600_000;
    config.log.segment_bytes = 4096;
    Engine::open_on(config, clock.clone() as Arc<dyn Clock>, Arc::new(disk.clone()))
        .expect("the engine opens after any power cut")
}

/// What a stream may hold after a restart: its acknowledged records, and records whose put
/// failed (in doubt).
#[derive(Default, Debug)]
struct Model {
    /// Streams whose creation was acknowledged (and not deleted since), with their records.
    streams: BTreeMap<&'static str, Vec<Vec<u8>>>,
    /// Streams whose create or delete failed: either state is right after a restart.
    doubtful: BTreeSet<&'static str>,
    failed_records: BTreeSet<Vec<u8>>,
}

async fn records(engine: &Engine, name: &str) -> Option<Vec<Vec<u8>>> {
    let name = StreamName::parse(name).unwrap();
    let it = engine
        .get_shard_iterator(&name, "shardId-000000000000", StartingPosition::TrimHorizon)
        .await
        .ok()?;
    let read = engine.prepare_get_records(&it, None, None).unwrap();
    let mut out = Vec::new();
    read.run(|r| {
        out.push(r.data.to_vec());
        true
    })
    .unwrap();
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_engine_keeps_every_acknowledged_stream_and_record(steps in steps()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        rt.block_on(async move {
            let disk = SimDisk::default();
            let clock = Arc::new(ManualClock::default());
            let mut engine = open(&disk, &clock);
            let mut model = Model::default();
            let mut serial = 0u32;
            for step in steps {
                clock.advance_ms(1);
                match step {
                    Step::Create(i) => {
                        let name = NAMES[i];
                        let req = CreateStream {
                            name: StreamName::parse(name).unwrap(),
                            shard_count: Some(1),
                            mode: StreamMode::Provisioned,
                            tags: Default::default(),
                            settings: Default::default(),
                        };
                        match engine.create_stream(req).await {
                            Ok(()) => {
                                model.streams.insert(name, Vec::new());
                                model.doubtful.remove(name);
                            }
                            Err(_) if model.streams.contains_key(name) => {}
                            Err(_) => {
                                model.doubtful.insert(name);
                            }
                        }
                    }
                    Step::Delete(i) => {
                        let name = NAMES[i];
                        match engine.delete_stream(&StreamName::parse(name).unwrap(), true).await {
                            Ok(()) => {
                                model.streams.remove(name);
                                model.doubtful.remove(name);
                            }
                            Err(_) if model.streams.contains_key(name) => {
                                model.doubtful.insert(name);
                            }
                            Err(_) => {}
                        }
                        // Deleting takes no time here; let the catalog drop it.
                        clock.advance_ms(1);
                        engine.tick().await;
                    }
                    Step::Put(i, b) => {
                        let name = NAMES[i];
                        serial += 1;
                        let data = format!("{name}-{serial}-{b}").into_bytes();
                        let entry = PutEntry {
                            partition_key: Bytes::from_static(b"k"),
                            explicit_hash_key: None,
                            data: Bytes::from(data.clone()),
                        };
                        match engine.put_record(&StreamName::parse(name).unwrap(), entry, None).await {
                            Ok(_) => {
                                prop_assert!(model.streams.contains_key(name) || model.doubtful.contains(name));
                                model.streams.entry(name).or_default().push(data);
                                model.doubtful.remove(name);
                            }
                            Err(_) => {
                                model.failed_records.insert(data);
                            }
                        }
                    }
                    Step::Fail(op, n, full) => disk.fail(op, 1 + n % 3, if full { ENOSPC } else { EIO }),
                    Step::PowerCut(seed) => {
                        drop(engine);
                        // The writers see their queues close and stop.
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        disk.clear_faults();
                        disk.power_cut(|_, unsynced| seed % (unsynced + 1));
                        engine = open(&disk, &clock);
                        let (live, _) = engine.list_streams(None, None, None).await.unwrap();
                        let live: BTreeSet<String> = live.iter().map(|s| s.name.to_string()).collect();
                        for name in NAMES {
                            let acked = model.streams.contains_key(name);
                            let doubtful = model.doubtful.contains(name);
                            prop_assert!(
                                live.contains(name) == acked || doubtful,
                                "{name}: live {live:?}, model {model:?}"
                            );
                            if !live.contains(name) {
                                model.streams.remove(name);
                                continue;
                            }
                            let got = records(&engine, name).await.unwrap_or_default();
                            let want = model.streams.get(name).cloned().unwrap_or_default();
                            // Every acknowledged record, in order; between them only failed ones.
                            let mut want_iter = want.iter().peekable();
                            for r in &got {
                                if want_iter.peek() == Some(&r) {
                                    want_iter.next();
                                } else {
                                    prop_assert!(model.failed_records.contains(r), "{name}: {r:?} appeared from nowhere");
                                }
                            }
                            prop_assert!(want_iter.next().is_none(), "{name}: acknowledged records lost: got {got:?}, want {want:?}");
                            model.streams.insert(name, got);
                        }
                        model.doubtful.clear();
                    }
                }
            }
            Ok(())
        })?;
    }
}
