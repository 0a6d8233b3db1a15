//! SQS over real sockets with the official aws-sdk-sqs: every operation, FIFO order and
//! deduplication, visibility (with the test clock), long polling, dead letters and move
//! tasks, errors as AWS sends them, and queues surviving a restart.

use crate::common::{Options, TestServer, sqs_client};
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use std::time::{Duration, Instant};

pub(crate) async fn queue(c: &aws_sdk_sqs::Client, name: &str) -> String {
    c.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

async fn fifo(c: &aws_sdk_sqs::Client, name: &str, content_dedup: bool) -> String {
    let mut r = c
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true");
    if content_dedup {
        r = r.attributes(QueueAttributeName::ContentBasedDeduplication, "true");
    }
    r.send().await.unwrap().queue_url.unwrap()
}

fn code<E: ProvideErrorMetadata>(e: &E) -> (String, String) {
    (
        e.code().unwrap_or_default().to_owned(),
        e.message().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_are_created_listed_described_and_deleted() {
    let s = TestServer::start().await;
    let c = s.sqs();
    let url = queue(&c, "orders").await;
    assert_eq!(url, format!("{}/000000000000/orders", s.url()));
    // The same name and attributes: the same queue.
    assert_eq!(queue(&c, "orders").await, url);
    queue(&c, "orders-2").await;
    queue(&c, "other").await;
    let listed = c.list_queues().queue_name_prefix("orders").send().await.unwrap();
    assert_eq!(listed.queue_urls().len(), 2);
    let none = c.list_queues().queue_name_prefix("nothing").send().await.unwrap();
    assert!(none.queue_urls().is_empty());
    let page = c.list_queues().max_results(2).send().await.unwrap();
    assert_eq!(page.queue_urls().len(), 2);
    let rest = c
        .list_queues()
        .max_results(2)
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.queue_urls(), [format!("{}/000000000000/other", s.url())]);
    assert!(rest.next_token().is_none());

    let got = c.get_queue_url().queue_name("orders").send().await.unwrap();
    assert_eq!(got.queue_url(), Some(url.as_str()));
    let attrs = c
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    // The twelve attributes AWS reports for a new standard queue.
    assert_eq!(attrs.len(), 12, "{attrs:?}");
    assert_eq!(attrs[&QueueAttributeName::VisibilityTimeout], "30");
    assert_eq!(attrs[&QueueAttributeName::MaximumMessageSize], "1048576");
    assert_eq!(attrs[&QueueAttributeName::SqsManagedSseEnabled], "true");
    assert_eq!(
        attrs[&QueueAttributeName::QueueArn],
        "arn:aws:sqs:us-east-1:000000000000:orders"
    );
    // A different attribute for the same name is refused, naming it.
    let e = c
        .create_queue()
        .queue_name("orders")
        .attributes(QueueAttributeName::DelaySeconds, "5")
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert!(e.is_queue_name_exists(), "{e:?}");
    assert_eq!(
        code(&e),
        (
            "QueueAlreadyExists".into(),
            "A queue already exists with the same name and a different value for attribute DelaySeconds".into()
        )
    );
    c.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::DelaySeconds, "5")
        .send()
        .await
        .unwrap();
    c.delete_queue().queue_url(&url).send().await.unwrap();
    let e = c
        .get_queue_url()
        .queue_name("orders")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_queue_does_not_exist(), "{e:?}");
    assert_eq!(
        code(&e),
        (
            "AWS.SimpleQueueService.NonExistentQueue".into(),
            "The specified queue does not exist.".into()
        )
    );
    // The name is held for 60 seconds after a delete.
    let e = c
        .create_queue()
        .queue_name("orders")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(code(&e).0, "AWS.SimpleQueueService.QueueDeletedRecently");
    s.clock.advance_ms(61_000);
    queue(&c, "orders").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_sent_received_hidden_and_deleted() {
    let s = TestServer::start().await;
    let c = s.sqs();
    let url = queue(&c, "jobs").await;
    let sent = c
        .send_message()
        .queue_url(&url)
        .message_body("hello")
        .message_attributes(
            "MyAttribute",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("foobar")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sent.md5_of_message_body(), Some("5d41402abc4b2a76b9719d911017c592"));
    // The digest AWS returned for this attribute (research note, AWS-recorded).
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some("adb59cd4678ea5a855436b949cd07ab6")
    );
    let got = c
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let m = &got.messages()[0];
    assert_eq!(m.body(), Some("hello"));
    assert_eq!(m.message_id(), sent.message_id());
    assert_eq!(m.md5_of_message_attributes(), Some("adb59cd4678ea5a855436b949cd07ab6"));
    let a = m.attributes().unwrap();
    assert_eq!(a[&MessageSystemAttributeName::ApproximateReceiveCount], "1");
    assert!(a.contains_key(&MessageSystemAttributeName::SentTimestamp));
    assert!(a.contains_key(&MessageSystemAttributeName::SenderId));
    // In flight: not received again until the visibility timeout passes (on the test clock).
    let again = c.receive_message().queue_url(&url).send().await.unwrap();
    assert!(again.messages().is_empty());
    s.clock.advance_ms(31_000);
    let again = c
        .receive_message()
        .queue_url(&url)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    let m2 = &again.messages()[0];
    assert_eq!(
        m2.attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount],
        "2"
    );
    assert_ne!(m2.receipt_handle(), m.receipt_handle(), "a new handle per receive");
    // A visibility change to 0 makes it visible at once.
    c.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(m2.receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let third = c.receive_message().queue_url(&url).send().await.unwrap();
    let handle = third.messages()[0].receipt_handle().unwrap().to_owned();
    c.delete_message()
        .queue_url(&url)
        .receipt_handle(&handle)
        .send()
        .await
        .unwrap();
    // Deleting twice succeeds, as on AWS.
    c.delete_message()
        .queue_url(&url)
        .receipt_handle(&handle)
        .send()
        .await
        .unwrap();
    s.clock.advance_ms(31_000);
    assert!(
        c.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    // A bare queue name works as a QueueUrl.
    c.send_message()
        .queue_url("jobs")
        .message_body("x")
        .send()
        .await
        .unwrap();
    let e = c
        .delete_message()
        .queue_url(&url)
        .receipt_handle("garbage")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_receipt_handle_is_invalid(), "{e:?}");
    assert_eq!(
        code(&e).1,
        "The input receipt handle \"garbage\" is not a valid receipt handle."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_have_results_per_entry() {
    let s = TestServer::start().await;
    let c = s.sqs();
    let url = queue(&c, "batch").await;
    let entry = |id: &str, body: &str| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(body)
            .build()
            .unwrap()
    };
    let out = c
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", "one"))
        .entries(entry("b", "\u{1}"))
        .entries(entry("c", "three"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.successful().len(), 2);
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "b");
    assert_eq!(out.failed()[0].code(), "InvalidMessageContents");
    assert!(out.failed()[0].sender_fault());
    let e = c
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some((0..11).map(|i| entry(&i.to_string(), "x")).collect()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_too_many_entries_in_batch_request(), "{e:?}");
    assert_eq!(
        code(&e).1,
        "Maximum number of entries per request are 10. You have sent 11."
    );
    let e = c
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", "x"))
        .entries(entry("a", "y"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_batch_entry_ids_not_distinct(), "{e:?}");
    let e = c
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(Vec::new()))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(e.is_empty_batch_request(), "{e:?}");

    let got = c
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 2);
    // All entries stored: no `Failed` member, which the SDK reads as none.
    let other = queue(&c, "batch-2").await;
    let out = c
        .send_message_batch()
        .queue_url(&other)
        .entries(entry("a", "one"))
        .entries(entry("b", "two"))
        .send()
        .await
        .unwrap();
    assert_eq!((out.successful().len(), out.failed().len()), (2, 0));
    let mut del = c.delete_message_batch().queue_url(&url);
    for (i, m) in got.messages().iter().enumerate() {
        del = del.entries(
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap(),
        );
    }
    del = del.entries(
        DeleteMessageBatchRequestEntry::builder()
            .id("bad")
            .receipt_handle("invalid")
            .build()
            .unwrap(),
    );
    let out = del.send().await.unwrap();
    assert_eq!(out.successful().len(), 2);
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    let e = c
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(11)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        (
            "InvalidParameterValue".into(),
            "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
                .into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_queues_keep_group_order_and_deduplicate() {
    let s = TestServer::start().await;
    let c = s.sqs();
    let url = fifo(&c, "orders.fifo", false).await;
    let send = |group: &str, dedup: &str, body: &str| {
        c.send_message()
            .queue_url(&url)
            .message_group_id(group)
            .message_deduplication_id(dedup)
            .message_body(body)
            .send()
    };
    let first = send("a", "1", "a1").await.unwrap();
    send("b", "2", "b1").await.unwrap();
    send("a", "3", "a2").await.unwrap();
    // A repeated deduplication id within 5 minutes is accepted and dropped.
    let dup = send("a", "1", "a1 again").await.unwrap();
    assert_eq!(dup.message_id(), first.message_id());
    assert_eq!(dup.sequence_number(), first.sequence_number());
    assert!(first.sequence_number().unwrap().len() >= 20);

    let got = c
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = got.messages().iter().map(|m| m.body().unwrap()).collect();
    assert_eq!(
        bodies,
        ["a1", "a2", "b1"],
        "a group's messages in order, then the next group"
    );
    // While a group is in flight nothing more of it is returned.
    send("a", "4", "a3").await.unwrap();
    assert!(
        c.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    for m in got.messages() {
        c.delete_message()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    let next = c.receive_message().queue_url(&url).send().await.unwrap();
    assert_eq!(next.messages()[0].body(), Some("a3"));

    // FIFO rules.
    let e = c
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_deduplication_id("9")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        (
            "MissingParameter".into(),
            "The request must contain the parameter MessageGroupId.".into()
        )
    );
    let e = c
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()).1,
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
    );
    // Content-based deduplication.
    let cb = fifo(&c, "cb.fifo", true).await;
    let one = c
        .send_message()
        .queue_url(&cb)
        .message_group_id("g")
        .message_body("same")
        .send()
        .await
        .unwrap();
    let two = c
        .send_message()
        .queue_url(&cb)
        .message_group_id("g")
        .message_body("same")
        .send()
        .await
        .unwrap();
    assert_eq!(one.message_id(), two.message_id());
    // An expired FIFO receipt handle is refused as AWS refuses it.
    let got = c
        .receive_message()
        .queue_url(&cb)
        .visibility_timeout(1)
        .send()
        .await
        .unwrap();
    s.clock.advance_ms(2_000);
    let e = c
        .delete_message()
        .queue_url(&cb)
        .receipt_handle(got.messages()[0].receipt_handle().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(
        code(&e.into_service_error())
            .1
            .ends_with("Reason: The receipt handle has expired.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_is_answered_when_a_message_arrives() {
    let s = TestServer::start().await;
    let c = s.sqs();
    let url = queue(&c, "poll").await;
    let started = Instant::now();
    let receiver = {
        let c = c.clone();
        let url = url.clone();
        tokio::spawn(async move { c.receive_message().queue_url(url).wait_time_seconds(20).send().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.send_message()
        .queue_url(&url)
        .message_body("now")
        .send()
        .await
        .unwrap();
    let got = receiver.await.unwrap().unwrap();
    assert_eq!(got.messages()[0].body(), Some("now"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered on arrival, not at the end of the wait"
    );
    // An empty long poll ends at its wait.
    let empty = c
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(empty.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_move_after_max_receives_and_move_back() {
    let s = TestServer::start().await;
    let c = s.sqs();
    let dlq = queue(&c, "dlq").await;
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
    let src = c
        .create_queue()
        .queue_name("src")
        .attributes(QueueAttributeName::VisibilityTimeout, "0")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}"#),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    c.send_message()
        .queue_url(&src)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    for _ in 0..2 {
        let got = c.receive_message().queue_url(&src).send().await.unwrap();
        assert_eq!(got.messages().len(), 1);
    }
    // The third receive moves it instead.
    assert!(
        c.receive_message()
            .queue_url(&src)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    let dead = c
        .receive_message()
        .queue_url(&dlq)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let m = &dead.messages()[0];
    assert_eq!(m.body(), Some("poison"));
    let a = m.attributes().unwrap();
    assert_eq!(
        a[&MessageSystemAttributeName::DeadLetterQueueSourceArn],
        "arn:aws:sqs:us-east-1:000000000000:src"
    );
    assert_eq!(
        a[&MessageSystemAttributeName::ApproximateReceiveCount],
        "3",
        "the count goes on"
    );
    let sources = c.list_dead_letter_source_queues().queue_url(&dlq).send().await.unwrap();
    assert_eq!(sources.queue_urls(), std::slice::from_ref(&src));

    // A move task with no destination sends it back to its source.
    let task = c.start_message_move_task().source_arn(dlq_arn).send().await.unwrap();
    assert!(task.task_handle().is_some());
    let sqs_tick_deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tasks = c.list_message_move_tasks().source_arn(dlq_arn).send().await.unwrap();
        if tasks.results()[0].status() == Some("COMPLETED") {
            assert_eq!(tasks.results()[0].approximate_number_of_messages_moved(), 1);
            assert!(tasks.results()[0].task_handle().is_none());
            break;
        }
        assert!(Instant::now() < sqs_tick_deadline, "the move task did not complete");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let back = c.receive_message().queue_url(&src).send().await.unwrap();
    assert_eq!(back.messages()[0].body(), Some("poison"));
    // A queue that is no dead-letter queue cannot be a source.
    let e = c
        .start_message_move_task()
        .source_arn("arn:aws:sqs:us-east-1:000000000000:src")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()).1,
        "Source queue must be configured as a Dead Letter Queue."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_permissions_purge_and_attribute_errors() {
    let s = TestServer::start().await;
    let c = s.sqs();
    let url = queue(&c, "tagged").await;
    c.tag_queue()
        .queue_url(&url)
        .tags("team", "a")
        .tags("env", "")
        .send()
        .await
        .unwrap();
    c.untag_queue()
        .queue_url(&url)
        .tag_keys("env")
        .tag_keys("missing")
        .send()
        .await
        .unwrap();
    let tags = c.list_queue_tags().queue_url(&url).send().await.unwrap();
    assert_eq!(tags.tags().unwrap().len(), 1);
    assert_eq!(tags.tags().unwrap()["team"], "a");

    c.add_permission()
        .queue_url(&url)
        .label("share")
        .aws_account_ids("111111111111")
        .actions("ReceiveMessage")
        .send()
        .await
        .unwrap();
    let e = c
        .add_permission()
        .queue_url(&url)
        .label("share")
        .aws_account_ids("111111111111")
        .actions("SendMessage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()).1,
        "Value share for parameter Label is invalid. Reason: Already exists."
    );
    let policy = c
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(&policy.attributes().unwrap()[&QueueAttributeName::Policy]).unwrap();
    assert_eq!(policy["Statement"][0]["Action"], "SQS:ReceiveMessage");
    c.remove_permission()
        .queue_url(&url)
        .label("share")
        .send()
        .await
        .unwrap();
    let policy = c
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .unwrap();
    assert!(policy.attributes().is_none_or(|a| a.is_empty()));

    c.send_message().queue_url(&url).message_body("x").send().await.unwrap();
    c.purge_queue().queue_url(&url).send().await.unwrap();
    assert!(
        c.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    let e = c.purge_queue().queue_url(&url).send().await.unwrap_err();
    let raw = e.raw_response().map(|r| r.status().as_u16());
    assert_eq!(raw, Some(403));
    assert_eq!(
        code(&e.into_service_error()),
        (
            "AWS.SimpleQueueService.PurgeQueueInProgress".into(),
            "Only one PurgeQueue operation on tagged is allowed every 60 seconds.".into()
        )
    );

    let e = c
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "43201")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        (
            "InvalidAttributeValue".into(),
            "Invalid value for the parameter VisibilityTimeout.".into()
        )
    );
    let e = c
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        ("InvalidAttributeName".into(), "Unknown Attribute FifoQueue.".into())
    );
    let e = c
        .send_message()
        .queue_url(&url)
        .message_body("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&e.into_service_error()),
        (
            "MissingParameter".into(),
            "The request must contain the parameter MessageBody.".into()
        )
    );
}

/// Acknowledged sends, receives and deletes survive a restart of the server on the same
/// directory: a deleted message stays deleted, an in-flight one comes back when its
/// visibility ends, and FIFO deduplication still holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_and_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(rheo_engine::ManualClock::default());
    let start = |dir: std::path::PathBuf, clock: std::sync::Arc<rheo_engine::ManualClock>| async move {
        let config = rheo_engine::EngineConfig::new(dir);
        let engine = rheo_engine::Engine::open(config, clock as std::sync::Arc<dyn rheo_engine::Clock>).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(rheo_server::serve(listener, engine, Default::default()));
        (url, task)
    };
    let (url, task) = start(dir.path().to_owned(), clock.clone()).await;
    let c = sqs_client(&url);
    let q = queue(&c, "durable").await;
    let f = fifo(&c, "durable.fifo", false).await;
    for body in ["keep", "delete", "in-flight"] {
        c.send_message().queue_url(&q).message_body(body).send().await.unwrap();
    }
    c.send_message()
        .queue_url(&f)
        .message_group_id("g")
        .message_deduplication_id("d1")
        .message_body("once")
        .send()
        .await
        .unwrap();
    let got = c
        .receive_message()
        .queue_url(&q)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    for m in got.messages() {
        if m.body() == Some("delete") {
            c.delete_message()
                .queue_url(&q)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    task.abort();
    let _ = task.await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (url, _task) = start(dir.path().to_owned(), clock.clone()).await;
    let c = sqs_client(&url);
    let q = c
        .get_queue_url()
        .queue_name("durable")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // Still in flight after the restart.
    assert!(
        c.receive_message()
            .queue_url(&q)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    clock.advance_ms(31_000);
    let got = c
        .receive_message()
        .queue_url(&q)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let mut bodies: Vec<&str> = got.messages().iter().map(|m| m.body().unwrap()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["in-flight", "keep"]);
    let f = format!("{url}/000000000000/durable.fifo");
    let dup = c
        .send_message()
        .queue_url(&f)
        .message_group_id("g")
        .message_deduplication_id("d1")
        .message_body("twice?")
        .send()
        .await
        .unwrap();
    let got = c
        .receive_message()
        .queue_url(&f)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1);
    assert_eq!(got.messages()[0].body(), Some("once"));
    assert_eq!(got.messages()[0].message_id(), dup.message_id());
}

/// The query protocol, as SQS clients from before the switch to JSON send it: form posts (and
/// GETs) with `Action=`, answered in XML, errors with the legacy codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_query_protocol_is_served_in_xml() {
    use http_body_util::{BodyExt, Full};
    let s = TestServer::start().await;
    let http = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let call = |method: &str, path: String, body: &str| {
        let req = crate::common::well_formed_signature(http::Request::builder().method(method).uri(path))
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Full::new(bytes::Bytes::from(body.to_owned())))
            .unwrap();
        let http = http.clone();
        async move {
            let resp = http.request(req).await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, ct, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    let root = format!("{}/", s.url());
    let (status, ct, xml) = call(
        "POST",
        root.clone(),
        "Action=CreateQueue&Version=2012-11-05&QueueName=legacy",
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "text/xml"));
    let url = format!("{}/000000000000/legacy", s.url());
    assert!(
        xml.contains(&format!(
            "<CreateQueueResult><QueueUrl>{url}</QueueUrl></CreateQueueResult>"
        )),
        "{xml}"
    );
    let body = format!(
        "Action=SendMessage&Version=2012-11-05&QueueUrl={}&MessageBody=a+%26+b%0D&MessageAttribute.1.Name=Hello&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=There",
        url.replace(':', "%3A").replace('/', "%2F")
    );
    let (status, _, xml) = call("POST", root.clone(), &body).await;
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains("<MD5OfMessageAttributes>a311262e065454b75da111d535b8dacd</MD5OfMessageAttributes>"),
        "{xml}"
    );
    // A GET on the queue's URL, as the SQS guide shows.
    let (status, _, xml) = call(
        "GET",
        format!("{url}?Action=ReceiveMessage&Version=2012-11-05&QueueUrl=legacy&MessageAttributeName.1=All&AttributeName.1=All"),
        "",
    )
    .await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<Body>a &amp; b&#xD;</Body>"), "{xml}");
    assert!(
        xml.contains("<MessageAttribute><Name>Hello</Name><Value><StringValue>There</StringValue><DataType>String</DataType></Value></MessageAttribute>"),
        "{xml}"
    );
    assert!(
        xml.contains("<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute>"),
        "{xml}"
    );
    let (status, _, xml) = call(
        "POST",
        root.clone(),
        "Action=GetQueueUrl&Version=2012-11-05&QueueName=nope",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        xml.contains("<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist for this wsdl version.</Message><Detail/></Error>"),
        "{xml}"
    );
    let (status, _, xml) = call("POST", root, "Action=Frobnicate&Version=2012-11-05").await;
    assert_eq!(status, 400);
    assert!(
        xml.contains(
            "<Code>InvalidAction</Code><Message>The action Frobnicate is not valid for this endpoint.</Message>"
        ),
        "{xml}"
    );
}

/// Rheo's limits on what queues hold, over the wire: a tenant at its message bytes gets
/// OverLimit on sends (per entry in a batch) and an SNS publish fanning out to it Throttled; a
/// standard queue at its in-flight limit answers receives with OverLimit and AWS's text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_at_their_limits_answer_over_limit() {
    let server = TestServer::with(Options {
        configure: |o| {
            o.sqs.stored_bytes = 2000;
            o.sqs.in_flight = 2;
        },
        ..Options::default()
    })
    .await;
    let c = server.sqs();
    let url = queue(&c, "limited").await;
    for n in 0..3 {
        c.send_message()
            .queue_url(&url)
            .message_body(format!("{n}{}", "x".repeat(700)))
            .send()
            .await
            .unwrap();
    }
    let e = c
        .send_message()
        .queue_url(&url)
        .message_body("one more")
        .send()
        .await
        .unwrap_err();
    let e = e.into_service_error();
    assert_eq!(code(&e).0, "OverLimit");
    let out = c
        .send_message_batch()
        .queue_url(&url)
        .entries(
            SendMessageBatchRequestEntry::builder()
                .id("a")
                .message_body("m")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed()[0].code(), "OverLimit");
    assert!(out.failed()[0].sender_fault());

    let sns = crate::common::sns_client(&server.url());
    let topic = sns.create_topic().name("t").send().await.unwrap().topic_arn.unwrap();
    let arn = "arn:aws:sqs:us-east-1:000000000000:limited";
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .unwrap();
    let e = sns
        .publish()
        .topic_arn(&topic)
        .message("m")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(e.code(), Some("Throttled"));

    let got = c
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.messages().len(),
        2,
        "no more than the room under the in-flight limit"
    );
    let e = c
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        code(&e),
        (
            "OverLimit".to_owned(),
            "Too many messages have been received without being deleted.\nPlease delete your received messages or let them timeout before receiving more.".to_owned()
        )
    );
}
