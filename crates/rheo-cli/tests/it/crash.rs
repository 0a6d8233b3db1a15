//! Crash safety: a child server under concurrent PutRecords load is killed with SIGKILL again
//! and again; after each restart every acknowledged record is readable exactly once, in order,
//! and new sequence numbers keep increasing. (Power-cut safety, which SIGKILL cannot show, is
//! proven on the log with a simulated disk in rheo-log's tests.)

use crate::common::{ChildServer, client_for};
use aws_sdk_kinesis::Client;
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
    let mut max_seq = String::new();
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
        let newest = stored.values().flatten().map(|(s, _)| s.clone()).max().unwrap();
        assert!(newest > max_seq);
        max_seq = newest;
        let put = c
            .put_record()
            .stream_name("crash")
            .partition_key("after")
            .data(Blob::new(format!("after-{round}")))
            .send()
            .await
            .unwrap();
        assert!(
            put.sequence_number() > max_seq.as_str(),
            "new sequence numbers keep increasing after a restart"
        );
        max_seq = put.sequence_number().to_owned();
    }
}
