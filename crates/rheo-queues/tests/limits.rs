//! The limits a tenant's queues enforce: messages in flight per queue (OverLimit on standard
//! queues, nothing returned on FIFO queues), the message bytes a tenant may hold (OverLimit on
//! sends, room again after deletes), and RedriveAllowPolicy on a dead-letter target.

use rheo_log::LogConfig;
use rheo_log::disk::SimDisk;
use rheo_queues::{QueueError, ReceiveRequest, SendEntry, Sqs, SqsConfig, SqsLimits};
use rheo_types::clock::{Clock, ManualClock};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

fn open(limits: SqsLimits, clock: &Arc<ManualClock>) -> Sqs {
    let config = SqsConfig {
        data_dir: PathBuf::from("/rheo-queues-limits/sqs"),
        account: "000000000000".into(),
        region: "us-east-1".into(),
        log: LogConfig::default(),
        limits,
        server_bytes: Default::default(),
    };
    let clock = clock.clone() as Arc<dyn Clock>;
    std::thread::spawn(move || Sqs::open(config, clock, Arc::new(SimDisk::default())).unwrap())
        .join()
        .unwrap()
}

fn run(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

fn entry(body: &str, group: Option<&str>) -> SendEntry {
    SendEntry {
        body: body.into(),
        group: group.map(str::to_owned),
        dedup_id: group.map(|_| body.to_owned()),
        ..SendEntry::default()
    }
}

fn receive(max: i64) -> ReceiveRequest {
    ReceiveRequest {
        max: Some(max),
        visibility_s: Some(30),
        wait_s: Some(0),
        attempt_id: None,
    }
}

fn fifo() -> BTreeMap<String, String> {
    BTreeMap::from([("FifoQueue".to_owned(), "true".to_owned())])
}

#[test]
fn receives_past_the_in_flight_limit_get_over_limit_on_standard_queues_and_nothing_on_fifo() {
    let clock = Arc::new(ManualClock::default());
    let limits = SqsLimits {
        in_flight: 3,
        ..SqsLimits::default()
    };
    let sqs = open(limits, &clock);
    run(async {
        sqs.create_queue("q", BTreeMap::new(), BTreeMap::new()).await.unwrap();
        sqs.create_queue("f.fifo", fifo(), BTreeMap::new()).await.unwrap();
        for n in 0..5 {
            sqs.send("q", vec![entry(&format!("m{n}"), None)], "0", false)
                .await
                .unwrap();
            sqs.send(
                "f.fifo",
                vec![entry(&format!("m{n}"), Some(&format!("g{n}")))],
                "0",
                false,
            )
            .await
            .unwrap();
        }
        // A receive takes no more than the room left under the limit.
        let got = sqs.receive("q", receive(10)).await.unwrap();
        assert_eq!(got.len(), 3);
        match sqs.receive("q", receive(1)).await {
            Err(QueueError::OverLimit(m)) => assert!(m.starts_with("Too many messages have been received")),
            other => panic!("expected OverLimit, got {:?}", other.map(|v| v.len())),
        }
        // Deleting one makes room for one.
        sqs.delete("q", &[got[0].receipt_handle.clone()]).await.unwrap();
        assert_eq!(sqs.receive("q", receive(10)).await.unwrap().len(), 1);
        assert!(sqs.receive("q", receive(1)).await.is_err());
        // When their visibility ends they are no longer in flight.
        clock.advance_ms(31_000);
        assert_eq!(sqs.receive("q", receive(10)).await.unwrap().len(), 3);

        let got = sqs.receive("f.fifo", receive(10)).await.unwrap();
        assert_eq!(got.len(), 3);
        assert!(
            sqs.receive("f.fifo", receive(10)).await.unwrap().is_empty(),
            "FIFO: no error, nothing"
        );
    });
}

#[test]
fn sends_past_the_tenants_stored_bytes_get_over_limit_until_messages_are_deleted() {
    let clock = Arc::new(ManualClock::default());
    let limits = SqsLimits {
        stored_bytes: 1000,
        ..SqsLimits::default()
    };
    let sqs = open(limits, &clock);
    run(async {
        sqs.create_queue("a", BTreeMap::new(), BTreeMap::new()).await.unwrap();
        sqs.create_queue("b", BTreeMap::new(), BTreeMap::new()).await.unwrap();
        let body = "x".repeat(300);
        for q in ["a", "b", "a", "b"] {
            let sent = sqs.send(q, vec![entry(&body, None)], "0", false).await.unwrap();
            assert!(sent[0].is_ok());
        }
        // Four messages of 300 bytes and more passed 1000 bytes: the tenant is full, in any queue.
        let batch = vec![entry("small", None), entry("small", None)];
        let sent = sqs.send("b", batch, "0", true).await.unwrap();
        assert!(sent.iter().all(|r| matches!(r, Err(QueueError::OverLimit(_)))));
        // Purging a queue makes room again.
        sqs.purge("a").await.unwrap();
        let sent = sqs.send("b", vec![entry("small", None)], "0", false).await.unwrap();
        assert!(sent[0].is_ok());
        // So does deleting a queue.
        sqs.send("b", vec![entry(&body, None)], "0", false).await.unwrap();
        sqs.send("b", vec![entry(&body, None)], "0", false).await.unwrap();
        assert!(sqs.send("a", vec![entry("x", None)], "0", false).await.unwrap()[0].is_err());
        sqs.delete_queue("b").await.unwrap();
        assert!(sqs.send("a", vec![entry("x", None)], "0", false).await.unwrap()[0].is_ok());
    });
}

#[test]
fn a_dead_letter_target_admits_only_the_sources_its_redrive_allow_policy_names() {
    let clock = Arc::new(ManualClock::default());
    let sqs = open(SqsLimits::default(), &clock);
    run(async {
        let policy = |dlq: &str| {
            let arn = sqs.queue_arn(dlq);
            BTreeMap::from([(
                "RedrivePolicy".to_owned(),
                format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"3"}}"#),
            )])
        };
        let allow = |value: String| BTreeMap::from([("RedriveAllowPolicy".to_owned(), value)]);
        sqs.create_queue(
            "closed",
            allow(r#"{"redrivePermission":"denyAll"}"#.into()),
            BTreeMap::new(),
        )
        .await
        .unwrap();
        let named = format!(
            r#"{{"redrivePermission":"byQueue","sourceQueueArns":["{}"]}}"#,
            sqs.queue_arn("chosen")
        );
        sqs.create_queue("picky", allow(named), BTreeMap::new()).await.unwrap();
        sqs.create_queue("open", BTreeMap::new(), BTreeMap::new())
            .await
            .unwrap();

        let refused = |r: Result<(), QueueError>| match r {
            Err(QueueError::InvalidParameterValue(m)) => {
                assert!(
                    m.ends_with(
                        "Reason: Dead letter target does not allow this queue to use it as a dead letter queue."
                    ),
                    "{m}"
                )
            }
            other => panic!("expected InvalidParameterValue, got {other:?}"),
        };
        refused(sqs.create_queue("src", policy("closed"), BTreeMap::new()).await);
        refused(sqs.create_queue("other", policy("picky"), BTreeMap::new()).await);
        sqs.create_queue("chosen", policy("picky"), BTreeMap::new())
            .await
            .unwrap();
        sqs.create_queue("src", policy("open"), BTreeMap::new()).await.unwrap();
        refused(sqs.set_attributes("src", policy("closed")).await);
        // Opening the target later lets the source name it.
        sqs.set_attributes("closed", allow(r#"{"redrivePermission":"allowAll"}"#.into()))
            .await
            .unwrap();
        sqs.set_attributes("src", policy("closed")).await.unwrap();
    });
}
