//! The Glue data catalog over the wire (AWS JSON 1.1, `AWSGlue.*`, a signature scoped to
//! `glue`): databases and tables created, read, listed and deleted, with Glue's errors.
//! (boto3 drives the same calls in CI: `.ci/firehose_check.py`.)

use crate::common::TestServer;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

pub async fn glue(url: &str, action: &str, body: Value) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let req = http::Request::post(format!("{url}/"))
        .header("x-amz-date", "20260101T000000Z")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/glue/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSGlue.{action}"))
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn databases_and_tables_over_the_wire() {
    let server = TestServer::start().await;
    let url = server.url();
    let (s, _) = glue(
        &url,
        "CreateDatabase",
        json!({"DatabaseInput": {"Name": "Lake", "Description": "d"}}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, e) = glue(&url, "CreateDatabase", json!({"DatabaseInput": {"Name": "lake"}})).await;
    assert_eq!((s, e["__type"].as_str()), (400, Some("AlreadyExistsException")));
    let table = json!({"DatabaseName": "lake", "TableInput": {"Name": "clicks", "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "page", "Type": "string"}],
            "Location": "s3://lake/clicks/"}, "PartitionKeys": [{"Name": "dt", "Type": "string"}]}});
    assert_eq!(glue(&url, "CreateTable", table).await.0, 200);
    let (s, t) = glue(&url, "GetTable", json!({"DatabaseName": "lake", "Name": "clicks"})).await;
    assert_eq!(s, 200);
    assert_eq!(
        t["Table"]["StorageDescriptor"]["Columns"][0],
        json!({"Name": "id", "Type": "bigint"})
    );
    assert_eq!(t["Table"]["CatalogId"], "000000000000");
    assert!(t["Table"]["CreateTime"].is_number());
    let (_, list) = glue(&url, "GetTables", json!({"DatabaseName": "lake"})).await;
    assert_eq!(list["TableList"].as_array().unwrap().len(), 1);
    let (_, dbs) = glue(&url, "GetDatabases", json!({})).await;
    assert_eq!(dbs["DatabaseList"][0]["Name"], "lake");
    // A missing table, a missing database, a model check, an operation not served.
    let (s, e) = glue(&url, "GetTable", json!({"DatabaseName": "lake", "Name": "nope"})).await;
    assert_eq!((s, e["__type"].as_str()), (400, Some("EntityNotFoundException")));
    let (_, e) = glue(
        &url,
        "CreateTable",
        json!({"DatabaseName": "none", "TableInput": {"Name": "t"}}),
    )
    .await;
    assert_eq!(e["__type"], "EntityNotFoundException");
    let (s, e) = glue(&url, "GetTable", json!({"DatabaseName": "lake"})).await;
    assert_eq!((s, e["__type"].as_str()), (400, Some("ValidationException")), "{e}");
    let (_, e) = glue(&url, "GetCrawlers", json!({})).await;
    assert_eq!(e["__type"], "InvalidInputException");
    assert_eq!(
        glue(&url, "DeleteTable", json!({"DatabaseName": "lake", "Name": "clicks"}))
            .await
            .0,
        200
    );
    assert_eq!(glue(&url, "DeleteDatabase", json!({"Name": "lake"})).await.0, 200);
    let (_, e) = glue(&url, "GetDatabase", json!({"Name": "lake"})).await;
    assert_eq!(e["__type"], "EntityNotFoundException");
}
