// Drives a running Rheo's SQS with the AWS SDK for JavaScript v3, whose SQS middleware
// recomputes MD5OfMessageBody on SendMessage, SendMessageBatch and ReceiveMessage and throws
// on a mismatch.
// Usage: node js_sqs_check.mjs http://127.0.0.1:PORT   (run with NODE_PATH holding the SDK)
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const {
  SQSClient,
  CreateQueueCommand,
  SendMessageCommand,
  SendMessageBatchCommand,
  ReceiveMessageCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
} = require("@aws-sdk/client-sqs");

const url = process.argv[2];
const client = new SQSClient({
  endpoint: url,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDCI", secretAccessKey: "secret" },
});
const fail = (m) => { console.error(m); process.exit(1); };

const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: "js-jobs" }));
const bodies = ["plain", "ünïcödé ✓", "x".repeat(100000)];
await client.send(new SendMessageCommand({
  QueueUrl,
  MessageBody: bodies[0],
  MessageAttributes: { Hello: { DataType: "String", StringValue: "There" } },
}));
await client.send(new SendMessageBatchCommand({
  QueueUrl,
  Entries: bodies.slice(1).map((b, i) => ({ Id: `e${i}`, MessageBody: b })),
}));
const got = [];
for (let i = 0; i < 10 && got.length < bodies.length; i++) {
  const r = await client.send(new ReceiveMessageCommand({
    QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"],
  }));
  got.push(...(r.Messages ?? []));
}
const received = got.map((m) => m.Body).sort();
if (JSON.stringify(received) !== JSON.stringify([...bodies].sort())) fail(`received ${received.length} bodies`);
const hello = got.find((m) => m.Body === "plain");
// The digest AWS returned for this attribute.
if (hello.MD5OfMessageAttributes !== "a311262e065454b75da111d535b8dacd") fail(`attribute digest ${hello.MD5OfMessageAttributes}`);
const del = await client.send(new DeleteMessageBatchCommand({
  QueueUrl,
  Entries: got.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
}));
if ((del.Successful ?? []).length !== bodies.length) fail("not every message was deleted");
await client.send(new DeleteQueueCommand({ QueueUrl }));
console.log("JavaScript SDK SQS check passed");
process.exit(0);
