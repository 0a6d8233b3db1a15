//! Delivery streams through `aws-sdk-firehose`, read back with `aws-sdk-s3`: the control
//! plane and its errors, buffering by size and by interval (the server's clock moved by the
//! test), object keys and prefix expressions, each compression format decoded, and a Python
//! transformation function that enriches, drops and fails records.

use crate::common::TestServer;
use crate::s3::s3_client;
use aws_sdk_firehose::Client;
use aws_sdk_firehose::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_firehose::error::ProvideErrorMetadata;
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, ExtendedS3DestinationConfiguration, ExtendedS3DestinationUpdate,
    ProcessingConfiguration, Processor, ProcessorParameter, ProcessorParameterName, ProcessorType, Record, Tag,
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use std::io::Read;
use std::time::Duration;

pub const ROLE: &str = "arn:aws:iam::000000000000:role/firehose";

pub fn firehose_client(url: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_firehose::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

pub fn destination(
    bucket: &str,
    size_mb: i32,
    interval_s: i32,
) -> aws_sdk_firehose::types::builders::ExtendedS3DestinationConfigurationBuilder {
    ExtendedS3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .buffering_hints(
            BufferingHints::builder()
                .size_in_mbs(size_mb)
                .interval_in_seconds(interval_s)
                .build(),
        )
}

pub async fn create(c: &Client, name: &str, dest: ExtendedS3DestinationConfiguration) {
    c.create_delivery_stream()
        .delivery_stream_name(name)
        .extended_s3_destination_configuration(dest)
        .send()
        .await
        .unwrap();
}

/// The keys under `prefix` once there are `n` of them (waiting up to 20 s).
pub async fn keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str, n: usize) -> Vec<String> {
    let mut found = Vec::new();
    for _ in 0..200 {
        let out = s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.unwrap();
        found = out
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("expected {n} objects under {prefix:?}, found {found:?}");
}

pub async fn body(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// One PutRecord of `x`.
async fn put_one(
    c: &Client,
    name: &str,
) -> Result<
    aws_sdk_firehose::operation::put_record::PutRecordOutput,
    aws_sdk_firehose::error::SdkError<aws_sdk_firehose::operation::put_record::PutRecordError>,
> {
    c.put_record()
        .delivery_stream_name(name)
        .record(Record::builder().data(Blob::new("x")).build().unwrap())
        .send()
        .await
}

pub async fn put_lines(c: &Client, name: &str, lines: &[String]) {
    for chunk in lines.chunks(500) {
        let records: Vec<Record> = chunk
            .iter()
            .map(|l| Record::builder().data(Blob::new(l.as_bytes())).build().unwrap())
            .collect();
        let out = c
            .put_record_batch()
            .delivery_stream_name(name)
            .set_records(Some(records))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_put_count(), 0);
        assert_eq!(out.request_responses().len(), chunk.len());
        assert!(out.request_responses().iter().all(|r| r.record_id().is_some()));
    }
}

#[tokio::test]
async fn control_plane() {
    let server = TestServer::start().await;
    let c = firehose_client(&server.url());
    create(&c, "hose", destination("b", 5, 300).prefix("raw/").build().unwrap()).await;
    let d = c
        .describe_delivery_stream()
        .delivery_stream_name("hose")
        .send()
        .await
        .unwrap();
    let d = d.delivery_stream_description().unwrap();
    assert_eq!(
        d.delivery_stream_arn(),
        "arn:aws:firehose:us-east-1:000000000000:deliverystream/hose"
    );
    assert_eq!(d.delivery_stream_status().as_str(), "ACTIVE");
    assert_eq!(d.delivery_stream_type().as_str(), "DirectPut");
    assert_eq!(d.version_id(), "1");
    let dest = d.destinations()[0].extended_s3_destination_description().unwrap();
    assert_eq!(dest.compression_format().as_str(), "UNCOMPRESSED");
    assert_eq!(dest.prefix(), Some("raw/"));
    assert_eq!(dest.buffering_hints().unwrap().size_in_mbs(), Some(5));

    let e = c
        .create_delivery_stream()
        .delivery_stream_name("hose")
        .extended_s3_destination_configuration(destination("b", 5, 300).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceInUseException"));
    let e = c
        .describe_delivery_stream()
        .delivery_stream_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    // A prefix with expressions needs an error prefix.
    let e = c
        .create_delivery_stream()
        .delivery_stream_name("bad")
        .extended_s3_destination_configuration(destination("b", 5, 300).prefix("x/!{timestamp:yyyy}/").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidArgumentException"), "{e:?}");
    // The model's checks come first.
    let e = c
        .create_delivery_stream()
        .delivery_stream_name("bad name!")
        .extended_s3_destination_configuration(destination("b", 5, 300).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"), "{e:?}");

    let update = || {
        c.update_destination()
            .delivery_stream_name("hose")
            .destination_id("destinationId-000000000001")
            .extended_s3_destination_update(
                ExtendedS3DestinationUpdate::builder()
                    .compression_format(CompressionFormat::Gzip)
                    .build(),
            )
    };
    update().current_delivery_stream_version_id("1").send().await.unwrap();
    let e = update()
        .current_delivery_stream_version_id("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ConcurrentModificationException"));
    let d = c
        .describe_delivery_stream()
        .delivery_stream_name("hose")
        .send()
        .await
        .unwrap();
    let d = d.delivery_stream_description().unwrap();
    assert_eq!(d.version_id(), "2");
    let dest = d.destinations()[0].extended_s3_destination_description().unwrap();
    assert_eq!(dest.compression_format().as_str(), "GZIP");
    assert_eq!(dest.prefix(), Some("raw/"), "the update merges");

    c.tag_delivery_stream()
        .delivery_stream_name("hose")
        .tags(Tag::builder().key("team").value("data").build().unwrap())
        .tags(Tag::builder().key("env").value("test").build().unwrap())
        .send()
        .await
        .unwrap();
    c.untag_delivery_stream()
        .delivery_stream_name("hose")
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let tags = c
        .list_tags_for_delivery_stream()
        .delivery_stream_name("hose")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].value(), Some("data"));
    assert!(!tags.has_more_tags());

    create(&c, "second", destination("b", 5, 300).build().unwrap()).await;
    let list = c.list_delivery_streams().limit(1).send().await.unwrap();
    assert_eq!(list.delivery_stream_names(), ["hose"]);
    assert!(list.has_more_delivery_streams());
    let list = c
        .list_delivery_streams()
        .exclusive_start_delivery_stream_name("hose")
        .send()
        .await
        .unwrap();
    assert_eq!(list.delivery_stream_names(), ["second"]);

    c.start_delivery_stream_encryption()
        .delivery_stream_name("hose")
        .send()
        .await
        .unwrap();
    let put = put_one(&c, "hose").await.unwrap();
    assert_eq!(put.encrypted(), Some(true));
    c.delete_delivery_stream()
        .delivery_stream_name("hose")
        .send()
        .await
        .unwrap();
    let e = put_one(&c, "hose").await.unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn buffers_by_size_then_by_interval() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    s3.create_bucket().bucket("sink").send().await.unwrap();
    create(&c, "sized", destination("sink", 1, 60).build().unwrap()).await;
    // 1.5 MiB in 1 KiB records: one object of 1 MiB now, the rest after the interval.
    let lines: Vec<String> = (0..1536).map(|i| format!("{i:05}{}\n", "x".repeat(1018))).collect();
    put_lines(&c, "sized", &lines).await;
    let first = keys(&s3, "sink", "", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        keys(&s3, "sink", "", 1).await.len(),
        1,
        "the rest waits for the interval"
    );
    let one = body(&s3, "sink", &first[0]).await;
    assert_eq!(one.len(), 1024 * 1024);
    server.clock.advance_ms(60_000);
    let all = keys(&s3, "sink", "", 2).await;
    // The keys sort by their random ids: the first object is the one seen first.
    let mut got = one.clone();
    for k in all.iter().filter(|k| **k != first[0]) {
        got.extend(body(&s3, "sink", k).await);
    }
    assert_eq!(got, lines.concat().into_bytes(), "every record once, in order");

    // Keys: the default prefix and Firehose's name, from the oldest record's arrival.
    let t = jiff::Timestamp::from_millisecond(server.clock_now() - 60_000).unwrap();
    let prefix = t.strftime("%Y/%m/%d/%H/").to_string();
    let name = regex_lite::Regex::new(
        r"^sized-1-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    )
    .unwrap();
    for k in &all {
        let rest = k.strip_prefix(&prefix).unwrap_or_else(|| panic!("{k} under {prefix}"));
        assert!(name.is_match(rest), "{rest}");
    }
}

fn lines(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{{\"n\":{i}}}\n")).collect()
}

#[tokio::test]
async fn compression_formats_and_prefix_expressions() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    s3.create_bucket().bucket("out").send().await.unwrap();
    let data = lines(2000);
    for (name, format) in [
        ("gz", CompressionFormat::Gzip),
        ("zip", CompressionFormat::Zip),
        ("snappy", CompressionFormat::Snappy),
        ("hadoop", CompressionFormat::HadoopSnappy),
        ("plain", CompressionFormat::Uncompressed),
    ] {
        let dest = destination("out", 5, 0)
            .prefix(format!(
                "{name}/!{{timestamp:'year='yyyy}}/!{{firehose:random-string}}/"
            ))
            .error_output_prefix(format!("{name}-errors/!{{firehose:error-output-type}}/"))
            .compression_format(format)
            .build()
            .unwrap();
        create(&c, name, dest).await;
        put_lines(&c, name, &data).await;
        let mut want = data.clone();
        want.sort();
        // With a 0 s interval, the batches may land in several objects.
        let mut all = Vec::new();
        for _ in 0..200 {
            let text = String::from_utf8(decode_all(&s3, &server, name).await).unwrap();
            all = text.split_inclusive('\n').map(str::to_owned).collect();
            all.sort();
            if all.len() >= want.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(all == want, "{name}: {} records back of {}", all.len(), want.len());
    }
}

/// Every object under `<name>/`, decoded by its format.
async fn decode_all(s3: &aws_sdk_s3::Client, server: &TestServer, name: &str) -> Vec<u8> {
    let out = s3
        .list_objects_v2()
        .bucket("out")
        .prefix(format!("{name}/"))
        .send()
        .await
        .unwrap();
    let found: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    let mut all = Vec::new();
    {
        for k in &found {
            let parts: Vec<&str> = k.split('/').collect();
            assert_eq!(
                parts[1],
                jiff::Timestamp::from_millisecond(server.clock_now())
                    .unwrap()
                    .strftime("year=%Y")
                    .to_string()
            );
            assert_eq!(parts[2].len(), 11, "{k}");
            let raw = body(s3, "out", k).await;
            let head = s3.head_object().bucket("out").key(k).send().await.unwrap();
            let decoded = match name {
                "gz" => {
                    assert!(k.ends_with(".gz"));
                    assert_eq!(head.content_encoding(), Some("gzip"));
                    let mut out = Vec::new();
                    flate2::read::MultiGzDecoder::new(&raw[..])
                        .read_to_end(&mut out)
                        .unwrap();
                    out
                }
                "zip" => {
                    assert!(k.ends_with(".zip"));
                    let mut a = zip::ZipArchive::new(std::io::Cursor::new(raw)).unwrap();
                    let mut out = Vec::new();
                    a.by_index(0).unwrap().read_to_end(&mut out).unwrap();
                    out
                }
                "snappy" => {
                    assert!(k.ends_with(".snappy"));
                    snappy_java(&raw)
                }
                "hadoop" => {
                    assert!(k.ends_with(".snappy"));
                    hadoop_snappy(&raw)
                }
                _ => raw,
            };
            all.extend(decoded);
        }
    }
    all
}

/// snappy-java's stream, read by its documented layout with the `snap` crate's raw decoder.
fn snappy_java(raw: &[u8]) -> Vec<u8> {
    assert_eq!(&raw[..8], b"\x82SNAPPY\x00");
    blocks(&raw[16..], false)
}

fn hadoop_snappy(raw: &[u8]) -> Vec<u8> {
    blocks(raw, true)
}

fn blocks(mut raw: &[u8], hadoop: bool) -> Vec<u8> {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let mut out = Vec::new();
    while !raw.is_empty() {
        let expect = hadoop.then(|| be(raw));
        if hadoop {
            raw = &raw[4..];
        }
        let n = be(raw);
        let block = snap::raw::Decoder::new().decompress_vec(&raw[4..4 + n]).unwrap();
        if let Some(e) = expect {
            assert_eq!(block.len(), e);
        }
        out.extend(block);
        raw = &raw[4 + n..];
    }
    out
}

const TRANSFORM: &str = r#"
import base64, json

def handler(event, context):
    out = []
    for r in event["records"]:
        d = json.loads(base64.b64decode(r["data"]))
        if d.get("drop"):
            out.append({"recordId": r["recordId"], "result": "Dropped", "data": r["data"]})
        elif d.get("fail"):
            out.append({"recordId": r["recordId"], "result": "ProcessingFailed", "data": r["data"]})
        else:
            d["enriched"] = event["deliveryStreamArn"].split("/")[-1]
            d["region"] = event["region"]
            d["invocation"] = bool(event["invocationId"])
            data = base64.b64encode(json.dumps(d, separators=(",", ":")).encode()).decode()
            out.append({"recordId": r["recordId"], "result": "Ok", "data": data})
    return {"records": out}
"#;

#[tokio::test]
async fn a_python_function_transforms_drops_and_fails_records() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    let lambda = crate::common::lambda_client(&server.url());
    crate::lambda::create_python(&lambda, "enrich", TRANSFORM, &[]).await;
    s3.create_bucket().bucket("tfm").send().await.unwrap();
    let lambda_processor = processor(
        ProcessorType::Lambda,
        &[(
            ProcessorParameterName::LambdaArn,
            "arn:aws:lambda:us-east-1:000000000000:function:enrich",
        )],
    );
    let delimiter = processor(ProcessorType::AppendDelimiterToRecord, &[]);
    let dest = destination("tfm", 1, 0)
        .prefix("ok/")
        .error_output_prefix("failed/!{firehose:error-output-type}/")
        .processing_configuration(
            ProcessingConfiguration::builder()
                .enabled(true)
                .processors(lambda_processor)
                .processors(delimiter)
                .build(),
        )
        .build()
        .unwrap();
    create(&c, "enriched", dest).await;
    let input: Vec<String> = (0..30)
        .map(|i| match i % 3 {
            0 => format!("{{\"n\":{i}}}"),
            1 => format!("{{\"n\":{i},\"drop\":true}}"),
            _ => format!("{{\"n\":{i},\"fail\":true}}"),
        })
        .collect();
    put_lines(&c, "enriched", &input).await;
    let ok = keys(&s3, "tfm", "ok/", 1).await;
    let text = String::from_utf8(body(&s3, "tfm", &ok[0]).await).unwrap();
    let want: String = (0..30)
        .step_by(3)
        .map(|i| format!("{{\"n\":{i},\"enriched\":\"enriched\",\"region\":\"us-east-1\",\"invocation\":true}}\n"))
        .collect();
    assert_eq!(text, want);
    let failed = keys(&s3, "tfm", "failed/processing-failed/", 1).await;
    let text = String::from_utf8(body(&s3, "tfm", &failed[0]).await).unwrap();
    let errors: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(errors.len(), 10);
    for (e, i) in errors.iter().zip((2..30).step_by(3)) {
        assert_eq!(e["errorCode"], "Lambda.ProcessingFailedStatus");
        assert_eq!(e["lambdaArn"], "arn:aws:lambda:us-east-1:000000000000:function:enrich");
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(e["rawData"].as_str().unwrap())
            .unwrap();
        assert_eq!(raw, format!("{{\"n\":{i},\"fail\":true}}").into_bytes());
        for field in [
            "attemptsMade",
            "arrivalTimestamp",
            "attemptEndingTimestamp",
            "errorMessage",
        ] {
            assert!(!e[field].is_null(), "{field} in {e}");
        }
    }
}

/// A delivery stream reading a Kinesis stream from its creation on, across a reshard: every
/// record delivered once, parents before children (so each key's records keep their order
/// within each object), and its own PutRecord refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kinesis_source_is_delivered_once_across_a_reshard() {
    let server = TestServer::start().await;
    let (c, s3, k) = (
        firehose_client(&server.url()),
        s3_client(&server.url()),
        server.client(),
    );
    s3.create_bucket().bucket("from-kinesis").send().await.unwrap();
    crate::common::create_active(&k, "clicks", 1).await;
    crate::common::put(&k, "clicks", "early", "before the delivery stream").await;
    c.create_delivery_stream()
        .delivery_stream_name("clicks-to-s3")
        .delivery_stream_type(aws_sdk_firehose::types::DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(
            aws_sdk_firehose::types::KinesisStreamSourceConfiguration::builder()
                .kinesis_stream_arn(server.arn("clicks"))
                .role_arn(ROLE)
                .build()
                .unwrap(),
        )
        .extended_s3_destination_configuration(destination("from-kinesis", 1, 0).prefix("clicks/").build().unwrap())
        .send()
        .await
        .unwrap();
    let d = c
        .describe_delivery_stream()
        .delivery_stream_name("clicks-to-s3")
        .send()
        .await
        .unwrap();
    let src = d.delivery_stream_description().unwrap().source().unwrap();
    assert_eq!(
        src.kinesis_stream_source_description().unwrap().kinesis_stream_arn(),
        Some(server.arn("clicks").as_str())
    );
    let e = put_one(&c, "clicks-to-s3").await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidArgumentException"));

    let keys = ["a", "b", "c", "d"];
    for n in 0..10 {
        for key in keys {
            crate::common::put(&k, "clicks", key, format!("{key}:{n}\n")).await;
        }
    }
    k.update_shard_count()
        .stream_name("clicks")
        .target_shard_count(2)
        .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
        .send()
        .await
        .unwrap();
    crate::common::wait_active(&k, "clicks").await;
    for n in 10..20 {
        for key in keys {
            crate::common::put(&k, "clicks", key, format!("{key}:{n}\n")).await;
        }
    }
    let mut lines: Vec<String> = Vec::new();
    for _ in 0..200 {
        let found = keys_now(&s3, "from-kinesis", "clicks/").await;
        lines.clear();
        for key in &found {
            let text = String::from_utf8(body(&s3, "from-kinesis", key).await).unwrap();
            for key in keys {
                let order: Vec<u32> = text
                    .lines()
                    .filter_map(|l| l.strip_prefix(&format!("{key}:")))
                    .map(|n| n.parse().unwrap())
                    .collect();
                assert!(order.windows(2).all(|w| w[0] < w[1]), "order of {key} in {text}");
            }
            lines.extend(text.lines().map(str::to_owned));
        }
        if lines.len() >= 80 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    lines.sort();
    let mut want: Vec<String> = (0..20).flat_map(|n| keys.map(|k| format!("{k}:{n}"))).collect();
    want.sort();
    assert_eq!(lines, want, "every record after the creation, once");
}

async fn keys_now(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let out = s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// A delivery stream writing into a bucket on an external S3-compatible store (another Rheo
/// server, with its own credentials): the objects land there, created only if absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_into_an_external_store() {
    let remote = TestServer::with(crate::common::Options {
        credentials: vec!["AKIDREMOTE:remotesecret"],
        ..Default::default()
    })
    .await;
    let store = crate::s3::s3_client_with(&remote.url(), true, "AKIDREMOTE", "remotesecret");
    store.create_bucket().bucket("remote-lake").send().await.unwrap();
    let front = TestServer::with(crate::common::Options {
        s3_external: vec![
            rheo_objects::external::ExternalConfig::parse_spec(&format!(
                "name=lake,bucket=remote-lake,endpoint={},access-key-id=AKIDREMOTE,secret-access-key=remotesecret",
                remote.url()
            ))
            .unwrap(),
        ],
        ..Default::default()
    })
    .await;
    let c = firehose_client(&front.url());
    create(
        &c,
        "to-lake",
        destination("lake", 1, 0)
            .prefix("landed/")
            .compression_format(CompressionFormat::Gzip)
            .build()
            .unwrap(),
    )
    .await;
    put_lines(&c, "to-lake", &lines(100)).await;
    let mut text = String::new();
    for _ in 0..200 {
        text.clear();
        for key in keys_now(&store, "remote-lake", "landed/").await {
            assert!(key.ends_with(".gz"), "{key}");
            let raw = body(&store, "remote-lake", &key).await;
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_string(&mut text)
                .unwrap();
        }
        if text.lines().count() >= 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut got: Vec<&str> = text.lines().collect();
    got.sort();
    let want = lines(100);
    let mut want: Vec<&str> = want.iter().map(|l| l.trim_end()).collect();
    want.sort();
    assert_eq!(got, want, "every record in the external store, once");
}

fn gunzip(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw).read_to_end(&mut out).unwrap();
    out
}

/// S3BackupMode Enabled: the source records, as put, also go to the backup's bucket with its own
/// prefix, buffering and compression; the intake keeps them until both have delivered them.
#[tokio::test]
async fn source_records_are_backed_up() {
    use aws_sdk_firehose::types::{S3BackupMode, S3DestinationConfiguration, S3DestinationUpdate};
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    for b in ["sink", "backup"] {
        s3.create_bucket().bucket(b).send().await.unwrap();
    }
    let backup = S3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn("arn:aws:s3:::backup")
        .prefix("raw/")
        .compression_format(CompressionFormat::Gzip)
        .buffering_hints(BufferingHints::builder().size_in_mbs(1).interval_in_seconds(60).build())
        .build()
        .unwrap();
    let append = ProcessingConfiguration::builder()
        .enabled(true)
        .processors(processor(ProcessorType::AppendDelimiterToRecord, &[]))
        .build();
    let dest = destination("sink", 1, 0)
        .prefix("out/")
        .processing_configuration(append)
        .s3_backup_mode(S3BackupMode::Enabled)
        .s3_backup_configuration(backup)
        .build()
        .unwrap();
    create(&c, "backed", dest).await;
    let records: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
    put_lines(&c, "backed", &records).await;
    // The destination delivers at once; the backup after its own interval.
    let delivered = keys(&s3, "sink", "out/", 1).await;
    assert_eq!(
        body(&s3, "sink", &delivered[0]).await,
        records
            .iter()
            .map(|r| format!("{r}\n"))
            .collect::<String>()
            .into_bytes()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        keys_now(&s3, "backup", "").await.is_empty(),
        "the backup waits for its interval"
    );
    server.clock.advance_ms(60_000);
    let backed = keys(&s3, "backup", "raw/", 1).await;
    assert!(backed[0].ends_with(".gz"), "{backed:?}");
    assert_eq!(
        gunzip(&body(&s3, "backup", &backed[0]).await),
        records.concat().into_bytes()
    );
    let d = c
        .describe_delivery_stream()
        .delivery_stream_name("backed")
        .send()
        .await
        .unwrap();
    let d = d.delivery_stream_description().unwrap();
    let ext = d.destinations()[0].extended_s3_destination_description().unwrap();
    assert_eq!(ext.s3_backup_mode(), Some(&S3BackupMode::Enabled));
    assert_eq!(ext.s3_backup_description().unwrap().prefix(), Some("raw/"));
    // Once enabled, backup cannot be disabled.
    let e = c
        .update_destination()
        .delivery_stream_name("backed")
        .current_delivery_stream_version_id(d.version_id())
        .destination_id(d.destinations()[0].destination_id())
        .extended_s3_destination_update(
            ExtendedS3DestinationUpdate::builder()
                .s3_backup_mode(S3BackupMode::Disabled)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidArgumentException"));
    // Enabled needs a backup configuration, itself checked.
    let e = c
        .create_delivery_stream()
        .delivery_stream_name("no-backup")
        .extended_s3_destination_configuration(
            destination("sink", 1, 0)
                .s3_backup_mode(S3BackupMode::Enabled)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidArgumentException"));
    let bad_prefix = S3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn("arn:aws:s3:::backup")
        .prefix("raw/!{timestamp:yyyy}/")
        .build()
        .unwrap();
    let e = c
        .create_delivery_stream()
        .delivery_stream_name("bad-backup")
        .extended_s3_destination_configuration(
            destination("sink", 1, 0)
                .s3_backup_mode(S3BackupMode::Enabled)
                .s3_backup_configuration(bad_prefix)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some("InvalidArgumentException"),
        "an expression needs an error prefix"
    );

    // Enabled by UpdateDestination: the records put afterwards are backed up too.
    create(&c, "later", destination("sink", 1, 0).prefix("later/").build().unwrap()).await;
    let d = c
        .describe_delivery_stream()
        .delivery_stream_name("later")
        .send()
        .await
        .unwrap();
    let d = d.delivery_stream_description().unwrap();
    c.update_destination()
        .delivery_stream_name("later")
        .current_delivery_stream_version_id(d.version_id())
        .destination_id(d.destinations()[0].destination_id())
        .extended_s3_destination_update(
            ExtendedS3DestinationUpdate::builder()
                .s3_backup_mode(S3BackupMode::Enabled)
                .s3_backup_update(
                    S3DestinationUpdate::builder()
                        .bucket_arn("arn:aws:s3:::backup")
                        .prefix("later-raw/")
                        .buffering_hints(BufferingHints::builder().size_in_mbs(1).interval_in_seconds(0).build())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    put_lines(&c, "later", &["x".to_owned(), "y".to_owned()]).await;
    // Two records: one object, or two sorted by their random ids.
    let mut all = Vec::new();
    for _ in 0..100 {
        all.clear();
        for k in keys(&s3, "backup", "later-raw/", 1).await {
            all.extend(body(&s3, "backup", &k).await);
        }
        if all.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    all.sort();
    assert_eq!(all, b"xy");
}

/// A delivered object is announced like any other: an ObjectCreated event in a queue.
#[tokio::test]
async fn delivered_objects_are_announced() {
    let server = TestServer::start().await;
    let (c, s3, sqs) = (firehose_client(&server.url()), s3_client(&server.url()), server.sqs());
    s3.create_bucket().bucket("announced").send().await.unwrap();
    let q = sqs.create_queue().queue_name("new-objects").send().await.unwrap();
    let q = q.queue_url().unwrap().to_owned();
    s3.put_bucket_notification_configuration()
        .bucket("announced")
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .queue_configurations(
                    aws_sdk_s3::types::QueueConfiguration::builder()
                        .queue_arn("arn:aws:sqs:us-east-1:000000000000:new-objects")
                        .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    create(
        &c,
        "announcer",
        destination("announced", 1, 0).prefix("out/").build().unwrap(),
    )
    .await;
    put_lines(&c, "announcer", &lines(3)).await;
    let key = keys(&s3, "announced", "out/", 1).await.remove(0);
    for _ in 0..100 {
        let got = sqs
            .receive_message()
            .queue_url(&q)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            let v: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            if let Some(r) = v["Records"].get(0) {
                assert_eq!(r["eventName"], "ObjectCreated:Put");
                assert_eq!(r["s3"]["object"]["key"], key);
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no event for {key}");
}

/// Dynamic partitioning, enabled.
pub fn dynamic() -> aws_sdk_firehose::types::DynamicPartitioningConfiguration {
    aws_sdk_firehose::types::DynamicPartitioningConfiguration::builder()
        .enabled(true)
        .build()
}

/// A processor of `kind` with its parameters.
pub fn processor(kind: ProcessorType, params: &[(ProcessorParameterName, &str)]) -> Processor {
    params
        .iter()
        .fold(Processor::builder().r#type(kind), |b, (n, v)| {
            b.parameters(param(n.clone(), v))
        })
        .build()
        .unwrap()
}

fn param(name: ProcessorParameterName, value: &str) -> ProcessorParameter {
    ProcessorParameter::builder()
        .parameter_name(name)
        .parameter_value(value)
        .build()
        .unwrap()
}

/// Gathers every object under `prefix` (gzip decoded when `.gz`) by key, once `n` lines are in.
async fn lines_by_key(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for _ in 0..200 {
        out.clear();
        for key in keys_now(s3, bucket, prefix).await {
            let raw = body(s3, bucket, &key).await;
            let text = if key.ends_with(".gz") {
                let mut t = String::new();
                flate2::read::MultiGzDecoder::new(&raw[..])
                    .read_to_string(&mut t)
                    .unwrap();
                t
            } else {
                String::from_utf8(raw).unwrap()
            };
            out.extend(text.lines().map(|l| (key.clone(), l.to_owned())));
        }
        if out.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    out
}

/// Dynamic partitioning from a jq query: records de-aggregated (two JSON documents per put
/// record), keyed by `{customer, year}`, one object per evaluated prefix; a record that is not
/// JSON goes to the error prefix.
#[tokio::test]
async fn dynamic_partitioning_from_a_jq_query() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    s3.create_bucket().bucket("parts").send().await.unwrap();
    let processing = ProcessingConfiguration::builder()
        .enabled(true)
        .processors(
            Processor::builder()
                .r#type(ProcessorType::RecordDeAggregation)
                .parameters(param(ProcessorParameterName::SubRecordType, "JSON"))
                .build()
                .unwrap(),
        )
        .processors(
            Processor::builder()
                .r#type(ProcessorType::MetadataExtraction)
                .parameters(param(
                    ProcessorParameterName::MetadataExtractionQuery,
                    r#"{customer:.customer, year:.ts|strftime("%Y")}"#,
                ))
                .parameters(param(ProcessorParameterName::JsonParsingEngine, "JQ-1.6"))
                .build()
                .unwrap(),
        )
        .processors(processor(ProcessorType::AppendDelimiterToRecord, &[]))
        .build();
    let dest = destination("parts", 64, 0)
        .prefix("customer=!{partitionKeyFromQuery:customer}/year=!{partitionKeyFromQuery:year}/")
        .error_output_prefix("errors/!{firehose:error-output-type}/")
        .compression_format(CompressionFormat::Gzip)
        .dynamic_partitioning_configuration(dynamic())
        .processing_configuration(processing)
        .build()
        .unwrap();
    create(&c, "partitioned", dest).await;
    // Partition keys need their processor, and an error prefix.
    let e = c
        .create_delivery_stream()
        .delivery_stream_name("no-query")
        .extended_s3_destination_configuration(
            destination("parts", 64, 0)
                .prefix("c=!{partitionKeyFromQuery:c}/")
                .error_output_prefix("e/!{firehose:error-output-type}/")
                .dynamic_partitioning_configuration(dynamic())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidArgumentException"), "{e:?}");

    let mut input = Vec::new();
    for i in 0..30 {
        let (a, b) = (["a", "b", "c"][i % 3], ["a", "b", "c"][(i + 1) % 3]);
        let ts = if i % 2 == 0 { 1_700_000_000 } else { 1_600_000_000 };
        input.push(format!(
            "{{\"customer\":\"{a}\",\"ts\":{ts},\"i\":{i}}}{{\"customer\":\"{b}\",\"ts\":{ts},\"i\":{}}}",
            i + 100
        ));
    }
    input.push("not json at all".to_owned());
    put_lines(&c, "partitioned", &input).await;
    let got = lines_by_key(&s3, "parts", "customer=", 60).await;
    assert_eq!(got.len(), 60, "{got:?}");
    for (key, line) in &got {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let year = if v["ts"] == 1_700_000_000 { "2023" } else { "2020" };
        let prefix = format!(
            "customer={}/year={year}/partitioned-1-",
            v["customer"].as_str().unwrap()
        );
        assert!(key.starts_with(&prefix), "{line} in {key}");
    }
    let partitions: std::collections::BTreeSet<&str> = got.iter().map(|(k, _)| k.rsplit_once('/').unwrap().0).collect();
    assert_eq!(partitions.len(), 6, "{partitions:?}");
    let errors = lines_by_key(&s3, "parts", "errors/", 1).await;
    assert_eq!(errors.len(), 1);
    let e: serde_json::Value = serde_json::from_str(&errors[0].1).unwrap();
    assert!(errors[0].0.starts_with("errors/processing-failed/"), "{}", errors[0].0);
    assert_eq!(e["errorCode"], "DynamicPartitioning.MetadataExtractionFailed");
}

const PARTITIONER: &str = r#"
import base64, json

def handler(event, context):
    out = []
    for r in event["records"]:
        d = json.loads(base64.b64decode(r["data"]))
        out.append({"recordId": r["recordId"], "result": "Ok", "data": r["data"],
                    "metadata": {"partitionKeys": {"kind": d["kind"]}}})
    return {"records": out}
"#;

/// Dynamic partitioning from the transformation function's `metadata.partitionKeys`.
/// Each partition is a buffer of its own, delivered when its own interval has passed since its
/// first record; past 500 open partitions, records go to the error prefix.
#[tokio::test]
async fn each_partition_is_its_own_buffer() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    s3.create_bucket().bucket("parts").send().await.unwrap();
    let query = processor(
        ProcessorType::MetadataExtraction,
        &[
            (ProcessorParameterName::MetadataExtractionQuery, "{k:.k}"),
            (ProcessorParameterName::JsonParsingEngine, "JQ-1.6"),
        ],
    );
    let split = processor(
        ProcessorType::RecordDeAggregation,
        &[(ProcessorParameterName::SubRecordType, "JSON")],
    );
    let append = processor(ProcessorType::AppendDelimiterToRecord, &[]);
    let dest = destination("parts", 64, 60)
        .prefix("k=!{partitionKeyFromQuery:k}/")
        .error_output_prefix("errors/!{firehose:error-output-type}/")
        .dynamic_partitioning_configuration(dynamic())
        .processing_configuration(
            ProcessingConfiguration::builder()
                .enabled(true)
                .processors(split)
                .processors(query)
                .processors(append)
                .build(),
        )
        .build()
        .unwrap();
    create(&c, "own", dest).await;
    let put = |k: &str, i: u32| format!("{{\"k\":\"{k}\",\"i\":{i}}}\n");
    // De-aggregation trims each record; the delimiter is appended again.
    put_lines(&c, "own", &[put("a", 0)]).await;
    server.clock.advance_ms(30_000);
    put_lines(&c, "own", &[put("b", 1)]).await;
    server.clock.advance_ms(30_000);
    // a's interval has passed, b's has not.
    assert_eq!(keys(&s3, "parts", "k=a/", 1).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        keys_now(&s3, "parts", "k=b/").await.is_empty(),
        "b waits for its own interval"
    );
    put_lines(&c, "own", &[put("a", 2)]).await;
    server.clock.advance_ms(30_000);
    let b = keys(&s3, "parts", "k=b/", 1).await;
    assert_eq!(body(&s3, "parts", &b[0]).await, put("b", 1).into_bytes());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(keys_now(&s3, "parts", "k=a/").await.len(), 1, "a's second buffer waits");
    server.clock.advance_ms(30_000);
    let mut a = Vec::new();
    for k in keys(&s3, "parts", "k=a/", 2).await {
        a.push(String::from_utf8(body(&s3, "parts", &k).await).unwrap());
    }
    a.sort();
    assert_eq!(a, [put("a", 0), put("a", 2)]);

    // The active-partition quota: the 501st partition's record goes to the error prefix. (The
    // 501 records come in two records of one call, de-aggregated, so that no buffer can reach
    // its interval before the last is placed.)
    let many: Vec<String> = (0..501).map(|i| put(&format!("q{i:03}"), i)).collect();
    put_lines(&c, "own", &[many[..250].concat(), many[250..].concat()]).await;
    server.clock.advance_ms(60_000);
    let errors = keys(&s3, "parts", "errors/processing-failed/", 1).await;
    let e: serde_json::Value = serde_json::from_slice(&body(&s3, "parts", &errors[0]).await).unwrap();
    assert_eq!(e["errorCode"], "DynamicPartitioning.ActivePartitionsLimitExceeded");
    let mut token = None;
    let mut delivered = 0;
    for _ in 0..200 {
        delivered = 0;
        loop {
            let out = s3
                .list_objects_v2()
                .bucket("parts")
                .prefix("k=q")
                .set_continuation_token(token.take())
                .send()
                .await
                .unwrap();
            delivered += out.contents().len();
            token = out.next_continuation_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        if delivered == 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivered, 500);
}

#[tokio::test]
async fn dynamic_partitioning_from_the_function() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    let lambda = crate::common::lambda_client(&server.url());
    crate::lambda::create_python(&lambda, "partitioner", PARTITIONER, &[]).await;
    s3.create_bucket().bucket("kinds").send().await.unwrap();
    let processing = ProcessingConfiguration::builder()
        .enabled(true)
        .processors(
            Processor::builder()
                .r#type(ProcessorType::Lambda)
                .parameters(param(
                    ProcessorParameterName::LambdaArn,
                    "arn:aws:lambda:us-east-1:000000000000:function:partitioner",
                ))
                .build()
                .unwrap(),
        )
        .build();
    let dest = destination("kinds", 64, 0)
        .prefix("kind=!{partitionKeyFromLambda:kind}/")
        .error_output_prefix("errors/!{firehose:error-output-type}/")
        .dynamic_partitioning_configuration(dynamic())
        .processing_configuration(processing)
        .build()
        .unwrap();
    create(&c, "by-kind", dest).await;
    let input: Vec<String> = (0..40)
        .map(|i| format!("{{\"kind\":\"{}\",\"i\":{i}}}\n", ["click", "view"][i % 2]))
        .collect();
    put_lines(&c, "by-kind", &input).await;
    let got = lines_by_key(&s3, "kinds", "kind=", 40).await;
    assert_eq!(got.len(), 40);
    for (key, line) in &got {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            key.starts_with(&format!("kind={}/by-kind-1-", v["kind"].as_str().unwrap())),
            "{line} in {key}"
        );
    }
}

/// A Firehose HTTP endpoint: answers each POST with the next status of `statuses` (then 200),
/// a 200 echoing the request's id as the protocol asks; hands each request to the test.
async fn http_endpoint(
    statuses: Vec<u16>,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<(http::HeaderMap, Vec<u8>)>) {
    use http_body_util::{BodyExt, Full};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/ingest", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let statuses = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(statuses)));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (tx, statuses) = (tx.clone(), statuses.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let (tx, statuses) = (tx.clone(), statuses.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes().to_vec();
                        let id = parts
                            .headers
                            .get("x-amz-firehose-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let _ = tx.send((parts.headers, body));
                        let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                        let answer = serde_json::json!({"requestId": id, "timestamp": 1}).to_string();
                        let mut resp = http::Response::new(Full::new(bytes::Bytes::from(answer)));
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

fn http_destination(
    url: &str,
    retry_s: i32,
    all_data: bool,
) -> aws_sdk_firehose::types::HttpEndpointDestinationConfiguration {
    use aws_sdk_firehose::types::*;
    HttpEndpointDestinationConfiguration::builder()
        .endpoint_configuration(
            HttpEndpointConfiguration::builder()
                .url(url)
                .name("receiver")
                .access_key("secret-key")
                .build()
                .unwrap(),
        )
        .buffering_hints(
            HttpEndpointBufferingHints::builder()
                .size_in_mbs(1)
                .interval_in_seconds(0)
                .build(),
        )
        .request_configuration(
            HttpEndpointRequestConfiguration::builder()
                .content_encoding(ContentEncoding::Gzip)
                .common_attributes(
                    HttpEndpointCommonAttribute::builder()
                        .attribute_name("env")
                        .attribute_value("test")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .retry_options(HttpEndpointRetryOptions::builder().duration_in_seconds(retry_s).build())
        .s3_backup_mode(if all_data {
            HttpEndpointS3BackupMode::AllData
        } else {
            HttpEndpointS3BackupMode::FailedDataOnly
        })
        .s3_configuration(
            S3DestinationConfiguration::builder()
                .role_arn(ROLE)
                .bucket_arn("arn:aws:s3:::backup")
                .prefix("backup/")
                .build()
                .unwrap(),
        )
        .build()
}

/// UpdateDestination of an HTTP endpoint destination: the given members replace the stored
/// ones (the S3 configuration's member by member, the rest kept), and the next buffer goes to
/// the new URL with the new access key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_endpoint_destination_is_updated() {
    use aws_sdk_firehose::types::{HttpEndpointConfiguration, HttpEndpointDestinationUpdate, S3DestinationUpdate};
    let server = TestServer::start().await;
    let c = firehose_client(&server.url());
    let (first, _first_requests) = http_endpoint(vec![]).await;
    let (second, mut second_requests) = http_endpoint(vec![]).await;
    c.create_delivery_stream()
        .delivery_stream_name("moving")
        .http_endpoint_destination_configuration(http_destination(&first, 60, false))
        .send()
        .await
        .unwrap();
    let describe = || async {
        let d = c
            .describe_delivery_stream()
            .delivery_stream_name("moving")
            .send()
            .await
            .unwrap();
        d.delivery_stream_description().unwrap().clone()
    };
    let d = describe().await;
    c.update_destination()
        .delivery_stream_name("moving")
        .current_delivery_stream_version_id(d.version_id())
        .destination_id(d.destinations()[0].destination_id())
        .http_endpoint_destination_update(
            HttpEndpointDestinationUpdate::builder()
                .endpoint_configuration(
                    HttpEndpointConfiguration::builder()
                        .url(&second)
                        .access_key("other-key")
                        .build()
                        .unwrap(),
                )
                .s3_update(S3DestinationUpdate::builder().prefix("moved/").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let d = describe().await;
    assert_eq!(d.version_id(), "2");
    let h = d.destinations()[0].http_endpoint_destination_description().unwrap();
    assert_eq!(h.endpoint_configuration().unwrap().url(), Some(second.as_str()));
    let s3 = h.s3_destination_description().unwrap();
    assert_eq!((s3.prefix(), s3.bucket_arn()), (Some("moved/"), "arn:aws:s3:::backup"));
    assert_eq!(h.retry_options().unwrap().duration_in_seconds(), Some(60), "kept");
    put_lines(&c, "moving", &lines(3)).await;
    let (headers, _) = tokio::time::timeout(Duration::from_secs(30), second_requests.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        headers.get("x-amz-firehose-access-key").unwrap().to_str().unwrap(),
        "other-key"
    );
    // An S3 update does not turn it into an S3 destination.
    let e = c
        .update_destination()
        .delivery_stream_name("moving")
        .current_delivery_stream_version_id("2")
        .destination_id(d.destinations()[0].destination_id())
        .extended_s3_destination_update(ExtendedS3DestinationUpdate::builder().prefix("x/").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidArgumentException"));
}

/// The HTTP endpoint destination: one gzip request per buffer with the protocol's headers,
/// retried with the same request id until taken; with AllData a copy in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_endpoint_gets_the_records_and_retries() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    s3.create_bucket().bucket("backup").send().await.unwrap();
    let (url, mut requests) = http_endpoint(vec![500, 503]).await;
    c.create_delivery_stream()
        .delivery_stream_name("to-http")
        .http_endpoint_destination_configuration(http_destination(&url, 60, true))
        .send()
        .await
        .unwrap();
    let d = c
        .describe_delivery_stream()
        .delivery_stream_name("to-http")
        .send()
        .await
        .unwrap();
    let dest = d.delivery_stream_description().unwrap().destinations()[0]
        .http_endpoint_destination_description()
        .unwrap();
    assert_eq!(dest.endpoint_configuration().unwrap().url(), Some(url.as_str()));
    put_lines(&c, "to-http", &lines(10)).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(30), requests.recv())
            .await
            .unwrap()
            .unwrap();
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(h("x-amz-firehose-protocol-version"), "1.0");
        assert_eq!(h("x-amz-firehose-access-key"), "secret-key");
        assert_eq!(h("content-encoding"), "gzip");
        assert_eq!(
            h("x-amz-firehose-source-arn"),
            "arn:aws:firehose:us-east-1:000000000000:deliverystream/to-http"
        );
        let attrs: serde_json::Value = serde_json::from_str(&h("x-amz-firehose-common-attributes")).unwrap();
        assert_eq!(attrs, serde_json::json!({"commonAttributes": {"env": "test"}}));
        ids.push(h("x-amz-firehose-request-id"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["requestId"].as_str(), Some(ids[0].as_str()));
        let records = v["records"].as_array().unwrap();
        use base64::Engine as _;
        let got: String = records
            .iter()
            .map(|r| {
                String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(r["data"].as_str().unwrap())
                        .unwrap(),
                )
                .unwrap()
            })
            .collect();
        assert_eq!(got, lines(10).concat());
    }
    assert!(
        ids.iter().all(|i| *i == ids[0]),
        "one request id across retries: {ids:?}"
    );
    let copy = lines_by_key(&s3, "backup", "backup/", 10).await;
    assert_eq!(copy.len(), 10, "AllData keeps a copy");
}

/// Records an endpoint does not take within the retry duration land in the backup bucket under
/// `http-endpoint-failed`, in AWS's error-record shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_an_http_endpoint_refuses_go_to_the_bucket() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    s3.create_bucket().bucket("backup").send().await.unwrap();
    let (url, _requests) = http_endpoint(vec![500; 100]).await;
    c.create_delivery_stream()
        .delivery_stream_name("refused")
        .http_endpoint_destination_configuration(http_destination(&url, 0, false))
        .send()
        .await
        .unwrap();
    put_lines(&c, "refused", &lines(5)).await;
    let failed = lines_by_key(&s3, "backup", "backup/http-endpoint-failed/", 5).await;
    assert_eq!(failed.len(), 5);
    for (_, line) in &failed {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(e["errorCode"], "HttpEndpoint.ResponseFailed");
        assert_eq!(e["attemptsMade"], 1);
        assert!(e["rawData"].is_string());
    }
}
