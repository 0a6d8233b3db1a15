"""Drives a running Rheo with boto3, as a Python producer and consumer would.

Usage: python boto3_check.py http://127.0.0.1:PORT
"""

import hashlib
import json
import sys
import time
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

url = sys.argv[1]


def client(endpoint=url, secret="secret", **kwargs):
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIDCI",
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
        **kwargs,
    )


kinesis = client()


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} should have failed")


kinesis.create_stream(StreamName="py", ShardCount=3)
kinesis.get_waiter("stream_exists").wait(StreamName="py", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
desc = kinesis.describe_stream(StreamName="py")["StreamDescription"]
assert desc["StreamStatus"] == "ACTIVE", desc
assert len(desc["Shards"]) == 3
ranges = {s["ShardId"]: (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])) for s in desc["Shards"]}

# Routing by MD5 of the partition key, checked independently.
sent = {}
records = [{"Data": f"payload-{i}".encode(), "PartitionKey": f"key-{i}"} for i in range(100)]
out = kinesis.put_records(StreamName="py", Records=records)
assert out["FailedRecordCount"] == 0, out
for rec, res in zip(records, out["Records"]):
    h = int.from_bytes(hashlib.md5(rec["PartitionKey"].encode()).digest(), "big")
    lo, hi = ranges[res["ShardId"]]
    assert lo <= h <= hi, (rec, res)
    sent[res["SequenceNumber"]] = rec["Data"]
single = kinesis.put_record(StreamName="py", PartitionKey="solo", Data=b"\x00\xffbinary")
sent[single["SequenceNumber"]] = b"\x00\xffbinary"

got = {}
for shard in kinesis.list_shards(StreamName="py")["Shards"]:
    it = kinesis.get_shard_iterator(StreamName="py", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    while True:
        page = kinesis.get_records(ShardIterator=it, Limit=25)
        for r in page["Records"]:
            got[r["SequenceNumber"]] = r["Data"]
        if not page["Records"]:
            break
        it = page["NextShardIterator"]
assert got == sent, (len(got), len(sent))

# A GetRecords response over 1 MiB is streamed (chunked transfer encoding).
big = [bytes([i]) * 600_000 for i in range(4)]
kinesis.put_records(StreamName="py", Records=[{"Data": b, "PartitionKey": "big", "ExplicitHashKey": "0"} for b in big])
it = kinesis.get_shard_iterator(StreamName="py", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
page = kinesis.get_records(ShardIterator=it)
assert [r["Data"] for r in page["Records"] if r["PartitionKey"] == "big"] == big

# Paginators and tags.
names = [n for page in kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 1}) for n in page["StreamNames"]]
assert names == ["py"], names
kinesis.add_tags_to_stream(StreamName="py", Tags={"team": "ci"})
assert kinesis.list_tags_for_stream(StreamName="py")["Tags"] == [{"Key": "team", "Value": "ci"}]

# Errors come back with AWS's codes and status.
assert error_code(kinesis.describe_stream, StreamName="missing") == ("ResourceNotFoundException", 400)
assert error_code(kinesis.create_stream, StreamName="py", ShardCount=1) == ("ResourceInUseException", 400)
assert error_code(kinesis.get_records, ShardIterator="bogus") == ("InvalidArgumentException", 400)
assert error_code(kinesis.increase_stream_retention_period, StreamName="py", RetentionPeriodHours=9000) == ("InvalidArgumentException", 400)

# Resharding: split, merge and update_shard_count, then read the closed parent to its end.
kinesis.put_record(StreamName="py", PartitionKey="parent", Data=b"in-parent", ExplicitHashKey="1")
lo, hi = ranges["shardId-000000000000"]
kinesis.split_shard(StreamName="py", ShardToSplit="shardId-000000000000", NewStartingHashKey=str((lo + hi) // 2))
kinesis.get_waiter("stream_exists").wait(StreamName="py", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
kinesis.merge_shards(StreamName="py", ShardToMerge="shardId-000000000003", AdjacentShardToMerge="shardId-000000000004")
kinesis.get_waiter("stream_exists").wait(StreamName="py", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
scaled = kinesis.update_shard_count(StreamName="py", TargetShardCount=6, ScalingType="UNIFORM_SCALING")
assert (scaled["CurrentShardCount"], scaled["TargetShardCount"]) == (3, 6), scaled
kinesis.get_waiter("stream_exists").wait(StreamName="py", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
open_shards = kinesis.list_shards(StreamName="py", ShardFilter={"Type": "AT_LATEST"})["Shards"]
assert len(open_shards) == 6, open_shards
it = kinesis.get_shard_iterator(StreamName="py", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
datas = []
while it:
    page = kinesis.get_records(ShardIterator=it)
    datas += [r["Data"] for r in page["Records"]]
    it = page.get("NextShardIterator")
assert b"in-parent" in datas
assert [c["ShardId"] for c in page["ChildShards"]] == ["shardId-000000000003", "shardId-000000000004"], page
assert error_code(kinesis.split_shard, StreamName="py", ShardToSplit="shardId-000000000000", NewStartingHashKey="5") == ("InvalidArgumentException", 400)

# Throughput limits switched on at run time: a burst above 1,000 records/s on one shard is
# partly throttled, record by record; PutRecord gets ProvisionedThroughputExceededException.
def admin(method, path, body):
    # Signed like any request (the server verifies signatures when credentials are set).
    req = AWSRequest(method=method, url=url + path, data=json.dumps(body).encode())
    SigV4Auth(Credentials("AKIDCI", "secret"), "kinesis", "us-east-1").add_auth(req)
    prepared = urllib.request.Request(url + path, data=req.body, method=method, headers=dict(req.headers.items()))
    with urllib.request.urlopen(prepared) as resp:
        return json.load(resp)


kinesis.create_stream(StreamName="limited", ShardCount=1)
kinesis.get_waiter("stream_exists").wait(StreamName="limited", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
assert admin("PUT", "/_rheo/streams/limited/throughput-limits", {"profile": "aws"}) == {"profile": "aws"}
failed = []
for n in range(3):
    out = kinesis.put_records(StreamName="limited", Records=[{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(500)])
    failed += [r for r in out["Records"] if "ErrorCode" in r]
assert len(failed) >= 400, len(failed)
assert {r["ErrorCode"] for r in failed} == {"ProvisionedThroughputExceededException"}, failed[:3]
# Buckets refill with real time (a record per millisecond), so PutRecord is throttled by bytes:
# records of 1,000 KiB in a row each need almost a second of the shard's 1 MiB/s after the one
# before, so one of the next few is throttled even if the client is slow (limits off would
# throttle none).
throttled = None
for _ in range(5):
    try:
        kinesis.put_record(StreamName="limited", PartitionKey="k", Data=b"x" * 1000 * 1024)
    except ClientError as e:
        throttled = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
        break
assert throttled == ("ProvisionedThroughputExceededException", 400), throttled
admin("PUT", "/_rheo/streams/limited/throughput-limits", {"profile": "off"})
kinesis.put_record(StreamName="limited", PartitionKey="k", Data=b"x")

# Fault injection: GetRecords fails whole, PutRecords record by record.
admin("PUT", "/_rheo/faults", [{"operation": "DescribeStreamSummary", "error-rate": 1, "error": "InternalFailure"}])
assert error_code(kinesis.describe_stream_summary, StreamName="limited") == ("InternalFailure", 500)
admin("DELETE", "/_rheo/faults", [])

# Capacity settings.
arn = kinesis.describe_stream_summary(StreamName="limited")["StreamDescriptionSummary"]["StreamARN"]
kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=4096)
big = bytes(range(256)) * (3 * 4096)
kinesis.put_record(StreamName="limited", PartitionKey="big", Data=big)
kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
summary = kinesis.describe_stream_summary(StreamName="limited")["StreamDescriptionSummary"]
assert summary["StreamModeDetails"]["StreamMode"] == "ON_DEMAND", summary
assert summary["MaxRecordSizeInKiB"] == 4096, summary
kinesis.update_stream_record_distribution_strategy(StreamARN=arn, RecordDistributionStrategy="AUTO")
kinesis.delete_stream(StreamName="limited")

# Enhanced fan-out: a consumer, and SubscribeToShard's event stream over HTTP/1.1.
py_arn = kinesis.describe_stream_summary(StreamName="py")["StreamDescriptionSummary"]["StreamARN"]
consumer = kinesis.register_stream_consumer(StreamARN=py_arn, ConsumerName="py-app")["Consumer"]
for _ in range(100):
    status = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])["ConsumerDescription"]["ConsumerStatus"]
    if status == "ACTIVE":
        break
    time.sleep(0.1)
assert status == "ACTIVE", status
listed = kinesis.list_stream_consumers(StreamARN=py_arn)["Consumers"]
assert [c["ConsumerName"] for c in listed] == ["py-app"], listed
shard0 = kinesis.list_shards(StreamName="py")["Shards"][0]["ShardId"]
sub = kinesis.subscribe_to_shard(
    ConsumerARN=consumer["ConsumerARN"], ShardId=shard0, StartingPosition={"Type": "TRIM_HORIZON"}
)
event = next(iter(sub["EventStream"]))["SubscribeToShardEvent"]
assert event["Records"], event
assert all(isinstance(r["Data"], bytes) for r in event["Records"]), event["Records"][:1]
assert event["ContinuationSequenceNumber"] == event["Records"][-1]["SequenceNumber"], event
sub["EventStream"].close()
assert error_code(kinesis.delete_stream, StreamName="py") == ("ResourceInUseException", 400)
kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])

kinesis.delete_stream(StreamName="py", EnforceConsumerDeletion=True)
kinesis.get_waiter("stream_not_exists").wait(StreamName="py", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
# Signatures are verified (CI starts the server with --credential AKIDCI:secret): botocore's
# signature passes above; a wrong secret does not.
wrong = client(secret="not-the-secret")
assert error_code(wrong.list_streams) == ("InvalidSignatureException", 400)

# The same port over TLS, trusting Rheo's self-signed certificate (when its path is given).
if len(sys.argv) > 2:
    port = url.rsplit(":", 1)[1]
    secure = client(endpoint=f"https://localhost:{port}", verify=sys.argv[2])
    secure.list_streams()
print("boto3 check passed")
