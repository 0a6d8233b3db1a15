"""Drives a running Rheo's delivery streams with boto3 (create, describe, update with its
version check, tags, PutRecordBatch, a Kinesis stream as the source, the Glue catalog, Parquet
conversion) and reads the delivered gzip JSON lines with DuckDB's read_json, and the Parquet
objects with pyarrow and DuckDB's read_parquet, over Rheo's S3 endpoint.

Usage: python firehose_check.py http://127.0.0.1:PORT
"""

import glob
import gzip
import json
import os
import sys
import time

import boto3
import botocore.exceptions
from botocore.config import Config

url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDCI",
          aws_secret_access_key="secret", config=Config(retries={"max_attempts": 1}))
fh, kinesis = boto3.client("firehose", **kw), boto3.client("kinesis", **kw)
kw["config"] = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
s3 = boto3.client("s3", **kw)
ROLE = "arn:aws:iam::000000000000:role/firehose"


def wait_for(found, enough, timeout=30):
    """found() once enough(it), or when the timeout has passed."""
    deadline = time.time() + timeout
    while True:
        got = found()
        if enough(got) or time.time() > deadline:
            return got
        time.sleep(0.2)


def keys(bucket, prefix):
    return [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]


def objects(bucket, prefix, want_lines):
    """The decoded lines of the objects under prefix, once there are want_lines of them."""
    def lines():
        out = []
        for key in keys(bucket, prefix):
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            out += (gzip.decompress(body) if key.endswith(".gz") else body).decode().splitlines()
        return out
    return wait_for(lines, lambda got: len(got) >= want_lines)


s3.create_bucket(Bucket="hose-lake")
arn = fh.create_delivery_stream(
    DeliveryStreamName="events",
    DeliveryStreamType="DirectPut",
    ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::hose-lake",
        "Prefix": "events/year=!{timestamp:yyyy}/",
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        "CompressionFormat": "GZIP",
    },
    Tags=[{"Key": "team", "Value": "data"}],
)["DeliveryStreamARN"]
assert arn.endswith(":deliverystream/events"), arn
d = fh.describe_delivery_stream(DeliveryStreamName="events")["DeliveryStreamDescription"]
assert d["DeliveryStreamStatus"] == "ACTIVE" and d["VersionId"] == "1", d
dest = d["Destinations"][0]
assert dest["ExtendedS3DestinationDescription"]["CompressionFormat"] == "GZIP", dest
assert fh.list_tags_for_delivery_stream(DeliveryStreamName="events")["Tags"] == [{"Key": "team", "Value": "data"}]
assert "events" in fh.list_delivery_streams()["DeliveryStreamNames"]
try:
    fh.update_destination(DeliveryStreamName="events", CurrentDeliveryStreamVersionId="7",
                          DestinationId=dest["DestinationId"], ExtendedS3DestinationUpdate={"Prefix": "x/"})
    raise AssertionError("a stale version id is refused")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "ConcurrentModificationException", e.response

for batch in range(3):
    records = [{"Data": (json.dumps({"batch": batch, "v": v}) + "\n").encode()} for v in range(100)]
    r = fh.put_record_batch(DeliveryStreamName="events", Records=records)
    assert r["FailedPutCount"] == 0 and len(r["RequestResponses"]) == 100, r
lines = objects("hose-lake", "events/", 300)
assert sorted(json.loads(l)["v"] for l in lines) == sorted(list(range(100)) * 3), len(lines)

import duckdb

ext = glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_extension_httpfs", "**",
                             "httpfs.duckdb_extension"), recursive=True)
con = duckdb.connect()
con.execute(f"LOAD '{ext[0]}'")
host = url.split("://", 1)[1]
con.execute(f"""CREATE SECRET rheo (TYPE s3, KEY_ID 'AKIDCI', SECRET 'secret', REGION 'us-east-1',
                ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false)""")
rows = con.execute("""SELECT batch, count(*), sum(v) FROM read_json('s3://hose-lake/events/*/*.gz',
                      format='newline_delimited', compression='gzip') GROUP BY batch ORDER BY batch""").fetchall()
assert rows == [(0, 100, 4950), (1, 100, 4950), (2, 100, 4950)], rows

# Dynamic partitioning from a jq query, read back by DuckDB as hive partitions.
fh.create_delivery_stream(
    DeliveryStreamName="by-customer",
    ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::hose-lake",
        "Prefix": "dp/customer=!{partitionKeyFromQuery:customer}/",
        "ErrorOutputPrefix": "dp-errors/!{firehose:error-output-type}/",
        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 0},
        "CompressionFormat": "GZIP",
        "DynamicPartitioningConfiguration": {"Enabled": True},
        "ProcessingConfiguration": {"Enabled": True, "Processors": [
            {"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer:.customer}"},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
            {"Type": "AppendDelimiterToRecord"}]},
    },
)
fh.put_record_batch(DeliveryStreamName="by-customer", Records=[
    {"Data": json.dumps({"customer": f"c{i % 4}", "v": i}).encode()} for i in range(200)])
lines = objects("hose-lake", "dp/", 200)
assert len(lines) == 200, len(lines)
rows = con.execute("""SELECT customer, count(*), sum(v) FROM read_json('s3://hose-lake/dp/*/*.gz',
                      format='newline_delimited', compression='gzip', hive_partitioning=true)
                      GROUP BY customer ORDER BY customer""").fetchall()
assert rows == [(f"c{c}", 50, sum(range(c, 200, 4))) for c in range(4)], rows

# A Kinesis stream as the source: records put to the stream after the delivery stream exists.
kinesis.create_stream(StreamName="clicks", ShardCount=2)
kinesis.get_waiter("stream_exists").wait(StreamName="clicks", WaiterConfig={"Delay": 1})
stream_arn = kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]["StreamARN"]
fh.create_delivery_stream(
    DeliveryStreamName="clicks-to-s3", DeliveryStreamType="KinesisStreamAsSource",
    KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
    ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::hose-lake", "Prefix": "clicks/",
                                        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}},
)
src = fh.describe_delivery_stream(DeliveryStreamName="clicks-to-s3")["DeliveryStreamDescription"]["Source"]
assert src["KinesisStreamSourceDescription"]["KinesisStreamARN"] == stream_arn, src
kinesis.put_records(StreamName="clicks", Records=[
    {"Data": (json.dumps({"click": i}) + "\n").encode(), "PartitionKey": f"user-{i % 7}"} for i in range(50)])
# A record aggregated by the KPL's format (aws-kinesis-agg, the reference aggregator): its
# user records are delivered one by one.
from aws_kinesis_agg.aggregator import RecordAggregator

agg = RecordAggregator()
for i in range(50, 53):
    agg.add_user_record(f"user-{i}", (json.dumps({"click": i}) + "\n").encode())
pk, ehk, blob = agg.clear_and_get().get_contents()
kinesis.put_record(StreamName="clicks", Data=blob, PartitionKey=pk)
lines = objects("hose-lake", "clicks/", 53)
assert sorted(json.loads(l)["click"] for l in lines) == list(range(53)), lines
fh.delete_delivery_stream(DeliveryStreamName="clicks-to-s3")
# The Glue data catalog (the schemas delivery streams convert with), through boto3.
glue = boto3.client("glue", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDCI",
                    aws_secret_access_key="secret", config=Config(retries={"max_attempts": 1}))
glue.create_database(DatabaseInput={"Name": "analytics"})
glue.create_table(DatabaseName="analytics", TableInput={
    "Name": "clicks", "StorageDescriptor": {"Columns": [{"Name": "click", "Type": "int"}], "Location": "s3://hose-lake/clicks/"}})
t = glue.get_table(DatabaseName="analytics", Name="clicks")["Table"]
assert t["StorageDescriptor"]["Columns"] == [{"Name": "click", "Type": "int"}], t
assert [x["Name"] for x in glue.get_tables(DatabaseName="analytics")["TableList"]] == ["clicks"]
try:
    glue.get_table(DatabaseName="analytics", Name="nope")
    raise AssertionError("a missing table is an error")
except glue.exceptions.EntityNotFoundException:
    pass
glue.delete_table(DatabaseName="analytics", Name="clicks")

# DataFormatConversion: JSON records into Parquet with a Glue table's columns, read by pyarrow
# (with the table's types) and by DuckDB's read_parquet over Rheo's S3 endpoint.
import io

import pyarrow as pa
import pyarrow.parquet as pq

glue.create_table(DatabaseName="analytics", TableInput={"Name": "orders", "StorageDescriptor": {"Columns": [
    {"Name": "id", "Type": "bigint"}, {"Name": "customer", "Type": "string"},
    {"Name": "amount", "Type": "decimal(10,2)"}, {"Name": "at", "Type": "timestamp"},
    {"Name": "items", "Type": "array<struct<sku:string,qty:int>>"}, {"Name": "day", "Type": "date"}]}})
fh.create_delivery_stream(
    DeliveryStreamName="orders",
    ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE, "BucketARN": "arn:aws:s3:::hose-lake", "Prefix": "orders/",
        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 0},
        "DataFormatConversionConfiguration": {
            "SchemaConfiguration": {"RoleARN": ROLE, "DatabaseName": "analytics", "TableName": "orders"},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {"ColumnToJsonKeyMappings": {"at": "time"}}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}},
        },
    },
)
desc = fh.describe_delivery_stream(DeliveryStreamName="orders")["DeliveryStreamDescription"]
conv = desc["Destinations"][0]["ExtendedS3DestinationDescription"]["DataFormatConversionConfiguration"]
assert conv["SchemaConfiguration"]["TableName"] == "orders", conv
orders = [{"Data": json.dumps({"ID": i, "customer": f"c{i % 3}", "amount": f"{i}.25", "time": 1700000000 + i,
                               "items": [{"sku": "s", "qty": i}], "day": "2024-05-06"}).encode()} for i in range(300)]
orders.append({"Data": b'{"id": "not a number"}'})
r = fh.put_record_batch(DeliveryStreamName="orders", Records=orders)
assert r["FailedPutCount"] == 0, r


def keys_under(prefix, want):
    return wait_for(lambda: keys("hose-lake", prefix), lambda got: len(got) >= want)


parquet_keys = [k for k in keys_under("orders/", 2) if k.endswith(".parquet")]
assert len(parquet_keys) == 1, parquet_keys
table = pq.read_table(io.BytesIO(s3.get_object(Bucket="hose-lake", Key=parquet_keys[0])["Body"].read()))
assert table.schema.names == ["id", "customer", "amount", "at", "items", "day"], table.schema
types = [table.schema.field(n).type for n in table.schema.names]
assert types[:4] == [pa.int64(), pa.string(), pa.decimal128(10, 2), pa.timestamp("us")], types
assert pa.types.is_list(types[4]) and pa.types.is_struct(types[4].value_type) and types[5] == pa.date32(), types
assert table.num_rows == 300 and sorted(table.column("id").to_pylist()) == list(range(300))
row = table.filter(pa.compute.equal(table.column("id"), 7)).to_pylist()[0]
assert str(row["amount"]) == "7.25" and row["items"] == [{"sku": "s", "qty": 7}], row
assert row["at"].isoformat() == "2023-11-14T22:13:27", row
failed = [k for k in keys_under("orders/format-conversion-failed/", 1)]
err = json.loads(s3.get_object(Bucket="hose-lake", Key=failed[0])["Body"].read().decode().splitlines()[0])
assert err["lastErrorCode"] == "DataFormatConversion.MalformedData", err
rows = con.execute("""SELECT customer, count(*), sum(amount) FROM read_parquet('s3://hose-lake/orders/*/*/*/*/*.parquet')
                      GROUP BY customer ORDER BY customer""").fetchall()
assert [(c, n) for c, n, _ in rows] == [("c0", 100), ("c1", 100), ("c2", 100)], rows
assert sum(float(x) for _, _, x in rows) == sum(i + 0.25 for i in range(300)), rows
print("firehose check passed")
