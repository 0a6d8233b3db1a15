//! Crash safety of queues: producers (SendMessageBatch) and consumers (receive, delete,
//! change visibility) on a standard and a FIFO queue while the server is SIGKILLed again and
//! again. After each restart every acknowledged send is delivered or still stored, no
//! acknowledged delete comes back, and FIFO order holds within each group. (Power cuts are
//! the model test's, in rheo-queues.)

use crate::common::{ChildServer, sqs_client};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start(data: &Path) -> ChildServer {
    ChildServer::start(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()], &[])
}

#[derive(Default)]
struct Seen {
    /// Bodies whose send was acknowledged.
    sent: BTreeSet<String>,
    /// Bodies whose delete was acknowledged.
    deleted: BTreeSet<String>,
    /// Bodies whose delete was sent but not answered (the kill): gone or not.
    doubtful: BTreeSet<String>,
}

const QUEUES: [&str; 2] = ["crash", "crash.fifo"];

/// Receives and deletes everything the queue holds; returns the bodies in receive order.
async fn drain(c: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut empty = 0;
    while empty < 3 {
        let got = c
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        let mut delete = c.delete_message_batch().queue_url(url);
        for (i, m) in got.messages().iter().enumerate() {
            out.push(m.body().unwrap().to_owned());
            delete = delete.entries(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap(),
            );
        }
        assert!(delete.send().await.unwrap().failed().is_empty());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let c = sqs_client(&server.url);
    c.create_queue().queue_name(QUEUES[0]).send().await.unwrap();
    c.create_queue()
        .queue_name(QUEUES[1])
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    for round in 0..4u64 {
        let seen: Arc<Mutex<[Seen; 2]>> = Arc::default();
        // No retries: a call in flight at the kill fails at once (and is in doubt).
        let c = sqs_client(&server.url);
        let c = aws_sdk_sqs::Client::from_conf(
            c.config()
                .to_builder()
                .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
                .build(),
        );
        let url = |q: usize| format!("{}/000000000000/{}", server.url, QUEUES[q]);
        let mut tasks = Vec::new();
        for (q, p) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let (c, seen, url) = (c.clone(), seen.clone(), url(q));
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let entries: Vec<_> = (0..10)
                        .map(|i| {
                            let body = format!("r{round}-p{p}-{n:05}-{i}");
                            let mut e = SendMessageBatchRequestEntry::builder()
                                .id(format!("e{i}"))
                                .message_body(&body);
                            if q == 1 {
                                e = e.message_group_id(format!("p{p}")).message_deduplication_id(&body);
                            }
                            e.build().unwrap()
                        })
                        .collect();
                    let Ok(out) = c
                        .send_message_batch()
                        .queue_url(&url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                    else {
                        return;
                    };
                    assert!(out.failed().is_empty());
                    seen.lock().unwrap()[q]
                        .sent
                        .extend((0..10).map(|i| format!("r{round}-p{p}-{n:05}-{i}")));
                    // Paced, so each round's check stays quick.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
        }
        for q in 0..2 {
            let (c, seen, url) = (c.clone(), seen.clone(), url(q));
            tasks.push(tokio::spawn(async move {
                for n in 0u64.. {
                    let Ok(got) = c
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(10)
                        .visibility_timeout(1)
                        .send()
                        .await
                    else {
                        return;
                    };
                    for (i, m) in got.messages().iter().enumerate() {
                        let handle = m.receipt_handle().unwrap();
                        if (n + i as u64) % 3 == 2 {
                            // Left in flight (a longer visibility), to come back later.
                            let _ = c
                                .change_message_visibility()
                                .queue_url(&url)
                                .receipt_handle(handle)
                                .visibility_timeout(2)
                                .send()
                                .await;
                            continue;
                        }
                        let body = m.body().unwrap().to_owned();
                        let deleted = c.delete_message().queue_url(&url).receipt_handle(handle).send().await;
                        let mut s = seen.lock().unwrap();
                        if deleted.is_ok() {
                            s[q].deleted.insert(body);
                        } else {
                            s[q].doubtful.insert(body);
                        }
                    }
                }
            }));
        }
        let mut progressed = false;
        for _ in 0..1000 {
            progressed = seen
                .lock()
                .unwrap()
                .iter()
                .all(|s| !s.sent.is_empty() && !s.deleted.is_empty());
            if progressed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            progressed,
            "round {round} sent and deleted on both queues before the kill"
        );
        tokio::time::sleep(Duration::from_millis(100 + 150 * round)).await;
        server.kill();
        for t in tasks {
            t.await.unwrap();
        }
        server = start(dir.path());
        // Every visibility of the round (at most 2 seconds) has ended.
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let c = sqs_client(&server.url);
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        for q in 0..2 {
            let url = format!("{}/000000000000/{}", server.url, QUEUES[q]);
            let drained = drain(&c, &url).await;
            let held: BTreeSet<&str> = drained.iter().map(String::as_str).collect();
            for body in seen[q].sent.difference(&seen[q].deleted) {
                if seen[q].doubtful.contains(body) {
                    continue;
                }
                assert!(
                    held.contains(body.as_str()),
                    "round {round}: acknowledged {body} of {} is lost",
                    QUEUES[q]
                );
            }
            for body in &drained {
                assert!(
                    !seen[q].deleted.contains(body),
                    "round {round}: deleted {body} came back"
                );
                assert!(
                    body.starts_with(&format!("r{round}-")),
                    "round {round}: {body} is from an earlier round"
                );
            }
            if q == 1 {
                // Within a group, what is delivered comes in send order.
                let mut last: BTreeMap<&str, &str> = BTreeMap::new();
                for body in &drained {
                    let group = &body[body.find("-p").unwrap() + 1..][..2];
                    if let Some(prev) = last.insert(group, body) {
                        assert!(
                            prev < body.as_str(),
                            "round {round}: {prev} before {body} in group {group}"
                        );
                    }
                }
            }
        }
    }
}
