//! Crash safety of buckets: single-part and multipart uploads while the server is SIGKILLed
//! again and again. After each restart every acknowledged object reads back byte for byte, an
//! upload cut by the kill is there whole or not at all, nothing never written appears, and in
//! the end every acknowledged object's ObjectCreated event reached the queue at least once.
//! (Power cuts are the model test's, in rheo-objects.)

use crate::common::{ChildServer, sqs_client};
use crate::s3::s3_client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, NotificationConfiguration, QueueConfiguration};
use md5::Digest as _;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn start(data: &Path) -> ChildServer {
    ChildServer::start(&["--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()], &[])
}

/// An object's content, from its key: `size` bytes no other key has.
fn content(key: &str, size: usize) -> Vec<u8> {
    let seed = md5::Md5::digest(key.as_bytes());
    let mut x = u64::from_le_bytes(seed[..8].try_into().unwrap()) | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn size_of(key: &str) -> usize {
    let h = md5::Md5::digest(key.as_bytes());
    1 + (usize::from(h[0]) << 10) + usize::from(h[1])
}

#[derive(Default)]
struct Seen {
    /// Key → MD5 of what was acknowledged.
    acked: BTreeMap<String, String>,
    /// Uploads in flight at the kill: there whole, or not at all.
    doubtful: BTreeMap<String, String>,
}

fn no_retries(c: aws_sdk_s3::Client) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        c.config()
            .to_builder()
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build(),
    )
}

async fn multipart(c: &aws_sdk_s3::Client, key: &str, parts: &[Vec<u8>]) -> Result<(), String> {
    let up = c
        .create_multipart_upload()
        .bucket("crash")
        .key(key)
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
    let id = up.upload_id().unwrap_or_default();
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let r = c
            .upload_part()
            .bucket("crash")
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(p.clone()))
            .send()
            .await
            .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap_or_default())
                .build(),
        );
    }
    c.complete_multipart_upload()
        .bucket("crash")
        .key(key)
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await
        .map_err(|e| format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e)))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_uploads_loses_no_acknowledged_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(dir.path());
    let c = s3_client(&server.url);
    let sqs = sqs_client(&server.url);
    c.create_bucket().bucket("crash").send().await.unwrap();
    let queue = sqs
        .create_queue()
        .queue_name("created")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    c.put_bucket_notification_configuration()
        .bucket("crash")
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn("arn:aws:sqs:us-east-1:000000000000:created")
                        .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut all_acked: BTreeSet<String> = BTreeSet::new();
    for round in 0..4u64 {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let c = no_retries(s3_client(&server.url));
        let mut tasks = Vec::new();
        for p in 0..2 {
            let (c, seen) = (c.clone(), seen.clone());
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let key = format!("r{round}/single-{p}-{n:04}");
                    let data = content(&key, size_of(&key) * 3);
                    let md5 = format!("{:x}", md5::Md5::digest(&data));
                    seen.lock().unwrap().doubtful.insert(key.clone(), md5.clone());
                    let put = c
                        .put_object()
                        .bucket("crash")
                        .key(&key)
                        .body(ByteStream::from(data))
                        .send()
                        .await;
                    let mut s = seen.lock().unwrap();
                    if put.is_err() {
                        return;
                    }
                    s.doubtful.remove(&key);
                    s.acked.insert(key, md5);
                }
            }));
        }
        {
            let (c, seen) = (c.clone(), seen.clone());
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let key = format!("r{round}/multi-{n:04}");
                    let parts = vec![content(&key, 5 << 20), content(&format!("{key}+"), 12_345)];
                    let md5 = format!("{:x}", md5::Md5::digest(parts.concat()));
                    seen.lock().unwrap().doubtful.insert(key.clone(), md5.clone());
                    let done = multipart(&c, &key, &parts).await;
                    let mut s = seen.lock().unwrap();
                    if done.is_err() {
                        return;
                    }
                    s.doubtful.remove(&key);
                    s.acked.insert(key, md5);
                }
            }));
        }
        let mut progressed = false;
        for _ in 0..3000 {
            progressed = seen.lock().unwrap().acked.keys().any(|k| k.contains("multi"));
            if progressed {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(progressed, "round {round} completed a multipart upload before the kill");
        tokio::time::sleep(Duration::from_millis(50 + 120 * round)).await;
        server.kill();
        for t in tasks {
            t.await.unwrap();
        }
        server = start(dir.path());
        let c = s3_client(&server.url);
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        let mut listed = BTreeSet::new();
        let mut token = None;
        loop {
            let page = c
                .list_objects_v2()
                .bucket("crash")
                .prefix(format!("r{round}/"))
                .set_continuation_token(token)
                .send()
                .await
                .unwrap();
            listed.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
            token = page.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        for (key, md5) in &seen.acked {
            assert!(listed.contains(key), "round {round}: acknowledged {key} is lost");
            let got = c.get_object().bucket("crash").key(key).send().await.unwrap();
            let bytes = got.body.collect().await.unwrap().into_bytes();
            assert_eq!(
                &format!("{:x}", md5::Md5::digest(&bytes)),
                md5,
                "round {round}: {key} whole"
            );
        }
        for key in &listed {
            let md5 = seen
                .acked
                .get(key)
                .or_else(|| seen.doubtful.get(key))
                .unwrap_or_else(|| panic!("round {round}: {key} was never written"));
            let got = c.get_object().bucket("crash").key(key).send().await.unwrap();
            let bytes = got.body.collect().await.unwrap().into_bytes();
            assert_eq!(
                &format!("{:x}", md5::Md5::digest(&bytes)),
                md5,
                "round {round}: {key} is whole"
            );
        }
        all_acked.extend(seen.acked.into_keys());
    }
    // Every acknowledged object was announced at least once, across all the kills.
    let sqs = sqs_client(&server.url);
    let queue = queue.replace(&queue[..queue.find("/000000000000").unwrap()], &server.url);
    let mut announced = BTreeSet::new();
    let mut quiet = 0;
    while quiet < 3 && !all_acked.is_subset(&announced) {
        let got = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            quiet += 1;
        }
        for m in got.messages() {
            let v: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            if let Some(key) = v["Records"][0]["s3"]["object"]["key"].as_str() {
                announced.insert(key.replace("%2F", "/"));
            }
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    let missing: Vec<_> = all_acked.difference(&announced).collect();
    assert!(missing.is_empty(), "acknowledged objects never announced: {missing:?}");
    eprintln!(
        "{} objects acknowledged over 4 kills; {} distinct keys announced",
        all_acked.len(),
        announced.len()
    );
}
