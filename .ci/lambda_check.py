"""Drives a running Rheo's Lambda, event source mappings and CloudWatch Logs with boto3: a
Python function (run by the server under awslambdaric) created from a zip, invoked, failing,
fed by a Kinesis stream and an SQS queue, with its logs read back.

Usage: python lambda_check.py http://127.0.0.1:PORT
"""

import base64
import io
import json
import sys
import time
import zipfile

import boto3
from botocore.config import Config

url = sys.argv[1]
kw = dict(
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDCI",
    aws_secret_access_key="secret",
    config=Config(retries={"max_attempts": 1}),
)
lam, k, sqs, logs = (boto3.client(s, **kw) for s in ("lambda", "kinesis", "sqs", "logs"))

HANDLER = """
import base64, json

def handler(event, context):
    records = event.get("Records", [])
    for r in records:
        if "kinesis" in r:
            print("kinesis:", base64.b64decode(r["kinesis"]["data"]).decode())
        else:
            print("sqs:", r["body"])
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"records": len(records), "function": context.function_name}
"""
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    z.writestr("app.py", HANDLER)
fn = lam.create_function(
    FunctionName="ci-fn",
    Runtime="python3.12",
    Handler="app.handler",
    Role="arn:aws:iam::000000000000:role/ci",
    Code={"ZipFile": buf.getvalue()},
    Timeout=10,
)
assert fn["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:ci-fn", fn
lam.get_waiter("function_active_v2").wait(FunctionName="ci-fn")

out = lam.invoke(FunctionName="ci-fn", Payload=b"{}", LogType="Tail")
assert out["StatusCode"] == 200 and "FunctionError" not in out, out
assert json.loads(out["Payload"].read()) == {"records": 0, "function": "ci-fn"}
assert "REPORT RequestId" in base64.b64decode(out["LogResult"]).decode()
out = lam.invoke(FunctionName="ci-fn", Payload=json.dumps({"fail": True}))
assert out["FunctionError"] == "Unhandled", out
err = json.loads(out["Payload"].read())
assert err["errorType"] == "RuntimeError" and err["errorMessage"] == "asked to fail", err
try:
    lam.get_function(FunctionName="missing")
    raise SystemExit("a missing function was found")
except lam.exceptions.ResourceNotFoundException as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404

# A stream and a queue feed it.
k.create_stream(StreamName="ci-fn-stream", ShardCount=1)
k.get_waiter("stream_exists").wait(StreamName="ci-fn-stream")
q = sqs.create_queue(QueueName="ci-fn-queue")["QueueUrl"]
m1 = lam.create_event_source_mapping(
    FunctionName="ci-fn",
    EventSourceArn="arn:aws:kinesis:us-east-1:000000000000:stream/ci-fn-stream",
    StartingPosition="TRIM_HORIZON",
    BatchSize=10,
)
assert m1["State"] == "Creating", m1
m2 = lam.create_event_source_mapping(
    FunctionName="ci-fn", EventSourceArn="arn:aws:sqs:us-east-1:000000000000:ci-fn-queue", BatchSize=5
)
k.put_record(StreamName="ci-fn-stream", PartitionKey="a", Data=b"hello stream")
sqs.send_message(QueueUrl=q, MessageBody="hello queue")
group = "/aws/lambda/ci-fn"
found = set()
for _ in range(100):
    events = logs.filter_log_events(logGroupName=group, filterPattern="hello")["events"]
    found = {e["message"] for e in events}
    if {"kinesis: hello stream", "sqs: hello queue"} <= found:
        break
    time.sleep(0.2)
assert {"kinesis: hello stream", "sqs: hello queue"} <= found, found
streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
first = logs.get_log_events(logGroupName=group, logStreamName=streams[0]["logStreamName"], startFromHead=True)
assert first["events"][0]["message"].startswith("START RequestId"), first["events"][0]
assert any(g["logGroupName"] == group for g in logs.describe_log_groups()["logGroups"])
for _ in range(50):
    if sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0":
        break
    time.sleep(0.1)
attrs = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
assert attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0", attrs

listed = lam.list_event_source_mappings(FunctionName="ci-fn")["EventSourceMappings"]
assert {m["UUID"] for m in listed} == {m1["UUID"], m2["UUID"]}, listed
assert lam.update_event_source_mapping(UUID=m1["UUID"], Enabled=False)["State"] == "Disabling"
assert lam.get_event_source_mapping(UUID=m1["UUID"])["State"] == "Disabled"
for m in (m1, m2):
    lam.delete_event_source_mapping(UUID=m["UUID"])
lam.delete_function(FunctionName="ci-fn")
k.delete_stream(StreamName="ci-fn-stream")
sqs.delete_queue(QueueUrl=q)
print("lambda boto3 checks passed")
