"""A bucket on an external S3-compatible store (moto's server): objects put, read, listed,
copied and deleted through Rheo land on the store, and multipart uploads pass through.

Usage: python s3_external_check.py RHEO_URL MOTO_URL   (Rheo started with
--s3-external-bucket name=ext-lake,bucket=moto-lake,endpoint=MOTO_URL,...)
"""

import io
import json
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

rheo_url, moto_url = sys.argv[1], sys.argv[2]
cfg = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}, signature_version="s3v4")
rheo = boto3.client("s3", endpoint_url=rheo_url, region_name="us-east-1", aws_access_key_id="AKIDCI",
                    aws_secret_access_key="secret", config=cfg)
moto = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="moto",
                    aws_secret_access_key="moto", config=cfg)

assert "ext-lake" in [b["Name"] for b in rheo.list_buckets()["Buckets"]]
rheo.put_object(Bucket="ext-lake", Key="events/2026/12/07/a.json", Body=b'{"v": 1}\n', ContentType="application/json")
data = os.urandom(11 * 1024 * 1024)
rheo.upload_fileobj(io.BytesIO(data), "ext-lake", "events/big.bin",
                    Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
assert moto.get_object(Bucket="moto-lake", Key="events/2026/12/07/a.json")["Body"].read() == b'{"v": 1}\n'
assert moto.get_object(Bucket="moto-lake", Key="events/big.bin")["Body"].read() == data
assert rheo.get_object(Bucket="ext-lake", Key="events/big.bin", Range="bytes=10-19")["Body"].read() == data[10:20]
head = rheo.head_object(Bucket="ext-lake", Key="events/2026/12/07/a.json")
assert head["ContentType"] == "application/json" and head["ContentLength"] == 9, head
listed = rheo.list_objects_v2(Bucket="ext-lake", Prefix="events/", Delimiter="/")
assert [o["Key"] for o in listed.get("Contents", [])] == ["events/big.bin"], listed
assert [p["Prefix"] for p in listed.get("CommonPrefixes", [])] == ["events/2026/"], listed
rheo.copy_object(Bucket="ext-lake", Key="copy.json", CopySource={"Bucket": "ext-lake", "Key": "events/2026/12/07/a.json"})
assert moto.get_object(Bucket="moto-lake", Key="copy.json")["Body"].read() == b'{"v": 1}\n'
rheo.delete_object(Bucket="ext-lake", Key="copy.json")
try:
    moto.head_object(Bucket="moto-lake", Key="copy.json")
    raise SystemExit("a deleted object is still on the store")
except moto.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] in ("404", "NoSuchKey"), e.response

# A delivery stream writing gzip objects into the external bucket: they land on moto.
import gzip
import time

fh = boto3.client("firehose", endpoint_url=rheo_url, region_name="us-east-1", aws_access_key_id="AKIDCI",
                  aws_secret_access_key="secret")
fh.create_delivery_stream(DeliveryStreamName="to-moto", ExtendedS3DestinationConfiguration={
    "RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::ext-lake", "Prefix": "delivered/",
    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}, "CompressionFormat": "GZIP"})
fh.put_record_batch(DeliveryStreamName="to-moto", Records=[{"Data": f'{{"n": {i}}}\n'.encode()} for i in range(50)])
got = []
for _ in range(150):
    got = []
    for o in moto.list_objects_v2(Bucket="moto-lake", Prefix="delivered/").get("Contents", []):
        assert o["Key"].endswith(".gz"), o["Key"]
        got += gzip.decompress(moto.get_object(Bucket="moto-lake", Key=o["Key"])["Body"].read()).decode().splitlines()
    if len(got) >= 50:
        break
    time.sleep(0.2)
assert sorted(json.loads(l)["n"] for l in got) == list(range(50)), got
print("s3 external store check passed (moto)")
