//! DataFormatConversion through `aws-sdk-firehose`: JSON records into Parquet with the columns
//! of a table in Rheo's Glue catalog, read back with the `parquet` crate; records that do not
//! fit go to `format-conversion-failed` in AWS's shape; AWS's checks at creation and the
//! member-by-member merge of UpdateDestination. (pyarrow and DuckDB read the same objects in CI:
//! `.ci/firehose_check.py`.)

use crate::common::TestServer;
use crate::firehose::{ROLE, body, create, destination, firehose_client, keys, put_lines};
use crate::glue::glue;
use crate::s3::s3_client;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use aws_sdk_firehose::error::ProvideErrorMetadata;
use aws_sdk_firehose::types::{
    CompressionFormat, DataFormatConversionConfiguration, Deserializer, ExtendedS3DestinationUpdate,
    InputFormatConfiguration, OpenXJsonSerDe, OrcSerDe, OutputFormatConfiguration, ParquetSerDe, SchemaConfiguration,
    Serializer,
};
use base64::Engine as _;
use serde_json::{Value, json};

fn conversion(table: &str, serializer: Serializer) -> DataFormatConversionConfiguration {
    DataFormatConversionConfiguration::builder()
        .schema_configuration(
            SchemaConfiguration::builder()
                .role_arn(ROLE)
                .database_name("lake")
                .table_name(table)
                .build(),
        )
        .input_format_configuration(
            InputFormatConfiguration::builder()
                .deserializer(
                    Deserializer::builder()
                        .open_x_json_ser_de(
                            OpenXJsonSerDe::builder()
                                .convert_dots_in_json_keys_to_underscores(true)
                                .column_to_json_key_mappings("ts", "Time")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .output_format_configuration(OutputFormatConfiguration::builder().serializer(serializer).build())
        .build()
}

fn parquet() -> Serializer {
    Serializer::builder()
        .parquet_ser_de(ParquetSerDe::builder().build())
        .build()
}

async fn make_table(url: &str) {
    assert_eq!(
        glue(url, "CreateDatabase", json!({"DatabaseInput": {"Name": "lake"}}))
            .await
            .0,
        200
    );
    let columns = json!([
        {"Name": "id", "Type": "bigint"},
        {"Name": "name", "Type": "string"},
        {"Name": "price", "Type": "decimal(8,2)"},
        {"Name": "ts", "Type": "timestamp"},
        {"Name": "user_agent", "Type": "string"},
        {"Name": "tags", "Type": "array<string>"},
        {"Name": "attrs", "Type": "map<string,int>"},
        {"Name": "geo", "Type": "struct<lat:double,lon:double>"},
        {"Name": "day", "Type": "date"}
    ]);
    let (s, e) = glue(
        url,
        "CreateTable",
        json!({"DatabaseName": "lake", "TableInput": {"Name": "Events", "StorageDescriptor": {"Columns": columns}}}),
    )
    .await;
    assert_eq!(s, 200, "{e}");
}

async fn create_error(
    c: &aws_sdk_firehose::Client,
    dest: aws_sdk_firehose::types::ExtendedS3DestinationConfiguration,
) -> (String, String) {
    let e = c
        .create_delivery_stream()
        .delivery_stream_name("refused")
        .extended_s3_destination_configuration(dest)
        .send()
        .await
        .unwrap_err();
    (
        e.code().unwrap_or_default().to_owned(),
        e.message().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn conversion_is_checked_at_creation_and_merged_by_update() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    s3.create_bucket().bucket("lake").send().await.unwrap();
    make_table(&server.url()).await;
    let with = |size: i32, table: &str, serializer: Serializer| {
        destination("lake", size, 60).data_format_conversion_configuration(conversion(table, serializer))
    };
    let (code, message) = create_error(
        &c,
        with(64, "events", parquet())
            .compression_format(CompressionFormat::Gzip)
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(code, "InvalidArgumentException");
    assert!(
        message.starts_with("The S3 destination's compression format must be set to UNCOMPRESSED"),
        "{message}"
    );
    let (_, message) = create_error(&c, with(5, "events", parquet()).build().unwrap()).await;
    assert_eq!(
        message,
        "BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled."
    );
    let (code, message) = create_error(&c, with(64, "nope", parquet()).build().unwrap()).await;
    assert_eq!(code, "InvalidArgumentException");
    assert!(message.contains("EntityNotFoundException"), "{message}");
    let orc = Serializer::builder().orc_ser_de(OrcSerDe::builder().build()).build();
    let (code, _) = create_error(&c, with(64, "events", orc).build().unwrap()).await;
    assert_eq!(code, "InvalidArgumentException");
    let both = Serializer::builder()
        .parquet_ser_de(ParquetSerDe::builder().build())
        .orc_ser_de(OrcSerDe::builder().build())
        .build();
    let (_, message) = create_error(&c, with(64, "events", both).build().unwrap()).await;
    assert_eq!(message, "More than one serializer specified. Only one may be chosen.");
    let no_schema = DataFormatConversionConfiguration::builder()
        .input_format_configuration(InputFormatConfiguration::builder().build())
        .output_format_configuration(OutputFormatConfiguration::builder().build())
        .build();
    let (_, message) = create_error(
        &c,
        destination("lake", 64, 60)
            .data_format_conversion_configuration(no_schema)
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(message, "SchemaConfiguration must not be null");

    // Without BufferingHints a converting stream buffers 128 MiB; Describe echoes the
    // conversion as given.
    let dest = aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
        .role_arn(ROLE)
        .bucket_arn("arn:aws:s3:::lake")
        .data_format_conversion_configuration(conversion("events", parquet()))
        .build()
        .unwrap();
    create(&c, "converting", dest).await;
    let describe = || async {
        let d = c
            .describe_delivery_stream()
            .delivery_stream_name("converting")
            .send()
            .await
            .unwrap();
        d.delivery_stream_description().unwrap().clone()
    };
    let d = describe().await;
    let ext = d.destinations()[0].extended_s3_destination_description().unwrap();
    assert_eq!(ext.buffering_hints().unwrap().size_in_mbs(), Some(128));
    let conv = ext.data_format_conversion_configuration().unwrap();
    assert_eq!(conv.schema_configuration().unwrap().table_name(), Some("events"));
    // An update of the table name alone keeps the rest of the schema configuration.
    let update = DataFormatConversionConfiguration::builder()
        .schema_configuration(SchemaConfiguration::builder().table_name("Events").build())
        .build();
    c.update_destination()
        .delivery_stream_name("converting")
        .current_delivery_stream_version_id(d.version_id())
        .destination_id(d.destinations()[0].destination_id())
        .extended_s3_destination_update(
            ExtendedS3DestinationUpdate::builder()
                .data_format_conversion_configuration(update)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let d = describe().await;
    let ext = d.destinations()[0].extended_s3_destination_description().unwrap();
    let schema = ext
        .data_format_conversion_configuration()
        .unwrap()
        .schema_configuration()
        .unwrap();
    assert_eq!(
        (schema.table_name(), schema.database_name(), schema.role_arn()),
        (Some("Events"), Some("lake"), Some(ROLE))
    );
    // Conversion enabled on a stream made without it: the merged destination is checked.
    create(&c, "plain", destination("lake", 5, 60).build().unwrap()).await;
    let d = c
        .describe_delivery_stream()
        .delivery_stream_name("plain")
        .send()
        .await
        .unwrap();
    let d = d.delivery_stream_description().unwrap();
    let e = c
        .update_destination()
        .delivery_stream_name("plain")
        .current_delivery_stream_version_id(d.version_id())
        .destination_id(d.destinations()[0].destination_id())
        .extended_s3_destination_update(
            ExtendedS3DestinationUpdate::builder()
                .data_format_conversion_configuration(conversion("events", parquet()))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidArgumentException"));
    assert_eq!(
        e.message(),
        Some("BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled.")
    );
}

fn read_parquet(bytes: Vec<u8>) -> RecordBatch {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .unwrap()
        .build()
        .unwrap();
    let mut batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 1, "one batch of rows");
    batches.remove(0)
}

#[tokio::test]
async fn records_become_parquet_with_the_tables_columns() {
    let server = TestServer::start().await;
    let (c, s3) = (firehose_client(&server.url()), s3_client(&server.url()));
    s3.create_bucket().bucket("lake").send().await.unwrap();
    make_table(&server.url()).await;
    let dest = destination("lake", 64, 60)
        .prefix("events/")
        .data_format_conversion_configuration(conversion("events", parquet()))
        .build()
        .unwrap();
    create(&c, "clicks", dest).await;
    let mut records: Vec<String> = (0..100)
        .map(|i| {
            json!({"id": i, "Name": format!("n{i}"), "price": "12.345", "Time": 1_700_000_000 + i,
                "user.agent": "ua", "tags": ["a", "b"], "attrs": {"k": i}, "geo": {"lat": 1.5, "LON": 2.5},
                "day": "2024-01-02", "extra": true})
            .to_string()
        })
        .collect();
    records.push(r#"{"id": 1000}{"id": 1001}"#.into());
    let bad = ["not json", r#"{"id": "x"}"#, "  "];
    records.extend(bad.iter().map(|s| s.to_string()));
    put_lines(&c, "clicks", &records).await;
    server.clock.advance_ms(60_000);

    let found = keys(&s3, "lake", "events/", 2).await;
    let object = found
        .iter()
        .find(|k| k.ends_with(".parquet"))
        .expect("a .parquet object");
    assert!(
        regex_lite::Regex::new(r"^events/\d{4}/\d\d/\d\d/\d\d/clicks-1-[-0-9]{19}-[-0-9a-f]{36}\.parquet$")
            .unwrap()
            .is_match(object),
        "{object}"
    );
    let raw = body(&s3, "lake", object).await;
    assert_eq!((&raw[..4], &raw[raw.len() - 4..]), (&b"PAR1"[..], &b"PAR1"[..]));
    let batch = read_parquet(raw);
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(
        names,
        ["id", "name", "price", "ts", "user_agent", "tags", "attrs", "geo", "day"]
    );
    assert_eq!(
        batch.num_rows(),
        102,
        "every good record, two from the concatenated one"
    );
    let ids = batch.column(0).as_primitive::<Int64Type>();
    let mut got: Vec<i64> = ids.iter().flatten().collect();
    got.sort();
    assert_eq!(got, (0..100).chain([1000, 1001]).collect::<Vec<i64>>());
    let at = |i: usize| ids.iter().position(|v| v == Some(i as i64)).unwrap();
    let row = at(7);
    assert_eq!(batch.column(1).as_string::<i32>().value(row), "n7");
    assert_eq!(batch.column(2).as_primitive::<Decimal128Type>().value(row), 1235);
    assert_eq!(
        batch.column(3).as_primitive::<TimestampMicrosecondType>().value(row),
        1_700_000_007_000_000
    );
    assert_eq!(batch.column(4).as_string::<i32>().value(row), "ua");
    let tags = batch.column(5).as_list::<i32>().value(row);
    assert_eq!(tags.as_string::<i32>().iter().flatten().collect::<Vec<_>>(), ["a", "b"]);
    let attrs = batch.column(6).as_map();
    let entry = attrs.value(row);
    assert_eq!(entry.column(0).as_string::<i32>().value(0), "k");
    assert_eq!(entry.column(1).as_primitive::<Int32Type>().value(0), 7);
    let geo = batch.column(7).as_struct();
    assert_eq!(geo.column(1).as_primitive::<Float64Type>().value(row), 2.5);
    assert_eq!(batch.column(8).as_primitive::<Date32Type>().value(row), 19724);
    let lone = at(1000);
    assert!(batch.column(1).is_null(lone) && batch.column(7).is_null(lone));

    // The records that do not fit, in AWS's format-conversion-failed shape.
    let errors = keys(&s3, "lake", "events/format-conversion-failed/", 1).await;
    let text = String::from_utf8(body(&s3, "lake", &errors[0]).await).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    let b64 = base64::engine::general_purpose::STANDARD;
    for (line, raw) in lines.iter().zip(bad) {
        assert_eq!(b64.decode(line["rawData"].as_str().unwrap()).unwrap(), raw.as_bytes());
        assert_eq!(line["attemptsMade"], 1);
        assert!(line["arrivalTimestamp"].is_i64());
        assert_eq!(
            line["dataCatalogTable"],
            json!({"catalogId": "000000000000", "databaseName": "lake", "tableName": "events",
                "region": "us-east-1", "versionId": "LATEST", "catalogArn": "arn:aws:glue:us-east-1:000000000000:catalog"})
        );
    }
    let codes: Vec<&str> = lines.iter().map(|l| l["lastErrorCode"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "DataFormatConversion.ParseError",
            "DataFormatConversion.MalformedData",
            "DataFormatConversion.MalformedData"
        ]
    );
    assert_eq!(
        lines[2]["lastErrorMessage"],
        "The record was empty or contained only whitespace."
    );

    // The table gone: every record fails with AWS's code, none is lost.
    assert_eq!(
        glue(
            &server.url(),
            "DeleteTable",
            json!({"DatabaseName": "lake", "Name": "events"})
        )
        .await
        .0,
        200
    );
    put_lines(&c, "clicks", &[json!({"id": 5}).to_string()]).await;
    server.clock.advance_ms(60_000);
    let errors = keys(&s3, "lake", "events/format-conversion-failed/", 2).await;
    let mut texts = Vec::new();
    for k in &errors {
        texts.push(String::from_utf8(body(&s3, "lake", k).await).unwrap());
    }
    let gone = texts
        .iter()
        .find(|t| t.lines().count() == 1)
        .expect("the second error object");
    let line: Value = serde_json::from_str(gone.trim()).unwrap();
    assert_eq!(line["lastErrorCode"], "DataFormatConversion.EntityNotFound");
}
