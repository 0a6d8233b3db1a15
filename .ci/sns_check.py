"""Drives a running Rheo's SNS with boto3 (query protocol): a topic fanned out to two SQS
queues, raw and enveloped, one behind a filter policy.

Usage: python sns_check.py http://127.0.0.1:PORT
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
print("sns boto3 checks passed")
