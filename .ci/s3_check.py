"""Drives a running Rheo's buckets with boto3 (uploads and downloads through its transfer
manager, listings by paginator, copies, deletes, tags, presigned URLs, notifications to a
queue, a topic and a Python function) and reads objects with DuckDB over Rheo's S3 endpoint:
JSON lines and gzip objects with read_json('s3://...') and a glob.

Usage: python s3_check.py http://127.0.0.1:PORT
"""

import glob
import gzip
import io
import json
import os
import sys
import time
import urllib.request
import zipfile

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

url = sys.argv[1]
kw = dict(
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDCI",
    aws_secret_access_key="secret",
    config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, signature_version="s3v4"),
)
s3 = boto3.client("s3", **kw)
kw["config"] = Config(retries={"max_attempts": 1})
sqs, sns, lam = (boto3.client(s, **kw) for s in ("sqs", "sns", "lambda"))

s3.create_bucket(Bucket="py-bucket")
# Multipart through the transfer manager: 12 MiB in 5 MiB parts, in parallel.
data = os.urandom(12 * 1024 * 1024)
s3.upload_fileobj(io.BytesIO(data), "py-bucket", "big.bin",
                  Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
head = s3.head_object(Bucket="py-bucket", Key="big.bin")
assert head["ETag"].endswith('-3"'), head["ETag"]
out = io.BytesIO()
s3.download_fileobj("py-bucket", "big.bin", out, Config=TransferConfig(multipart_threshold=4 << 20, multipart_chunksize=4 << 20))
assert out.getvalue() == data, "downloaded in ranged parts, whole"
s3.put_object(Bucket="py-bucket", Key="meta.txt", Body=b"hi", ContentType="text/plain", Metadata={"a": "b"},
              Tagging="k=v")
got = s3.get_object(Bucket="py-bucket", Key="meta.txt")
assert got["Body"].read() == b"hi" and got["ContentType"] == "text/plain" and got["Metadata"] == {"a": "b"}, got
assert s3.get_object_tagging(Bucket="py-bucket", Key="meta.txt")["TagSet"] == [{"Key": "k", "Value": "v"}]
for i in range(25):
    s3.put_object(Bucket="py-bucket", Key=f"many/{i:03}", Body=b"x")
pages = s3.get_paginator("list_objects_v2").paginate(Bucket="py-bucket", Prefix="many/", PaginationConfig={"PageSize": 10})
keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
assert keys == [f"many/{i:03}" for i in range(25)], keys
s3.copy_object(Bucket="py-bucket", Key="copy.txt", CopySource={"Bucket": "py-bucket", "Key": "meta.txt"})
assert s3.get_object(Bucket="py-bucket", Key="copy.txt")["Body"].read() == b"hi"
r = s3.delete_objects(Bucket="py-bucket", Delete={"Objects": [{"Key": f"many/{i:03}"} for i in range(25)]})
assert len(r["Deleted"]) == 25, r
try:
    s3.get_object(Bucket="py-bucket", Key="many/000")
    raise SystemExit("a deleted object was read")
except s3.exceptions.NoSuchKey:
    pass
put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "py-bucket", "Key": "presigned.txt"}, ExpiresIn=300)
urllib.request.urlopen(urllib.request.Request(put_url, data=b"through a URL", method="PUT")).read()
get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "py-bucket", "Key": "presigned.txt"}, ExpiresIn=300)
assert urllib.request.urlopen(get_url).read() == b"through a URL"
# boto3's default S3 presigning (signature version 2, AWSAccessKeyId/Expires/Signature).
legacy = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIDCI",
                      aws_secret_access_key="secret", config=Config(s3={"addressing_style": "path"}))
v2_url = legacy.generate_presigned_url("get_object", Params={"Bucket": "py-bucket", "Key": "presigned.txt"}, ExpiresIn=300)
assert "AWSAccessKeyId=" in v2_url, v2_url
assert urllib.request.urlopen(v2_url).read() == b"through a URL"

# Notifications: a queue, a topic delivering to a queue, and a function that forwards what it
# receives to a queue.
direct = sqs.create_queue(QueueName="py-s3-direct")["QueueUrl"]
via = sqs.create_queue(QueueName="py-s3-topic")["QueueUrl"]
seen = sqs.create_queue(QueueName="py-s3-function")["QueueUrl"]
topic = sns.create_topic(Name="py-s3")["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:py-s3-topic",
              Attributes={"RawMessageDelivery": "true"})
HANDLER = """
import json, os, boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="py-s3-function")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
"""
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("app.py", HANDLER)
lam.create_function(FunctionName="s3-events", Runtime="python3.12", Handler="app.handler",
                    Role="arn:aws:iam::000000000000:role/ci", Code={"ZipFile": buf.getvalue()}, Timeout=30)
lam.get_waiter("function_active_v2").wait(FunctionName="s3-events")
rule = lambda prefix: {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}}
s3.put_bucket_notification_configuration(Bucket="py-bucket", NotificationConfiguration={
    "QueueConfigurations": [{"Id": "q", "QueueArn": "arn:aws:sqs:us-east-1:000000000000:py-s3-direct",
                             "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], "Filter": rule("q/")}],
    "TopicConfigurations": [{"Id": "t", "TopicArn": topic, "Events": ["s3:ObjectCreated:Put"], "Filter": rule("t/")}],
    "LambdaFunctionConfigurations": [{"Id": "f", "LambdaFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:s3-events",
                                      "Events": ["s3:ObjectCreated:*"], "Filter": rule("f/")}],
})
cfg = s3.get_bucket_notification_configuration(Bucket="py-bucket")
assert [c["Id"] for c in cfg["LambdaFunctionConfigurations"]] == ["f"], cfg


def events(queue, want):
    out = []
    for _ in range(30):
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(m["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            if "Records" in body:
                out.extend(body["Records"])
        if len(out) >= want:
            return out
    raise SystemExit(f"expected {want} events in {queue}, got {out}")


s3.put_object(Bucket="py-bucket", Key="q/one.json", Body=b"{}")
s3.delete_object(Bucket="py-bucket", Key="q/one.json")
s3.put_object(Bucket="py-bucket", Key="t/two.json", Body=b"{}")
s3.put_object(Bucket="py-bucket", Key="f/three.json", Body=b"{}")
q = events(direct, 2)
assert [e["eventName"] for e in q] == ["ObjectCreated:Put", "ObjectRemoved:Delete"], q
assert q[0]["s3"]["object"]["key"] == "q/one.json" and q[0]["eventVersion"] == "2.1", q
assert events(via, 1)[0]["s3"]["object"]["key"] == "t/two.json"
f = events(seen, 1)
assert f[0]["s3"]["object"]["key"] == "f/three.json" and f[0]["s3"]["configurationId"] == "f", f

# DuckDB over the S3 endpoint: JSON lines, plain and gzip, by glob.
import duckdb

s3.create_bucket(Bucket="lake")
for day in (1, 2):
    lines = "".join(json.dumps({"day": day, "v": v}) + "\n" for v in range(10))
    s3.put_object(Bucket="lake", Key=f"events/2026/12/0{day}/part-0.json", Body=lines.encode())
    s3.put_object(Bucket="lake", Key=f"gz/2026/12/0{day}/part-0.json.gz", Body=gzip.compress(lines.encode()))
ext = glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_extension_httpfs", "**",
                             "httpfs.duckdb_extension"), recursive=True)
assert ext, "duckdb-extension-httpfs is installed"
con = duckdb.connect()
con.execute(f"LOAD '{ext[0]}'")
host = url.split("://", 1)[1]
con.execute(f"""CREATE SECRET rheo (TYPE s3, KEY_ID 'AKIDCI', SECRET 'secret', REGION 'us-east-1',
                ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false)""")
n, total = con.execute("SELECT count(*), sum(v) FROM read_json('s3://lake/events/2026/*/*/*.json', format='newline_delimited')").fetchone()
assert (n, total) == (20, 90), (n, total)
rows = con.execute("""SELECT day, count(*) FROM read_json('s3://lake/gz/2026/12/*/*.json.gz',
                      format='newline_delimited', compression='gzip') GROUP BY day ORDER BY day""").fetchall()
assert rows == [(1, 10), (2, 10)], rows
print("s3 check passed")
