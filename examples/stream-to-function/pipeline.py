"""The pipeline of run.sh, driven with boto3 against Rheo at the URL given."""

import io
import json
import sys
import time
import zipfile

import boto3

url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
kinesis, sqs, lam, logs = (boto3.client(s, **kw) for s in ("kinesis", "sqs", "lambda", "logs"))

# The function: it processes orders and fails on a poison one.
HANDLER = '''
import base64, json

def handler(event, context):
    for r in event["Records"]:
        order = json.loads(base64.b64decode(r["kinesis"]["data"]))
        if order.get("poison"):
            raise ValueError(f"cannot process order {order['id']}")
        print(f"processed order {order['id']} for {order['customer']}")
'''
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("handler.py", HANDLER)

kinesis.create_stream(StreamName="orders", ShardCount=2)
kinesis.get_waiter("stream_exists").wait(StreamName="orders")
stream_arn = kinesis.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]["StreamARN"]
dlq_url = sqs.create_queue(QueueName="orders-failures")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
lam.create_function(
    FunctionName="process-orders",
    Runtime="python3.12",
    Handler="handler.handler",
    Role="arn:aws:iam::000000000000:role/orders",
    Code={"ZipFile": code.getvalue()},
)
print("waiting for the function (the first run prepares Python, which takes a while)...")
lam.get_waiter("function_active_v2").wait(FunctionName="process-orders", WaiterConfig={"Delay": 2, "MaxAttempts": 300})
lam.create_event_source_mapping(
    FunctionName="process-orders",
    EventSourceArn=stream_arn,
    StartingPosition="TRIM_HORIZON",
    BatchSize=5,
    MaximumRetryAttempts=2,
    BisectBatchOnFunctionError=True,
    DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
)

# The producer.
for n in range(20):
    order = {"id": n, "customer": f"customer-{n % 4}", "poison": n == 13}
    kinesis.put_record(StreamName="orders", PartitionKey=order["customer"], Data=json.dumps(order).encode())
print("put 20 orders, order 13 is poison")

failure = None
for _ in range(120):
    got = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages", [])
    if got:
        failure = json.loads(got[0]["Body"])
        break
processed = []
for _ in range(50):
    events = logs.filter_log_events(logGroupName="/aws/lambda/process-orders", filterPattern="processed")["events"]
    processed = sorted({e["message"] for e in events})
    if len(processed) == 19:
        break
    time.sleep(0.2)
print(f"\nthe function processed {len(processed)} orders, e.g.:")
for line in processed[:3]:
    print("  " + line)
print("\nthe dead-letter queue holds Lambda's on-failure record:")
print(json.dumps(failure, indent=2))
assert failure is not None and failure["KinesisBatchInfo"]["batchSize"] == 1, failure
assert len(processed) == 19, processed
