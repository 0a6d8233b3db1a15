#!/usr/bin/env bash
# Drives a running Rheo with the aws CLI, as the README walkthrough does.
# Usage: cli_check.sh http://127.0.0.1:PORT [CERT.pem: also call the port over TLS trusting it]
set -euo pipefail
url=$1
export AWS_ACCESS_KEY_ID=AKIDCI AWS_SECRET_ACCESS_KEY=secret AWS_DEFAULT_REGION=us-east-1
k() { aws --endpoint-url "$url" kinesis "$@"; }

k create-stream --stream-name cli --shard-count 2
k wait stream-exists --stream-name cli
[ "$(k describe-stream-summary --stream-name cli --query StreamDescriptionSummary.StreamStatus --output text)" = ACTIVE ]
seq=$(k put-record --stream-name cli --partition-key user-1 --data "hello from the cli" --query SequenceNumber --output text)
shard=$(k put-record --stream-name cli --partition-key user-1 --data "second" --query ShardId --output text)
it=$(k get-shard-iterator --stream-name cli --shard-id "$shard" --shard-iterator-type AT_SEQUENCE_NUMBER \
  --starting-sequence-number "$seq" --query ShardIterator --output text)
data=$(k get-records --shard-iterator "$it" --query 'Records[].Data' --output text)
decoded=$(for d in $data; do echo "$d" | base64 -d; echo; done)
[ "$decoded" = $'hello from the cli\nsecond' ] || { echo "unexpected records: $decoded"; exit 1; }
[ "$(k list-streams --query 'StreamNames[0]' --output text)" = cli ]
[ "$(k list-shards --stream-name cli --query 'length(Shards)')" = 2 ]
if k describe-stream --stream-name nope 2>/tmp/cli_err; then echo "describe of a missing stream succeeded"; exit 1; fi
grep -q ResourceNotFoundException /tmp/cli_err
# Invalid input gets AWS's ValidationException, members in AWS's order; the sequence number is
# AWS's 56 digits.
# (The CLI checks ranges and lengths itself; patterns reach the server.)
if k put-record --stream-name "bad name!" --partition-key k --data aGk= --explicit-hash-key x 2>/tmp/cli_err; then
  echo "an invalid put succeeded"; exit 1
fi
grep -q "ValidationException" /tmp/cli_err
grep -q "2 validation errors detected: Value 'x' at 'explicitHashKey'" /tmp/cli_err || { cat /tmp/cli_err; exit 1; }
[ "${#seq}" = 56 ] || { echo "sequence number $seq is not 56 digits"; exit 1; }
k start-stream-encryption --stream-name cli --encryption-type KMS --key-id alias/aws/kinesis
[ "$(k describe-stream-summary --stream-name cli --query StreamDescriptionSummary.EncryptionType --output text)" = KMS ]
arn=$(k describe-stream-summary --stream-name cli --query StreamDescriptionSummary.StreamARN --output text)
consumer=$(k register-stream-consumer --stream-arn "$arn" --consumer-name cli-app --query Consumer.ConsumerARN --output text)
[ "$(k list-stream-consumers --stream-arn "$arn" --query 'Consumers[0].ConsumerName' --output text)" = cli-app ]
k deregister-stream-consumer --consumer-arn "$consumer"
k delete-stream --stream-name cli --enforce-consumer-deletion
# The same port over TLS, trusting Rheo's self-signed certificate.
if [ -n "${2:-}" ]; then
  port=${url##*:}
  aws --endpoint-url "https://localhost:$port" --ca-bundle "$2" kinesis list-streams >/dev/null
fi
k wait stream-not-exists --stream-name cli

# SQS, as the README walkthrough does it.
q() { aws --endpoint-url "$url" sqs "$@"; }
qurl=$(q create-queue --queue-name cli-jobs --attributes VisibilityTimeout=5 --query QueueUrl --output text)
[ "$qurl" = "$url/000000000000/cli-jobs" ] || { echo "unexpected queue URL $qurl"; exit 1; }
[ "$(q get-queue-url --queue-name cli-jobs --query QueueUrl --output text)" = "$qurl" ]
q send-message --queue-url "$qurl" --message-body "hello from the cli" \
  --message-attributes '{"MyAttribute":{"DataType":"String","StringValue":"foobar"}}' \
  --query MD5OfMessageAttributes --output text | grep -qx adb59cd4678ea5a855436b949cd07ab6
handle=$(q receive-message --queue-url "$qurl" --wait-time-seconds 1 --query 'Messages[0].ReceiptHandle' --output text)
[ "$(q get-queue-attributes --queue-url "$qurl" --attribute-names ApproximateNumberOfMessagesNotVisible \
  --query Attributes.ApproximateNumberOfMessagesNotVisible --output text)" = 1 ]
q delete-message --queue-url "$qurl" --receipt-handle "$handle"
[ "$(q list-queues --queue-name-prefix cli- --query 'length(QueueUrls)')" = 1 ]
if q get-queue-url --queue-name nope 2>/tmp/cli_err; then echo "get-queue-url of a missing queue succeeded"; exit 1; fi
grep -q "AWS.SimpleQueueService.NonExistentQueue" /tmp/cli_err || { cat /tmp/cli_err; exit 1; }
q delete-queue --queue-url "$qurl"

# SNS: a topic fanned out to a queue.
n() { aws --endpoint-url "$url" sns "$@"; }
topic=$(n create-topic --name cli-alerts --query TopicArn --output text)
[ "$topic" = "arn:aws:sns:us-east-1:000000000000:cli-alerts" ] || { echo "unexpected topic ARN $topic"; exit 1; }
aurl=$(q create-queue --queue-name cli-alerts --query QueueUrl --output text)
n subscribe --topic-arn "$topic" --protocol sqs --notification-endpoint arn:aws:sqs:us-east-1:000000000000:cli-alerts \
  --attributes RawMessageDelivery=true >/dev/null
n publish --topic-arn "$topic" --message "disk almost full" >/dev/null
[ "$(q receive-message --queue-url "$aurl" --query 'Messages[0].Body' --output text)" = "disk almost full" ]
[ "$(n list-topics --query 'length(Topics)')" = 1 ]
n delete-topic --topic-arn "$topic" >/dev/null
q delete-queue --queue-url "$aurl"
# Lambda: a shell-runtime function (provided.al2023) created from a zip and invoked.
l() { aws --endpoint-url "$url" lambda "$@"; }
work=$(mktemp -d)
cat > "$work/bootstrap" <<'SH'
#!/bin/sh
set -eu
api="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  headers="$(mktemp)"
  event="$(curl -sS -D "$headers" "$api/invocation/next")"
  id="$(grep -Fi lambda-runtime-aws-request-id "$headers" | tr -d '[:space:]' | cut -d: -f2)"
  curl -sS -o /dev/null -X POST "$api/invocation/$id/response" -d "{\"echo\":$event}"
done
SH
chmod +x "$work/bootstrap"
(cd "$work" && python3 -m zipfile -c fn.zip bootstrap)
l create-function --function-name cli-echo --runtime provided.al2023 --handler x \
  --role arn:aws:iam::000000000000:role/cli --zip-file "fileb://$work/fn.zip" >/dev/null
[ "$(l get-function --function-name cli-echo --query Configuration.State --output text)" = Active ]
l invoke --function-name cli-echo --payload '{"n":1}' "$work/out.json" >/dev/null
[ "$(cat "$work/out.json")" = '{"echo":{"n":1}}' ] || { cat "$work/out.json"; exit 1; }
[ "$(l list-functions --query 'length(Functions)')" = 1 ]
l delete-function --function-name cli-echo >/dev/null
rm -rf "$work"
echo "aws CLI check passed"
