//! Crash safety: a child server under concurrent PutRecords load is killed with SIGKILL again
//! and again; after each restart every acknowledged record is readable exactly once, in order,
//! and new sequence numbers keep increasing. A second test kills the server while it splits,
//! merges and rescales a stream under load: after each restart the shard map is the old or the
//! new one, never a mix, and a reader following lineage finds every acknowledged record. (Power-cut safety, which SIGKILL cannot show, is
//! proven on the log with a simulated disk in rheo-log's tests.)

use crate::common::{ChildServer, client_for};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start(data: &Path) -> ChildServer {
    let data = data.to_str().unwrap();
    ChildServer::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--transition-delay-ms",
            "0",
            "--data-dir",
            data,
        ],
        &[],
    )
}

/// Every record in the stream, per shard, in shard order: (sequence number, payload).
async fn read_all(c: &Client, stream: &str) -> HashMap<String, Vec<(String, String)>> {
    let mut out = HashMap::new();
    let shards = c.list_shards().stream_name(stream).send().await.unwrap();
    for s in shards.shards() {
        let it = c
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(s.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let mut it = it.shard_iterator().unwrap().to_owned();
        let mut recs = Vec::new();
        loop {
            let r = c.get_records().shard_iterator(&it).send().await.unwrap();
            if r.records().is_empty() {
                break;
            }
            recs.extend(r.records().iter().map(|r| {
                (
                    r.sequence_number().to_owned(),
                    String::from_utf8(r.data().as_ref().to_vec()).unwrap(),
                )
            }));
            it = r.next_shard_iterator().unwrap().to_owned();
        }
        out.insert(s.shard_id().to_owned(), recs);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_never_loses_acknowledged_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let c = client_for(&server.url);
    c.create_stream()
        .stream_name("crash")
        .shard_count(2)
        .send()
        .await
        .unwrap();
    // Acknowledged payloads per producer, in acknowledgement order.
    let acked: Arc<Mutex<HashMap<usize, Vec<String>>>> = Arc::default();
    let mut max_seq: HashMap<String, String> = HashMap::new();
    for round in 0..5 {
        let c = client_for(&server.url);
        let mut producers = Vec::new();
        for p in 0..4usize {
            let (c, acked) = (c.clone(), acked.clone());
            producers.push(tokio::spawn(async move {
                for n in 0.. {
                    let batch: Vec<_> = (0..10)
                        .map(|i| {
                            let payload = format!("r{round}-p{p}-{n}-{i}");
                            PutRecordsRequestEntry::builder()
                                .partition_key(format!("producer-{p}"))
                                .data(Blob::new(payload))
                                .build()
                                .unwrap()
                        })
                        .collect();
                    let Ok(out) = c
                        .put_records()
                        .stream_name("crash")
                        .set_records(Some(batch))
                        .send()
                        .await
                    else {
                        return;
                    };
                    assert_eq!(out.failed_record_count(), Some(0));
                    let mut a = acked.lock().unwrap();
                    a.entry(p)
                        .or_default()
                        .extend((0..10).map(|i| format!("r{round}-p{p}-{n}-{i}")));
                }
            }));
        }
        // Kill only once this round has acknowledged something, then at a varying moment.
        let acked_before: usize = acked.lock().unwrap().values().map(Vec::len).sum();
        let mut progressed = false;
        for _ in 0..1000 {
            progressed = acked.lock().unwrap().values().map(Vec::len).sum::<usize>() > acked_before;
            if progressed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(progressed, "round {round} acknowledged records before the kill");
        tokio::time::sleep(Duration::from_millis(50 + 70 * round as u64)).await;
        server.kill();
        for p in producers {
            p.await.unwrap();
        }
        server = start(dir.path());
        let c = client_for(&server.url);
        let stored = read_all(&c, "crash").await;
        let acked = acked.lock().unwrap().clone();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for recs in stored.values() {
            for w in recs.windows(2) {
                assert!(w[0].0 < w[1].0, "sequence numbers increase within a shard");
            }
            for (_, payload) in recs {
                *seen.entry(payload.as_str()).or_default() += 1;
            }
        }
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        if !twice.is_empty() {
            for (shard, recs) in &stored {
                for (i, (s, d)) in recs.iter().enumerate() {
                    if seen[d.as_str()] > 1 {
                        eprintln!("{shard} #{i} {s} {d}");
                    }
                }
            }
        }
        assert!(twice.is_empty(), "no record is stored twice: {twice:?}");
        for (p, payloads) in &acked {
            // A producer's records share a partition key, so one shard holds them in order.
            let shard = stored
                .values()
                .find(|recs| recs.iter().any(|(_, d)| d.contains(&format!("-p{p}-"))))
                .unwrap();
            let order: Vec<&str> = shard
                .iter()
                .map(|(_, d)| d.as_str())
                .filter(|d| d.contains(&format!("-p{p}-")))
                .collect();
            let mut it = order.iter();
            for payload in payloads {
                assert!(
                    it.any(|d| d == payload),
                    "acknowledged record {payload} is stored, in order (round {round})"
                );
            }
        }
        // Per shard (numbers of different shards do not compare): the newest only grows.
        for (shard, records) in &stored {
            let newest = records.iter().map(|(s, _)| s.clone()).max().unwrap();
            let before = max_seq.insert(shard.clone(), newest.clone()).unwrap_or_default();
            assert!(newest > before, "{shard}");
        }
        let put = c
            .put_record()
            .stream_name("crash")
            .partition_key("after")
            .data(Blob::new(format!("after-{round}")))
            .send()
            .await
            .unwrap();
        let before = max_seq.get(put.shard_id()).cloned().unwrap_or_default();
        assert!(
            put.sequence_number() > before.as_str(),
            "new sequence numbers keep increasing after a restart"
        );
        max_seq.insert(put.shard_id().to_owned(), put.sequence_number().to_owned());
    }
}

/// The open shards cover the hash key space exactly once, every closed shard has children,
/// and every child starts above the end of each of its parents.
fn assert_consistent_map(shards: &[aws_sdk_kinesis::types::Shard]) {
    let range = |s: &aws_sdk_kinesis::types::Shard| {
        let r = s.hash_key_range().unwrap();
        (
            r.starting_hash_key().parse::<u128>().unwrap(),
            r.ending_hash_key().parse::<u128>().unwrap(),
        )
    };
    let by_id: HashMap<&str, &aws_sdk_kinesis::types::Shard> = shards.iter().map(|s| (s.shard_id(), s)).collect();
    let mut open: Vec<(u128, u128)> = shards
        .iter()
        .filter(|s| s.sequence_number_range().unwrap().ending_sequence_number().is_none())
        .map(range)
        .collect();
    open.sort();
    assert_eq!(open.first().map(|r| r.0), Some(0), "open shards start at 0: {open:?}");
    assert_eq!(open.last().map(|r| r.1), Some(u128::MAX), "open shards end at 2^128-1");
    for w in open.windows(2) {
        assert_eq!(
            w[0].1.checked_add(1),
            Some(w[1].0),
            "open shards neither overlap nor leave gaps"
        );
    }
    for s in shards {
        let parents = s.parent_shard_id().into_iter().chain(s.adjacent_parent_shard_id());
        for p in parents {
            let parent = by_id[p];
            let end = parent.sequence_number_range().unwrap().ending_sequence_number();
            let end = end.unwrap_or_else(|| panic!("parent {p} of {} is closed", s.shard_id()));
            assert!(s.sequence_number_range().unwrap().starting_sequence_number() > end);
        }
        let closed = s.sequence_number_range().unwrap().ending_sequence_number().is_some();
        let has_children = shards
            .iter()
            .any(|c| c.parent_shard_id() == Some(s.shard_id()) || c.adjacent_parent_shard_id() == Some(s.shard_id()));
        assert_eq!(
            closed,
            has_children,
            "{} is closed exactly when it has children",
            s.shard_id()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_resharding_leaves_one_shard_map_and_every_acknowledged_record() {
    use crate::common::{all_shards, open_ids, read_by_lineage, wait_active};
    use aws_sdk_kinesis::types::ScalingType;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--transition-delay-ms",
        "60",
        "--data-dir",
        &data,
    ];
    let mut server = ChildServer::start(&args, &[]);
    let c = client_for(&server.url);
    c.create_stream().stream_name("rs").shard_count(2).send().await.unwrap();
    wait_active(&c, "rs").await;
    // Acknowledged values per partition key, in acknowledgement order.
    let acked: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let (mut reshards_seen, mut killed_while_updating) = (0, 0);
    for round in 0..6u32 {
        let c = client_for(&server.url);
        let mut tasks = Vec::new();
        for w in 0..3 {
            let (c, acked) = (c.clone(), acked.clone());
            tasks.push(tokio::spawn(async move {
                // One record per key and batch; a key's next value goes out after the last was
                // acknowledged, so per-key order is defined.
                let keys: Vec<String> = (0..12).map(|k| format!("r{round}-w{w}-k{k}")).collect();
                for n in 0u32.. {
                    let entries = keys
                        .iter()
                        .map(|k| {
                            let e = PutRecordsRequestEntry::builder().partition_key(k);
                            e.data(Blob::new(format!("{k}:{n}"))).build().unwrap()
                        })
                        .collect();
                    let Ok(out) = c
                        .put_records()
                        .stream_name("rs")
                        .set_records(Some(entries))
                        .send()
                        .await
                    else {
                        return;
                    };
                    assert_eq!(
                        out.failed_record_count(),
                        Some(0),
                        "no record is refused while resharding"
                    );
                    let mut a = acked.lock().unwrap();
                    for k in &keys {
                        a.entry(k.clone()).or_default().push(n);
                    }
                }
            }));
        }
        // Reshard again and again: split, merge, scale up and down.
        let resharder = {
            let c = c.clone();
            tokio::spawn(async move {
                let mut done = 0u32;
                for step in 0u32.. {
                    let shards = match c.list_shards().stream_name("rs").send().await {
                        Ok(out) => out.shards().to_vec(),
                        Err(_) => return done,
                    };
                    let open = open_ids(&shards);
                    let sent = match step % 3 {
                        0 => {
                            let s = shards.iter().find(|s| s.shard_id() == open[0]).unwrap();
                            let r = s.hash_key_range().unwrap();
                            let (a, b) = (
                                r.starting_hash_key().parse::<u128>().unwrap(),
                                r.ending_hash_key().parse::<u128>().unwrap(),
                            );
                            let mid = a + (b - a) / 2;
                            c.split_shard()
                                .stream_name("rs")
                                .shard_to_split(&open[0])
                                .new_starting_hash_key(mid.to_string())
                                .send()
                                .await
                                .map(|_| ())
                                .map_err(|e| (e.code().map(str::to_owned), format!("{e:?}")))
                        }
                        1 => {
                            // Merge the two open shards adjacent at the lowest boundary.
                            let mut by_start: Vec<_> = shards
                                .iter()
                                .filter(|s| open.contains(&s.shard_id().to_owned()))
                                .collect();
                            by_start.sort_by_key(|s| {
                                s.hash_key_range().unwrap().starting_hash_key().parse::<u128>().unwrap()
                            });
                            c.merge_shards()
                                .stream_name("rs")
                                .shard_to_merge(by_start[0].shard_id())
                                .adjacent_shard_to_merge(by_start[1].shard_id())
                                .send()
                                .await
                                .map(|_| ())
                                .map_err(|e| (e.code().map(str::to_owned), format!("{e:?}")))
                        }
                        _ => {
                            let n = open.len() as i32;
                            let target = if n <= 2 { 2 * n } else { (n + 1) / 2 };
                            c.update_shard_count()
                                .stream_name("rs")
                                .target_shard_count(target)
                                .scaling_type(ScalingType::UniformScaling)
                                .send()
                                .await
                                .map(|_| ())
                                .map_err(|e| (e.code().map(str::to_owned), format!("{e:?}")))
                        }
                    };
                    if let Err((code, e)) = sent {
                        // Only the kill may stop the resharder; the server refuses none of these.
                        assert!(code.is_none(), "reshard step {step} refused: {e}");
                        return done;
                    }
                    // Wait for ACTIVE again before the next one.
                    loop {
                        match c.describe_stream_summary().stream_name("rs").send().await {
                            Ok(d) if d.stream_description_summary().unwrap().stream_status().as_str() == "ACTIVE" => {
                                break;
                            }
                            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                            Err(_) => return done,
                        }
                    }
                    done += 1;
                }
                done
            })
        };
        // Kill once this round has acknowledged records, at a moment that varies by round.
        let acked_before: usize = acked.lock().unwrap().values().map(Vec::len).sum();
        for _ in 0..1000 {
            if acked.lock().unwrap().values().map(Vec::len).sum::<usize>() > acked_before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(150 + 37 * u64::from(round))).await;
        server.kill();
        for t in tasks {
            t.await.unwrap();
        }
        reshards_seen += resharder.await.unwrap();
        server = ChildServer::start(&args, &[]);
        let c = client_for(&server.url);
        let summary = c.describe_stream_summary().stream_name("rs").send().await.unwrap();
        let status = summary
            .stream_description_summary()
            .unwrap()
            .stream_status()
            .as_str()
            .to_owned();
        killed_while_updating += u32::from(status == "UPDATING");
        // A reshard pending at the kill completes after the restart.
        wait_active(&c, "rs").await;
        let shards = all_shards(&c, "rs").await;
        assert_consistent_map(&shards);
        let mut stored: HashMap<String, Vec<u32>> = HashMap::new();
        for (key, data) in read_by_lineage(&c, "rs").await {
            let n = data.rsplit(':').next().unwrap().parse().unwrap();
            stored.entry(key).or_default().push(n);
        }
        for (key, values) in &stored {
            assert!(
                values.windows(2).all(|w| w[0] < w[1]),
                "{key}: read by lineage, values are once each and in order: {values:?}"
            );
        }
        for (key, values) in acked.lock().unwrap().iter() {
            let got = stored.get(key).map(Vec::as_slice).unwrap_or_default();
            for n in values {
                assert!(
                    got.contains(n),
                    "acknowledged {key}:{n} survives the kill in round {round}"
                );
            }
        }
    }
    assert!(reshards_seen >= 6, "reshards completed between kills: {reshards_seen}");
    // The stream is UPDATING for all but the moments between one reshard and the next.
    assert!(killed_while_updating >= 1, "some kills came with a reshard pending");
}
