"""Drives a running Rheo's Kinesis queues with boto3 (botocore 1.44 and later model them):
create, receive, acknowledge, visibility, dead letters, restore, list, update, delete.

Usage: python kinesis_queues_check.py http://127.0.0.1:PORT

The server runs with a 200 ms transition delay, so queues are waited for as AWS's are.
"""

import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

url = sys.argv[1]
kinesis = boto3.client(
    "kinesis",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDCI",
    aws_secret_access_key="secret",
    config=Config(retries={"max_attempts": 1}),
)
if "ReceiveQueueRecords" not in kinesis.meta.service_model.operation_names:
    raise SystemExit(f"botocore {boto3.__version__} has no Kinesis queue operations: upgrade boto3")


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise SystemExit(f"{call.__name__} succeeded")


def wait(check, what):
    for _ in range(100):
        if check():
            return
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {what}")


def queue_status(arn):
    return kinesis.describe_queue(QueueARN=arn)["QueueDescription"]["QueueStatus"]


name = "queues-py"
kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
stream_arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]

created = kinesis.create_queue(
    QueueName="py-workers",
    StreamConfigurationList=[{"StreamARN": stream_arn, "StartingPosition": {"Type": "TRIM_HORIZON"}}],
    QueueAttributes={
        "VisibilityTimeoutSeconds": 1,
        "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 1},
    },
    Tags={"team": "ci"},
)["QueueDescription"]
arn = created["QueueARN"]
assert created["QueueStatus"] == "CREATING", created
assert created["QueueCreationTimestamp"].year >= 2024
wait(lambda: queue_status(arn) == "ACTIVE", "the queue to be ACTIVE")
assert error_code(kinesis.delete_stream, StreamName=name) == "ResourceInUseException"

sent = {}
for i in range(3):
    out = kinesis.put_record(StreamName=name, PartitionKey=f"pk{i}", Data=f"job {i}".encode())
    sent[out["SequenceNumber"]] = f"job {i}".encode()

records = kinesis.receive_queue_records(QueueARN=arn, Limit=10, WaitTimeSeconds=2)["QueueRecords"]
assert {r["RecordId"]: r["Data"] for r in records} == sent, records
assert all(r["ReceiveCount"] == 1 and r["ApproximateArrivalTimestamp"] for r in records)
by_data = {r["Data"]: r for r in records}

acked = kinesis.acknowledge_queue_records(
    QueueARN=arn,
    Entries=[{"ReceiptHandle": by_data[b"job 0"]["ReceiptHandle"]}, {"ReceiptHandle": "bogus"}],
)
assert [e["ReceiptHandle"] for e in acked["Successful"]] == [by_data[b"job 0"]["ReceiptHandle"]], acked
assert acked["Failed"][0]["ErrorCode"] == "InvalidArgumentException", acked

kinesis.update_queue_records_visibility(
    QueueARN=arn,
    Entries=[{"ReceiptHandle": by_data[b"job 1"]["ReceiptHandle"], "VisibilityTimeoutSeconds": 30}],
)

# job 2's visibility (1 s) ends; received once (MaxReceiveCount 1), it becomes a dead letter.
time.sleep(1.2)
assert kinesis.receive_queue_records(QueueARN=arn, WaitTimeSeconds=1)["QueueRecords"] == []
dead = kinesis.receive_dead_letter_queue_records(QueueARN=arn, WaitTimeSeconds=2)["QueueRecords"]
assert [r["Data"] for r in dead] == [b"job 2"], dead
restored = kinesis.restore_dead_letter_queue_records(
    QueueARN=arn, Entries=[{"ReceiptHandle": dead[0]["ReceiptHandle"]}]
)
assert len(restored["Successful"]) == 1 and restored["Failed"] == [], restored
again = kinesis.receive_queue_records(QueueARN=arn, WaitTimeSeconds=2)["QueueRecords"]
assert [(r["Data"], r["ReceiveCount"]) for r in again] == [(b"job 2", 1)], again
kinesis.acknowledge_queue_records(QueueARN=arn, Entries=[{"ReceiptHandle": again[0]["ReceiptHandle"]}])

# Nothing is left in the dead letters (job 1 is still in flight for 30 s).
time.sleep(1.2)
assert kinesis.receive_dead_letter_queue_records(QueueARN=arn, WaitTimeSeconds=1)["QueueRecords"] == []
kinesis.update_queue(QueueARN=arn, QueueAttributes={"VisibilityTimeoutSeconds": 5})
assert queue_status(arn) == "UPDATING"
wait(lambda: queue_status(arn) == "ACTIVE", "the update")
attrs = kinesis.describe_queue(QueueARN=arn)["QueueDescription"]["QueueAttributes"]
assert attrs == {
    "VisibilityTimeoutSeconds": 5,
    "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 1},
}, attrs

listed = kinesis.list_queues(StreamFilter=[{"StreamARN": stream_arn}])["QueueSummaries"]
assert [(q["QueueName"], q["QueueARN"]) for q in listed] == [("py-workers", arn)], listed
assert listed[0]["Streams"][0]["StreamARN"] == stream_arn

kinesis.delete_queue(QueueARN=arn)
assert error_code(kinesis.receive_queue_records, QueueARN=arn) == "ResourceNotFoundException"


def gone():
    try:
        kinesis.describe_queue(QueueARN=arn)
        return False
    except ClientError as e:
        return e.response["Error"]["Code"] == "ResourceNotFoundException"


wait(gone, "the deletion")
kinesis.delete_stream(StreamName=name)
print("Kinesis queues with boto3: ok")
