//! SNS over real sockets with the official aws-sdk-sns (query protocol): topics and
//! subscriptions, fan-out to two SQS queues with and without raw delivery and with a filter
//! policy, MessageStructure=json, PublishBatch, and HTTP subscriptions (confirmation,
//! delivery, retries) against a server in the test.

use crate::common::{TestServer, sns_client};
use crate::sqs::queue;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry, Tag};
use std::time::{Duration, Instant};

async fn receive_all(c: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    c.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_fan_out_to_queues_raw_enveloped_and_filtered() {
    let s = TestServer::start().await;
    let (sns, sqs) = (sns_client(&s.url()), s.sqs());
    let topic = sns
        .create_topic()
        .name("orders")
        .tags(Tag::builder().key("team").value("a").build().unwrap())
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    assert_eq!(topic, "arn:aws:sns:us-east-1:000000000000:orders");
    assert_eq!(
        sns.create_topic().name("orders").send().await.unwrap().topic_arn(),
        Some(topic.as_str())
    );
    let listed = sns.list_topics().send().await.unwrap();
    assert_eq!(listed.topics()[0].topic_arn(), Some(topic.as_str()));

    let (raw_q, env_q, filtered_q) = (
        queue(&sqs, "raw").await,
        queue(&sqs, "env").await,
        queue(&sqs, "big").await,
    );
    let arn = |q: &str| format!("arn:aws:sqs:us-east-1:000000000000:{q}");
    let raw_sub = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn("raw"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap()
        .subscription_arn
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn("env"))
        .send()
        .await
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn("big"))
        .attributes("FilterPolicy", r#"{"total": [{"numeric": [">", 100]}]}"#)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(subs.subscriptions().len(), 3);
    let attrs = sns
        .get_subscription_attributes()
        .subscription_arn(&raw_sub)
        .send()
        .await
        .unwrap();
    assert_eq!(attrs.attributes().unwrap()["RawMessageDelivery"], "true");

    let small = sns
        .publish()
        .topic_arn(&topic)
        .message("order 1")
        .subject("new order")
        .message_attributes(
            "attr1",
            MessageAttributeValue::builder()
                .data_type("Number")
                .string_value("99.12")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    sns.publish()
        .topic_arn(&topic)
        .message("order 2")
        .message_attributes(
            "total",
            MessageAttributeValue::builder()
                .data_type("Number")
                .string_value("500")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // Raw delivery: the bare message, SNS attributes as SQS attributes with SQS's digest.
    let raw = receive_all(&sqs, &raw_q).await;
    assert_eq!(raw.len(), 2);
    let first = raw.iter().find(|m| m.body() == Some("order 1")).unwrap();
    assert_eq!(
        first.message_attributes().unwrap()["attr1"].string_value(),
        Some("99.12")
    );
    // The digest AWS returned for this attribute after SNS raw delivery (research note).
    assert_eq!(
        first.md5_of_message_attributes(),
        Some("d302007e9aa062660afc85fd0a482472")
    );

    // The envelope, as AWS writes it (…URL spellings, attributes as Type/Value).
    let env = receive_all(&sqs, &env_q).await;
    let body: serde_json::Value = serde_json::from_str(
        env.iter()
            .map(|m| m.body().unwrap())
            .find(|b| b.contains("order 1"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["Type"], "Notification");
    assert_eq!(body["MessageId"], small.message_id().unwrap());
    assert_eq!(body["TopicArn"], topic.as_str());
    assert_eq!(body["Subject"], "new order");
    assert_eq!(body["Message"], "order 1");
    assert_eq!(body["SignatureVersion"], "1");
    assert!(body["UnsubscribeURL"].as_str().unwrap().contains("Action=Unsubscribe"));
    assert!(body["Timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["MessageAttributes"]["attr1"],
        serde_json::json!({"Type": "Number", "Value": "99.12"})
    );
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(keys.contains(&"SigningCertURL"), "{keys:?}");

    // The filter policy let only the big order through (the first has no `total`).
    let big = receive_all(&sqs, &filtered_q).await;
    assert_eq!(big.iter().map(|m| m.body().unwrap()).collect::<Vec<_>>(), ["order 2"]);

    // MessageStructure=json: a body per protocol.
    sns.publish()
        .topic_arn(&topic)
        .message(r#"{"default": "for everyone", "sqs": "for queues"}"#)
        .message_structure("json")
        .send()
        .await
        .unwrap();
    assert_eq!(receive_all(&sqs, &raw_q).await[0].body(), Some("for queues"));
    let e = sns
        .publish()
        .topic_arn(&topic)
        .message(r#"{"sqs": "no default"}"#)
        .message_structure("json")
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert!(e.is_invalid_parameter_exception(), "{e:?}");

    // PublishBatch.
    let out = sns
        .publish_batch()
        .topic_arn(&topic)
        .publish_batch_request_entries(
            PublishBatchRequestEntry::builder()
                .id("a")
                .message("b1")
                .build()
                .unwrap(),
        )
        .publish_batch_request_entries(
            PublishBatchRequestEntry::builder()
                .id("b")
                .message("b2")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.successful().len(), 2);
    assert_eq!(receive_all(&sqs, &raw_q).await.len(), 2);
    // PublishBatch's own errors, as the model names them.
    let entry = |id: &str| PublishBatchRequestEntry::builder().id(id).message("m").build().unwrap();
    let batch = |entries: Vec<PublishBatchRequestEntry>| {
        sns.publish_batch()
            .topic_arn(&topic)
            .set_publish_batch_request_entries(Some(entries))
            .send()
    };
    let code = |r: Result<
        _,
        aws_sdk_sns::error::SdkError<aws_sdk_sns::operation::publish_batch::PublishBatchError, _>,
    >| { r.unwrap_err().into_service_error().code().unwrap().to_owned() };
    assert_eq!(code(batch(vec![]).await), "EmptyBatchRequest");
    assert_eq!(
        code(batch((0..11).map(|n| entry(&n.to_string())).collect()).await),
        "TooManyEntriesInBatchRequest"
    );
    assert_eq!(
        code(batch(vec![entry("a"), entry("a")]).await),
        "BatchEntryIdsNotDistinct"
    );
    assert_eq!(code(batch(vec![entry("not ok")]).await), "InvalidBatchEntryId");
    let big = |id: &str| {
        PublishBatchRequestEntry::builder()
            .id(id)
            .message("x".repeat(200_000))
            .build()
            .unwrap()
    };
    assert_eq!(code(batch(vec![big("a"), big("b")]).await), "BatchRequestTooLong");

    // Unsubscribe stops deliveries; tags; a missing topic.
    sns.unsubscribe().subscription_arn(&raw_sub).send().await.unwrap();
    sns.publish().topic_arn(&topic).message("after").send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(receive_all(&sqs, &raw_q).await.is_empty());
    let tags = sns.list_tags_for_resource().resource_arn(&topic).send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), "team");
    let e = sns
        .publish()
        .topic_arn("arn:aws:sns:us-east-1:000000000000:nope")
        .message("x")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_not_found_exception(), "{e:?}");
    assert_eq!(e.code(), Some("NotFound"));
    sns.delete_topic().topic_arn(&topic).send().await.unwrap();
    assert!(sns.list_topics().send().await.unwrap().topics().is_empty());
}

/// Checks an SNS message's signature as an endpoint does: fetches its SigningCertURL (unsigned)
/// and verifies SHA256withRSA over the signed fields with webpki, a verifier of its own.
async fn verify_signature(m: &serde_json::Value) {
    use base64::Engine as _;
    use http_body_util::BodyExt;
    assert_eq!(m["SignatureVersion"], "2");
    let cert_url = m["SigningCertURL"].as_str().unwrap();
    assert!(
        cert_url.contains("/SimpleNotificationService-") && cert_url.ends_with(".pem"),
        "{cert_url}"
    );
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let resp = http
        .request(http::Request::get(cert_url).body(Default::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let pem = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = rustls_pki_types::CertificateDer::from(base64::engine::general_purpose::STANDARD.decode(b64).unwrap());
    let cert = webpki::EndEntityCert::try_from(&der).unwrap();
    let keys = [
        "Message",
        "MessageId",
        "Subject",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ];
    let text: String = keys
        .iter()
        .filter_map(|k| m[*k].as_str().map(|v| format!("{k}\n{v}\n")))
        .collect();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(m["Signature"].as_str().unwrap())
        .unwrap();
    cert.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, text.as_bytes(), &signature)
        .expect("the signature verifies with the served certificate");
}

/// A tiny HTTP endpoint: answers each POST with the next status of `statuses` (200 after
/// them), and hands each request (headers and body) to the test.
async fn endpoint(statuses: Vec<u16>) -> (String, tokio::sync::mpsc::UnboundedReceiver<(http::HeaderMap, String)>) {
    use http_body_util::{BodyExt, Full};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let statuses = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(statuses)));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (tx, statuses) = (tx.clone(), statuses.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (tx, statuses) = (tx.clone(), statuses.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let _ = tx.send((parts.headers, String::from_utf8_lossy(&body).into_owned()));
                        let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                        let mut resp = http::Response::new(Full::new(bytes::Bytes::new()));
                        *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_subscriptions_confirm_deliver_and_retry() {
    let s = TestServer::start().await;
    let sns = sns_client(&s.url());
    let topic = sns
        .create_topic()
        .name("hooks")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    // Messages are signed with SHA256withRSA (SignatureVersion 2; 1, SHA1, is checked in CI
    // by AWS's JavaScript validator).
    sns.set_topic_attributes()
        .topic_arn(&topic)
        .attribute_name("SignatureVersion")
        .attribute_value("2")
        .send()
        .await
        .unwrap();
    // The first notification fails twice, then succeeds.
    let (url, mut got) = endpoint(vec![200, 500, 503]).await;
    let pending = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("http")
        .endpoint(&url)
        .attributes(
            "DeliveryPolicy",
            r#"{"healthyRetryPolicy": {"numRetries": 3, "minDelayTarget": 1, "maxDelayTarget": 1}}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(pending.subscription_arn(), Some("pending confirmation"));
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), got.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(headers["x-amz-sns-message-type"], "SubscriptionConfirmation");
    let conf: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(conf["Type"], "SubscriptionConfirmation");
    assert_eq!(conf["TopicArn"], topic.as_str());
    verify_signature(&conf).await;
    // Nothing is delivered before the confirmation.
    sns.publish()
        .topic_arn(&topic)
        .message("too early")
        .send()
        .await
        .unwrap();
    // Following the SubscribeURL (a plain GET, as an endpoint would) confirms it.
    let subscribe_url = conf["SubscribeURL"].as_str().unwrap().to_owned();
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let resp = http
        .request(http::Request::get(subscribe_url).body(Default::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let subs = sns.list_subscriptions().send().await.unwrap();
    assert!(subs.subscriptions()[0].subscription_arn().unwrap().starts_with(&topic));

    let started = Instant::now();
    sns.publish()
        .topic_arn(&topic)
        .message("hello hook")
        .send()
        .await
        .unwrap();
    let mut attempts = Vec::new();
    while attempts.len() < 3 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(10), got.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(headers["x-amz-sns-message-type"], "Notification");
        assert_eq!(headers["x-amz-sns-topic-arn"], topic.as_str());
        attempts.push(serde_json::from_str::<serde_json::Value>(&body).unwrap());
    }
    assert!(attempts.iter().all(|a| a["Message"] == "hello hook"), "{attempts:?}");
    verify_signature(&attempts[0]).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "retries wait the policy's delay"
    );
    // The third attempt succeeded: no fourth.
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), got.recv())
            .await
            .is_err()
    );
}

/// A FIFO topic keeps group order into a FIFO queue; a subscription whose queue is gone sends
/// its messages to the subscription's dead-letter queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_topics_keep_order_and_undeliverable_messages_go_to_the_subscription_dlq() {
    let s = TestServer::start().await;
    let (sns, sqs) = (sns_client(&s.url()), s.sqs());
    let topic = sns
        .create_topic()
        .name("events.fifo")
        .attributes("FifoTopic", "true")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let q = sqs
        .create_queue()
        .queue_name("events.fifo")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:000000000000:events.fifo")
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let mut seqs = Vec::new();
    for i in 0..3 {
        let out = sns
            .publish()
            .topic_arn(&topic)
            .message(format!("e{i}"))
            .message_group_id("g")
            .message_deduplication_id(format!("d{i}"))
            .send()
            .await
            .unwrap();
        seqs.push(out.sequence_number().unwrap().to_owned());
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let e = sns
        .publish()
        .topic_arn(&topic)
        .message("no group")
        .send()
        .await
        .unwrap_err();
    assert!(e.into_service_error().is_invalid_parameter_exception());
    let got = receive_all(&sqs, &q).await;
    assert_eq!(
        got.iter().map(|m| m.body().unwrap()).collect::<Vec<_>>(),
        ["e0", "e1", "e2"]
    );

    // A subscription to a queue that is then deleted, with a dead-letter queue.
    let plain = sns
        .create_topic()
        .name("plain")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let gone = queue(&sqs, "gone").await;
    let dlq = queue(&sqs, "sub-dlq").await;
    sns.subscribe()
        .topic_arn(&plain)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:000000000000:gone")
        .attributes("RawMessageDelivery", "true")
        .attributes(
            "RedrivePolicy",
            r#"{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:sub-dlq"}"#,
        )
        .send()
        .await
        .unwrap();
    sqs.delete_queue().queue_url(&gone).send().await.unwrap();
    sns.publish()
        .topic_arn(&plain)
        .message("undeliverable")
        .send()
        .await
        .unwrap();
    assert_eq!(receive_all(&sqs, &dlq).await[0].body(), Some("undeliverable"));
}
