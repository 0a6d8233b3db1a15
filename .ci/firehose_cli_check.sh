#!/usr/bin/env bash
# Drives a running Rheo's delivery streams with the aws CLI, as the README walkthrough does:
# create-delivery-stream, put-record-batch, describe, and the delivered object with `aws s3`.
# Usage: firehose_cli_check.sh http://127.0.0.1:PORT
set -euo pipefail
url=$1
export AWS_ACCESS_KEY_ID=AKIDCI AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1
fh() { aws --endpoint-url "$url" firehose "$@"; }
s3() { aws --endpoint-url "$url" s3 "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

s3 mb s3://cli-hose
fh create-delivery-stream --delivery-stream-name cli-hose \
  --extended-s3-destination-configuration \
  'RoleARN=arn:aws:iam::000000000000:role/f,BucketARN=arn:aws:s3:::cli-hose,Prefix=raw/,BufferingHints={SizeInMBs=1,IntervalInSeconds=0}' >/dev/null
status=$(fh describe-delivery-stream --delivery-stream-name cli-hose --query DeliveryStreamDescription.DeliveryStreamStatus --output text)
[ "$status" = ACTIVE ] || { echo "status $status"; exit 1; }
# awscli v1 base64-encodes blob members itself: the records are given as text.
failed=$(fh put-record-batch --delivery-stream-name cli-hose \
  --records '[{"Data": "{\"n\":1}\n"}, {"Data": "{\"n\":2}\n"}]' --query FailedPutCount --output text)
[ "$failed" = 0 ] || { echo "FailedPutCount $failed"; exit 1; }
for _ in $(seq 100); do
  key=$(s3 ls --recursive s3://cli-hose/raw/ | awk '{print $4}' | head -1)
  [ -n "$key" ] && break
  sleep 0.2
done
[ -n "$key" ] || { echo "no object delivered"; exit 1; }
s3 cp "s3://cli-hose/$key" "$work/object" --only-show-errors
[ "$(cat "$work/object")" = $'{"n":1}\n{"n":2}' ] || { echo "delivered: $(cat "$work/object")"; exit 1; }
fh delete-delivery-stream --delivery-stream-name cli-hose
echo "firehose cli check passed"
