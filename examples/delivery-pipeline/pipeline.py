"""The pipeline of run.sh, driven with boto3 against Rheo at the URL given."""

import glob
import io
import json
import os
import sys
import time
import zipfile

import boto3
import duckdb
from faker import Faker

url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
kinesis, firehose, lam = (boto3.client(s, **kw) for s in ("kinesis", "firehose", "lambda"))
s3 = boto3.client("s3", config=boto3.session.Config(s3={"addressing_style": "path"}), **kw)
ROLE = "arn:aws:iam::000000000000:role/pipeline"

# The transformation: adds an attribute to each click and drops the bots' ones.
HANDLER = '''
import base64, json

def handler(event, context):
    out = []
    for r in event["records"]:
        click = json.loads(base64.b64decode(r["data"]))
        if click["user_agent"].startswith("bot"):
            out.append({"recordId": r["recordId"], "result": "Dropped", "data": r["data"]})
            continue
        click["domain"] = click["email"].split("@")[1]
        data = base64.b64encode((json.dumps(click) + "\\n").encode()).decode()
        out.append({"recordId": r["recordId"], "result": "Ok", "data": data})
    return {"records": out}
'''
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as z:
    z.writestr("transform.py", HANDLER)

kinesis.create_stream(StreamName="clicks", ShardCount=2)
kinesis.get_waiter("stream_exists").wait(StreamName="clicks", WaiterConfig={"Delay": 1})
stream_arn = kinesis.describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]["StreamARN"]
s3.create_bucket(Bucket="analytics")
lam.create_function(FunctionName="enrich-clicks", Runtime="python3.12", Handler="transform.handler",
                    Role=ROLE, Code={"ZipFile": code.getvalue()}, Timeout=60)
print("waiting for the function (the first run prepares Python, which takes a while)...")
lam.get_waiter("function_active_v2").wait(FunctionName="enrich-clicks", WaiterConfig={"Delay": 2, "MaxAttempts": 300})
fn_arn = lam.get_function(FunctionName="enrich-clicks")["Configuration"]["FunctionArn"]
firehose.create_delivery_stream(
    DeliveryStreamName="clicks-to-lake",
    DeliveryStreamType="KinesisStreamAsSource",
    KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
    ExtendedS3DestinationConfiguration={
        "RoleARN": ROLE,
        "BucketARN": "arn:aws:s3:::analytics",
        "Prefix": "clicks/!{timestamp:yyyy/MM/dd}/",
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 5},
        "CompressionFormat": "GZIP",
        "ProcessingConfiguration": {"Enabled": True, "Processors": [
            {"Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn", "ParameterValue": fn_arn}]}]},
    },
)

# The producer: fake clicks, a tenth of them from bots.
fake = Faker()
Faker.seed(7)
clicks = []
for i in range(3000):
    clicks.append({"id": i, "email": fake.email(), "page": fake.random_element(["/", "/pricing", "/docs", "/blog"]),
                   "user_agent": "bot/1.0" if i % 10 == 0 else fake.user_agent(), "ts": fake.iso8601()})
for start in range(0, len(clicks), 500):
    batch = clicks[start:start + 500]
    r = kinesis.put_records(StreamName="clicks", Records=[
        {"Data": json.dumps(c).encode(), "PartitionKey": c["email"]} for c in batch])
    assert r["FailedRecordCount"] == 0, r
humans = [c for c in clicks if not c["user_agent"].startswith("bot")]
print(f"put {len(clicks)} clicks; {len(humans)} are from people")

# Objects are written when 1 MiB is buffered or 5 s after the oldest click.
ext = glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_extension_httpfs", "**",
                             "httpfs.duckdb_extension"), recursive=True)
con = duckdb.connect()
con.execute(f"LOAD '{ext[0]}'")
con.execute(f"""CREATE SECRET rheo (TYPE s3, KEY_ID 'local', SECRET 'local', REGION 'us-east-1',
                ENDPOINT '{url.split("://", 1)[1]}', URL_STYLE 'path', USE_SSL false)""")
query = "FROM read_json('s3://analytics/clicks/*/*/*/*.gz', format='newline_delimited', compression='gzip')"
for _ in range(120):
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="analytics", Prefix="clicks/").get("Contents", [])]
    if keys and con.execute(f"SELECT count(*) {query}").fetchone()[0] >= len(humans):
        break
    time.sleep(1)
print("objects delivered:")
for k in keys:
    print("  s3://analytics/" + k)
print(con.execute(f"SELECT page, count(*) AS clicks, count(DISTINCT domain) AS domains {query} GROUP BY page ORDER BY page").fetchall())
total = con.execute(f"SELECT count(*) {query}").fetchone()[0]
assert total == len(humans), (total, len(humans))
print(f"DuckDB read {total} enriched clicks: every click from a person, once, none from the bots")
