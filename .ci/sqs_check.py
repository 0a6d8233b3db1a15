"""Drives a running Rheo's SQS with boto3: AWS JSON 1.0, as current botocore speaks it, or
the query protocol (form posts, XML) when AWS_DATA_PATH holds SQS's last query model
(.ci/sqs_query_model.sh), as older SDKs speak it.

Usage: python sqs_check.py http://127.0.0.1:PORT

botocore checks no digests itself, so the attribute digests are compared with the values AWS
returned for the same attributes (recorded in LocalStack's AWS-validated snapshots).
"""

import hashlib
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

url = sys.argv[1]
sqs = boto3.client(
    "sqs",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="AKIDCI",
    aws_secret_access_key="secret",
    config=Config(retries={"max_attempts": 1}),
)
query = sqs.meta.service_model.protocol == "query"
# The query model predates MessageSystemAttributeNames; AttributeNames means the same.
system_all = {"AttributeNames": ["All"]} if query else {"MessageSystemAttributeNames": ["All"]}


def error(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise SystemExit(f"{call.__name__} succeeded")


proto = "query" if query else "json"
q = sqs.create_queue(QueueName=f"ci-{proto}")["QueueUrl"]
assert q == f"{url}/000000000000/ci-{proto}", q
assert sqs.create_queue(QueueName=f"ci-{proto}")["QueueUrl"] == q
attrs = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
assert len(attrs) == 12 and attrs["VisibilityTimeout"] == "30", attrs

# Digests AWS returned for these attributes.
sent = sqs.send_message(
    QueueUrl=q,
    MessageBody="hello",
    MessageAttributes={"attr1": {"DataType": "Number", "StringValue": "99.12"}},
)
assert sent["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
assert sent["MD5OfMessageAttributes"] == "d302007e9aa062660afc85fd0a482472", sent
trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
sent = sqs.send_message(
    QueueUrl=q,
    MessageBody="traced",
    MessageAttributes={"Foo": {"DataType": "String", "StringValue": "Bar"}},
    MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
)
assert sent["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c", sent
assert sent["MD5OfMessageSystemAttributes"] == "5ae4d5d7636402d80f4eb6d213245a88", sent

got = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, MessageAttributeNames=["All"], **system_all)["Messages"]
assert sorted(m["Body"] for m in got) == ["hello", "traced"], got
traced = next(m for m in got if m["Body"] == "traced")
assert traced["Attributes"]["AWSTraceHeader"] == trace
assert traced["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"
assert traced["MessageAttributes"]["Foo"] == {"StringValue": "Bar", "DataType": "String"}
out = sqs.delete_message_batch(
    QueueUrl=q, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
)
assert len(out["Successful"]) == 2 and not out.get("Failed"), out

# Batches, visibility, purge, tags.
out = sqs.send_message_batch(QueueUrl=q, Entries=[{"Id": f"e{i}", "MessageBody": f"m{i}"} for i in range(10)])
assert len(out["Successful"]) == 10, out
m = sqs.receive_message(QueueUrl=q, VisibilityTimeout=60)["Messages"][0]
sqs.change_message_visibility(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
sqs.purge_queue(QueueUrl=q)
assert "Messages" not in sqs.receive_message(QueueUrl=q)
e, status = error(sqs.purge_queue, QueueUrl=q)
assert (e["Code"], status) == ("AWS.SimpleQueueService.PurgeQueueInProgress", 403), (e, status)
sqs.tag_queue(QueueUrl=q, Tags={"team": "ci"})
assert sqs.list_queue_tags(QueueUrl=q)["Tags"] == {"team": "ci"}

# FIFO: order within a group, deduplication.
f = sqs.create_queue(QueueName=f"ci-{proto}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})[
    "QueueUrl"
]
ids = [sqs.send_message(QueueUrl=f, MessageBody=f"f{i}", MessageGroupId="g")["MessageId"] for i in range(3)]
assert sqs.send_message(QueueUrl=f, MessageBody="f0", MessageGroupId="g")["MessageId"] == ids[0]
got = sqs.receive_message(QueueUrl=f, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
assert [m["Body"] for m in got] == ["f0", "f1", "f2"], got
assert got[0]["Attributes"]["MessageGroupId"] == "g" and "SequenceNumber" in got[0]["Attributes"]

# Errors as AWS sends them: the legacy code in Error.Code, the shape name for the class.
try:
    sqs.get_queue_url(QueueName="missing")
    raise SystemExit("get_queue_url of a missing queue succeeded")
except sqs.exceptions.QueueDoesNotExist as e:
    err = e.response["Error"]
    assert err["Code"] == "AWS.SimpleQueueService.NonExistentQueue", err
    if query:
        assert err["Message"] == "The specified queue does not exist for this wsdl version.", err
    else:
        assert err["QueryErrorCode"] == "QueueDoesNotExist", err
        assert err["Message"] == "The specified queue does not exist.", err
e, _ = error(sqs.receive_message, QueueUrl=q, MaxNumberOfMessages=11)
assert e["Code"] == "InvalidParameterValue", e
assert e["Message"] == "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
e, _ = error(sqs.send_message, QueueUrl=f, MessageBody="x")
assert (e["Code"], e["Message"]) == ("MissingParameter", "The request must contain the parameter MessageGroupId."), e
sqs.delete_queue(QueueUrl=q)
print(f"sqs boto3 checks passed ({sqs.meta.service_model.protocol} protocol)")
