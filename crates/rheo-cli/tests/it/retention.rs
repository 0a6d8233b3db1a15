//! Retention: expired records are no longer returned, and whole expired segments are deleted.

use crate::common::*;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

fn segment_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            n += segment_files(&p);
        } else if p.extension().is_some_and(|x| x == "log") {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn records_past_retention_disappear_and_their_segments_are_deleted() {
    let server = TestServer::with(Options {
        segment_bytes: 8 * 1024,
        ..Default::default()
    })
    .await;
    let c = server.client();
    create_active(&c, "ret", 1).await;
    let put_batch = |tag: &'static str| {
        let c = c.clone();
        async move {
            let batch: Vec<_> = (0..40)
                .map(|i| {
                    PutRecordsRequestEntry::builder()
                        .partition_key("p")
                        .data(Blob::new(format!("{tag}{i:0>1000}")))
                        .build()
                        .unwrap()
                })
                .collect();
            c.put_records()
                .stream_name("ret")
                .set_records(Some(batch))
                .send()
                .await
                .unwrap();
        }
    };
    put_batch("old").await;
    put_batch("old").await;
    let before = segment_files(server.dir.path());
    assert!(before >= 2, "small segments roll");
    // 23 hours later new records arrive; at 25 hours the first ones are past 24 hours.
    server.clock.advance_ms(23 * 3_600_000);
    put_batch("new").await;
    assert_eq!(first_records(&c, "ret", "shardId-000000000000").await.len(), 120);
    // Counted while nothing has expired yet, so the background tick cannot have trimmed.
    let before_trim = segment_files(server.dir.path());
    server.clock.advance_ms(2 * 3_600_000);
    let left = first_records(&c, "ret", "shardId-000000000000").await;
    assert_eq!(left.len(), 40, "only records younger than 24 hours remain");
    assert!(left.iter().all(|r| r.data().as_ref().starts_with(b"new")));
    server.engine.tick().await;
    let after_trim = segment_files(server.dir.path());
    assert!(
        after_trim < before_trim,
        "expired segments are deleted: {before_trim} -> {after_trim}"
    );
    assert_eq!(
        first_records(&c, "ret", "shardId-000000000000").await.len(),
        40,
        "trimming removes no live record"
    );
    // Raising retention keeps records longer.
    c.increase_stream_retention_period()
        .stream_name("ret")
        .retention_period_hours(100)
        .send()
        .await
        .unwrap();
    server.clock.advance_ms(30 * 3_600_000);
    assert_eq!(first_records(&c, "ret", "shardId-000000000000").await.len(), 40);
}
