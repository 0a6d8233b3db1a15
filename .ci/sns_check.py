"""Drives a running Rheo's SNS with boto3 (query protocol): a topic fanned out to two SQS
queues, raw and enveloped, one behind a filter policy.

With a certificate and an output file, it also publishes over HTTPS to two topics (signature
versions 1 and 2) and writes the envelopes the queue received to the file, for
js_sns_signature_check.mjs to verify with AWS's message validator.

Usage: python sns_check.py http://127.0.0.1:PORT [CERT.pem ENVELOPES.json]
"""

import json
import sys

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
sns, sqs = boto3.client("sns", **kw), boto3.client("sqs", **kw)

topic = sns.create_topic(Name="ci-events", Tags=[{"Key": "team", "Value": "ci"}])["TopicArn"]
assert topic == "arn:aws:sns:us-east-1:000000000000:ci-events", topic
raw = sqs.create_queue(QueueName="ci-sns-raw")["QueueUrl"]
env = sqs.create_queue(QueueName="ci-sns-env")["QueueUrl"]
arn = lambda q: f"arn:aws:sqs:us-east-1:000000000000:{q}"
sns.subscribe(
    TopicArn=topic,
    Protocol="sqs",
    Endpoint=arn("ci-sns-raw"),
    Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": ["order"]})},
)
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn("ci-sns-env"))
assert len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]) == 2
attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
assert attrs["SubscriptionsConfirmed"] == "2", attrs

for kind in ["order", "refund"]:
    sns.publish(
        TopicArn=topic,
        Message=f"a {kind}",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
    )
got = sqs.receive_message(QueueUrl=raw, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
assert [m["Body"] for m in got] == ["a order"], got
assert got[0]["MessageAttributes"]["kind"]["StringValue"] == "order"
got = sqs.receive_message(QueueUrl=env, MaxNumberOfMessages=10)["Messages"]
bodies = sorted(json.loads(m["Body"])["Message"] for m in got)
assert bodies == ["a order", "a refund"], bodies
note = json.loads(got[0]["Body"])
assert note["Type"] == "Notification" and note["TopicArn"] == topic and "UnsubscribeURL" in note, note

try:
    sns.publish(TopicArn="arn:aws:sns:us-east-1:000000000000:missing", Message="x")
    raise SystemExit("publishing to a missing topic succeeded")
except sns.exceptions.NotFoundException as e:
    assert e.response["Error"]["Code"] == "NotFound", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
sns.delete_topic(TopicArn=topic)

if len(sys.argv) > 3:
    cert, out = sys.argv[2], sys.argv[3]
    tls = dict(kw, endpoint_url=url.replace("http://", "https://"), verify=cert)
    sns, sqs = boto3.client("sns", **tls), boto3.client("sqs", **tls)
    box = sqs.create_queue(QueueName="ci-sns-signed")["QueueUrl"]
    envelopes = []
    topics = []
    for version in ["1", "2"]:
        t = sns.create_topic(Name=f"ci-signed-v{version}", Attributes={"SignatureVersion": version})["TopicArn"]
        sns.subscribe(TopicArn=t, Protocol="sqs", Endpoint=arn("ci-sns-signed"))
        sns.publish(TopicArn=t, Message=f"signed v{version}", Subject="with a subject")
        sns.publish(TopicArn=t, Message=f"signed v{version}, no subject")
        topics.append(t)
    while len(envelopes) < 4:
        got = sqs.receive_message(QueueUrl=box, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        envelopes += [json.loads(m["Body"]) for m in got]
    for e in envelopes:
        assert e["SigningCertURL"].startswith(url.replace("http://", "https://") + "/SimpleNotificationService-"), e
    assert sorted(e["SignatureVersion"] for e in envelopes) == ["1", "1", "2", "2"], envelopes
    with open(out, "w") as f:
        json.dump(envelopes, f)
    for t in topics:
        sns.delete_topic(TopicArn=t)
    sqs.delete_queue(QueueUrl=box)
print("sns boto3 checks passed")
