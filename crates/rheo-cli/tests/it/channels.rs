//! Kinesis channels through `aws-sdk-kinesis`, read back with `aws-sdk-s3`: an on-demand
//! stream delivered as gzip and zstd objects named by the key template once the data freshness
//! has passed (the server's clock moved by the test), invalid JSON records in the dead-letter
//! prefix, the control plane and its errors.

use crate::common::TestServer;
use crate::kinesis_queues::on_demand;
use crate::s3::s3_client;
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::{
    ChannelStreamConfiguration, RecordConfiguration, RecordFormatType, S3CompressionType, S3DestinationConfiguration,
    S3DestinationUpdateInput, S3StorageConfiguration,
};
use std::io::Read;
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::000000000000:role/channel";

fn storage(bucket: &str, compression: S3CompressionType, template: Option<&str>) -> S3DestinationConfiguration {
    S3DestinationConfiguration::builder()
        .storage_configuration(
            S3StorageConfiguration::builder()
                .bucket_arn(format!("arn:aws:s3:::{bucket}"))
                .expected_bucket_owner("000000000000")
                .compression_type(compression)
                .set_output_key_template(template.map(str::to_owned))
                .build()
                .unwrap(),
        )
        .build()
}

fn stream(server: &TestServer, name: &str, format: RecordFormatType) -> ChannelStreamConfiguration {
    ChannelStreamConfiguration::builder()
        .stream_arn(server.arn(name))
        .record_configuration(
            RecordConfiguration::builder()
                .record_format_type(format)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

async fn objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let out = s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.unwrap();
    let mut all = Vec::new();
    for o in out.contents() {
        let key = o.key().unwrap().to_owned();
        let got = s3.get_object().bucket(bucket).key(&key).send().await.unwrap();
        all.push((key, got.body.collect().await.unwrap().into_bytes().to_vec()));
    }
    all
}

/// Moves the server's clock past the data freshness until the objects under `prefix` hold
/// `records` records (JSON lines, or 3-byte records): the stream's records reach the channel
/// asynchronously, so one flush may not hold them all.
async fn flush_until(
    server: &TestServer,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    records: usize,
) -> Vec<(String, Vec<u8>)> {
    for _ in 0..100 {
        server.clock.advance_ms(300_000);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let all = objects(s3, bucket, prefix).await;
        let count: usize = all
            .iter()
            .map(|(k, raw)| {
                if k.ends_with(".gz") {
                    let mut t = String::new();
                    flate2::read::MultiGzDecoder::new(&raw[..])
                        .read_to_string(&mut t)
                        .unwrap();
                    t.lines().count()
                } else {
                    zstd::stream::decode_all(&raw[..]).unwrap().len() / 3
                }
            })
            .sum();
        if count >= records {
            return all;
        }
    }
    panic!("fewer than {records} records under {prefix}");
}

/// The objects under `prefix` once there are some, moving the clock past the freshness.
async fn wait_objects(
    server: &TestServer,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Vec<(String, Vec<u8>)> {
    for _ in 0..200 {
        server.clock.advance_ms(300_000);
        let all = objects(s3, bucket, prefix).await;
        if !all.is_empty() {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no object under {prefix}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_delivers_a_stream_to_a_bucket() {
    let server = TestServer::start().await;
    let (k, s3) = (server.client(), s3_client(&server.url()));
    s3.create_bucket().bucket("channel-lake").send().await.unwrap();
    on_demand(&k, "orders").await;
    crate::common::put(&k, "orders", "early", "{\"before\":true}").await;
    let created = k
        .create_channel()
        .channel_name("orders-to-lake")
        .service_execution_role_arn(ROLE)
        .stream_configuration_list(stream(&server, "orders", RecordFormatType::Json))
        .s3_destination_configuration(storage("channel-lake", S3CompressionType::Gzip, None))
        .send()
        .await
        .unwrap();
    let d = created.channel_description().unwrap();
    let arn = d.channel_arn().to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:kinesis:us-east-1:000000000000:channel/{}", d.channel_id())
    );
    assert_eq!(
        d.channel_status().as_str(),
        "CREATING",
        "as AWS answers; ready at once here"
    );
    let now = k.describe_channel().channel_arn(&arn).send().await.unwrap();
    assert_eq!(now.channel_description().unwrap().channel_status().as_str(), "ACTIVE");
    let dest = d.s3_destination_configuration().unwrap();
    assert_eq!(dest.data_freshness_in_seconds(), 300);
    let dlq = dest.dead_letter_queue_s3_configuration().unwrap();
    assert_eq!(
        dlq.error_output_prefix(),
        Some(format!("kinesis-channel/errors/orders-to-lake/{}/", d.channel_id()).as_str())
    );

    for i in 0..20 {
        crate::common::put(&k, "orders", &format!("c{i}"), format!("{{\"order\":{i}}}")).await;
    }
    crate::common::put(&k, "orders", "bad", "not json").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        objects(&s3, "channel-lake", "kinesis-channel/orders-to-lake/")
            .await
            .is_empty(),
        "the freshness holds them"
    );
    let put_at = server.clock_now();
    let got = flush_until(&server, &s3, "channel-lake", "kinesis-channel/orders-to-lake/", 20).await;
    let id = d.channel_id();
    let t = jiff::Timestamp::from_millisecond(put_at).unwrap();
    let want = format!(
        "kinesis-channel/orders-to-lake/{id}/{}/orders-to-lake-{id}-{}-",
        t.strftime("%Y/%m/%d/%H"),
        t.strftime("%Y-%m-%d-%H-%M")
    );
    let mut text = String::new();
    for (key, raw) in &got {
        assert!(key.starts_with(&want) && key.ends_with(".gz"), "{key} vs {want}");
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_string(&mut text)
            .unwrap();
    }
    // Records of different shards (an on-demand stream has several) interleave.
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    lines.sort();
    let mut want: Vec<String> = (0..20).map(|i| format!("{{\"order\":{i}}}\n")).collect();
    want.sort();
    assert_eq!(lines, want, "records after the creation only, each once, one per line");
    let dead = wait_objects(&server, &s3, "channel-lake", "kinesis-channel/errors/orders-to-lake/").await;
    let e: serde_json::Value = serde_json::from_slice(&dead[0].1).unwrap();
    assert_eq!(e["errorCode"], "InvalidJsonRecord");
    assert_eq!(e["streamARN"], server.arn("orders"));
    assert!(e["sequenceNumber"].is_string());

    let list = k.list_channels().send().await.unwrap();
    assert_eq!(list.channel_summaries().len(), 1);
    assert_eq!(list.channel_summaries()[0].channel_destination_type().as_str(), "S3");
    let none = k
        .list_channels()
        .stream_filter(
            aws_sdk_kinesis::types::StreamFilter::builder()
                .stream_arn(server.arn("other"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(none.channel_summaries().is_empty());
    let updated = k
        .update_channel()
        .channel_arn(&arn)
        .s3_destination_configuration(
            S3DestinationUpdateInput::builder()
                .data_freshness_in_seconds(600)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated
            .channel_description()
            .unwrap()
            .s3_destination_configuration()
            .unwrap()
            .data_freshness_in_seconds(),
        600
    );
    // Errors: a second channel on the stream, a duplicate name, freshness out of range, a
    // provisioned stream, a template without an extension for gzip.
    let create = |name: &str, stream_name: &str, dest: S3DestinationConfiguration| {
        k.create_channel()
            .channel_name(name)
            .service_execution_role_arn(ROLE)
            .stream_configuration_list(stream(&server, stream_name, RecordFormatType::ByteArray))
            .s3_destination_configuration(dest)
    };
    let e = create(
        "again",
        "orders",
        storage("channel-lake", S3CompressionType::None, None),
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(e.code(), Some("LimitExceededException"), "{e:?}");
    on_demand(&k, "second").await;
    let e = create(
        "orders-to-lake",
        "second",
        storage("channel-lake", S3CompressionType::None, None),
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(e.code(), Some("ResourceInUseException"), "{e:?}");
    let e = create(
        "gz-no-ext",
        "second",
        storage("channel-lake", S3CompressionType::Gzip, Some("raw/!{channel-name}")),
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(e.code(), Some("InvalidArgumentException"), "{e:?}");
    crate::common::create_active(&k, "provisioned", 1).await;
    let e = create(
        "prov",
        "provisioned",
        storage("channel-lake", S3CompressionType::None, None),
    )
    .send()
    .await
    .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");
    // A stream a channel reads cannot be deleted (by name or by ARN) until the channel is.
    let e = k.delete_stream().stream_name("orders").send().await.unwrap_err();
    assert_eq!(e.code(), Some("ResourceInUseException"), "{e:?}");
    let stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/orders";
    let e = k.delete_stream().stream_arn(stream_arn).send().await.unwrap_err();
    assert_eq!(e.code(), Some("ResourceInUseException"), "{e:?}");
    k.delete_channel().channel_arn(&arn).send().await.unwrap();
    let e = k.describe_channel().channel_arn(&arn).send().await.unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    k.delete_stream().stream_name("orders").send().await.unwrap();
}

/// ZSTD objects with a custom template and a literal extension, BYTE_ARRAY records as they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_writes_zstd_with_its_template() {
    let server = TestServer::start().await;
    let (k, s3) = (server.client(), s3_client(&server.url()));
    s3.create_bucket().bucket("zlake").send().await.unwrap();
    on_demand(&k, "raw").await;
    k.create_channel()
        .channel_name("raw-zstd")
        .service_execution_role_arn(ROLE)
        .stream_configuration_list(stream(&server, "raw", RecordFormatType::ByteArray))
        .s3_destination_configuration(storage(
            "zlake",
            S3CompressionType::Zstd,
            Some("data/stream=!{stream-name}/!{yyyy}-!{MM}-!{dd}/!{HH}!{mm}!{extension:.bin}"),
        ))
        .send()
        .await
        .unwrap();
    for i in 0..10u8 {
        crate::common::put(&k, "raw", "k", vec![i, 0xff, i]).await;
    }
    let got = flush_until(&server, &s3, "zlake", "data/stream=raw/", 10).await;
    // The records may come in more than one object (they reach the channel asynchronously),
    // whose keys sort by their ids: in order within each object, every one once in all.
    let mut records = Vec::new();
    for (key, raw) in &got {
        assert!(key.ends_with(".bin"), "{key}");
        let bytes = zstd::stream::decode_all(&raw[..]).unwrap();
        let mine: Vec<Vec<u8>> = bytes.chunks(3).map(<[u8]>::to_vec).collect();
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "in order within {key}");
        records.extend(mine);
    }
    records.sort();
    let want: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i, 0xff, i]).collect();
    assert_eq!(records, want);
}
