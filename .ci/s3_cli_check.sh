#!/usr/bin/env bash
# Drives a running Rheo's buckets with the aws CLI, as the README walkthrough does: `aws s3`
# up and down (multipart above 8 MiB), ls --recursive, sync, `aws s3api`, and a
# notification of an object written with the CLI arriving in a queue.
# Usage: s3_cli_check.sh http://127.0.0.1:PORT
set -euo pipefail
url=$1
export AWS_ACCESS_KEY_ID=AKIDCI AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1
s3() { aws --endpoint-url "$url" s3 "$@"; }
api() { aws --endpoint-url "$url" s3api "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

s3 mb s3://cli-bucket
head -c 20000000 /dev/urandom >"$work/big.bin"
s3 cp "$work/big.bin" s3://cli-bucket/in/big.bin --only-show-errors
etag=$(api head-object --bucket cli-bucket --key in/big.bin --query ETag --output text)
case "$etag" in *-3\"|*-3) ;; *) echo "a 20 MB cp should be a 3-part multipart upload, ETag $etag"; exit 1 ;; esac
s3 cp s3://cli-bucket/in/big.bin "$work/back.bin" --only-show-errors
cmp "$work/big.bin" "$work/back.bin"
mkdir -p "$work/tree/a/b"
echo one >"$work/tree/a/one.txt"
echo "two words" >"$work/tree/a/b/two words.txt"
echo three >"$work/tree/three.txt"
s3 sync "$work/tree" s3://cli-bucket/tree --only-show-errors
listed=$(s3 ls --recursive s3://cli-bucket/tree/ | awk '{ $1=$2=$3=""; sub(/^ +/, ""); print }' | sort)
[ "$listed" = $'tree/a/b/two words.txt\ntree/a/one.txt\ntree/three.txt' ] || { echo "listed: $listed"; exit 1; }
# A second sync sends nothing; a changed file is sent again.
[ -z "$(s3 sync "$work/tree" s3://cli-bucket/tree)" ]
echo changed >"$work/tree/three.txt"
s3 sync "$work/tree" s3://cli-bucket/tree | grep -q "tree/three.txt"
[ "$(s3 ls s3://cli-bucket/tree/ | grep -c PRE)" = 1 ]
api put-object-tagging --bucket cli-bucket --key tree/three.txt --tagging 'TagSet=[{Key=stage,Value=ci}]'
[ "$(api get-object-tagging --bucket cli-bucket --key tree/three.txt --query 'TagSet[0].Value' --output text)" = ci ]
api get-object --bucket cli-bucket --key in/big.bin --range bytes=100-199 "$work/range.bin" >/dev/null
cmp <(head -c 200 "$work/big.bin" | tail -c 100) "$work/range.bin"
api copy-object --bucket cli-bucket --key copied.txt --copy-source cli-bucket/tree/a/one.txt >/dev/null
[ "$(s3 cp s3://cli-bucket/copied.txt -)" = one ]
if api get-object --bucket cli-bucket --key missing "$work/x" 2>"$work/err"; then echo "a missing key was read"; exit 1; fi
grep -q NoSuchKey "$work/err"

# Notifications: an object written with the CLI arrives in a queue as an S3 event.
q=$(aws --endpoint-url "$url" sqs create-queue --queue-name cli-s3-events --query QueueUrl --output text)
api put-bucket-notification-configuration --bucket cli-bucket --notification-configuration '{
  "QueueConfigurations": [{"Id": "cli", "QueueArn": "arn:aws:sqs:us-east-1:000000000000:cli-s3-events",
    "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "incoming/"}]}}}]}'
s3 cp "$work/tree/a/one.txt" "s3://cli-bucket/incoming/new file.txt" --only-show-errors
found=
for _ in $(seq 20); do
  bodies=$(aws --endpoint-url "$url" sqs receive-message --queue-url "$q" --max-number-of-messages 10 \
    --wait-time-seconds 1 --query 'Messages[].Body' --output text)
  if echo "$bodies" | grep -q '"key": *"incoming/new+file.txt"'; then found=1; break; fi
done
[ -n "$found" ] || { echo "the S3 event did not arrive: $bodies"; exit 1; }

s3 rm --recursive s3://cli-bucket --only-show-errors
s3 rb s3://cli-bucket
echo "s3 cli check passed"
