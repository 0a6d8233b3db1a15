// Drives a running Rheo with the AWS SDK for JavaScript v3, the one installable client that
// speaks HTTP/2 cleartext (h2c) to Kinesis for SubscribeToShard.
// Usage: node js_check.mjs http://127.0.0.1:PORT   (run with NODE_PATH holding the SDK)
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordCommand,
  RegisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  SubscribeToShardCommand,
  DeleteStreamCommand,
} = require("@aws-sdk/client-kinesis");

const url = process.argv[2];
const client = new KinesisClient({
  endpoint: url,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDCI", secretAccessKey: "secret" },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fail = (m) => { console.error(m); process.exit(1); };

await client.send(new CreateStreamCommand({ StreamName: "js", ShardCount: 1 }));
let summary;
for (let i = 0; i < 100; i++) {
  summary = (await client.send(new DescribeStreamSummaryCommand({ StreamName: "js" }))).StreamDescriptionSummary;
  if (summary.StreamStatus === "ACTIVE") break;
  await sleep(100);
}
const data = new Uint8Array([0, 1, 2, 250, 255]);
const put = await client.send(new PutRecordCommand({ StreamName: "js", PartitionKey: "k", Data: data }));
const { Consumer } = await client.send(
  new RegisterStreamConsumerCommand({ StreamARN: summary.StreamARN, ConsumerName: "js-app" }),
);
for (let i = 0; i < 100; i++) {
  const d = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }));
  if (d.ConsumerDescription.ConsumerStatus === "ACTIVE") break;
  await sleep(100);
}
const sub = await client.send(
  new SubscribeToShardCommand({
    ConsumerARN: Consumer.ConsumerARN,
    ShardId: put.ShardId,
    StartingPosition: { Type: "TRIM_HORIZON" },
  }),
);
let got;
for await (const event of sub.EventStream) {
  const records = event.SubscribeToShardEvent?.Records ?? [];
  if (records.length > 0) {
    got = records[0];
    break;
  }
}
if (!got) fail("no record arrived");
if (Buffer.compare(Buffer.from(got.Data), Buffer.from(data)) !== 0) fail(`data differs: ${got.Data}`);
if (got.SequenceNumber !== put.SequenceNumber) fail("sequence number differs");
await client.send(new DeleteStreamCommand({ StreamName: "js", EnforceConsumerDeletion: true }));
console.log("JavaScript SDK check passed");
process.exit(0);
