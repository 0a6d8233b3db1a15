// Drives a running Rheo's buckets with the AWS SDK for JavaScript v3 (which sends CRC32
// checksums in an aws-chunked trailer and validates them on reads): put, get, head, a
// listing, multipart, delete.
// Usage: node js_s3_check.mjs http://127.0.0.1:PORT   (run with NODE_PATH holding the SDK)
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand,
  ListObjectsV2Command, CreateMultipartUploadCommand, UploadPartCommand,
  CompleteMultipartUploadCommand, DeleteObjectCommand, DeleteBucketCommand,
} = require("@aws-sdk/client-s3");

const url = process.argv[2];
const client = new S3Client({
  endpoint: url,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: "AKIDCI", secretAccessKey: "secret" },
});
const fail = (m) => { console.error(m); process.exit(1); };

await client.send(new CreateBucketCommand({ Bucket: "js-bucket" }));
const body = "hello from javascript ✓";
await client.send(new PutObjectCommand({ Bucket: "js-bucket", Key: "dir/a.txt", Body: body, ContentType: "text/plain" }));
const got = await client.send(new GetObjectCommand({ Bucket: "js-bucket", Key: "dir/a.txt", ChecksumMode: "ENABLED" }));
const text = await got.Body.transformToString();
if (text !== body || got.ContentType !== "text/plain") fail(`read back ${text} ${got.ContentType}`);
const head = await client.send(new HeadObjectCommand({ Bucket: "js-bucket", Key: "dir/a.txt" }));
if (head.ContentLength !== Buffer.byteLength(body)) fail(`length ${head.ContentLength}`);
const parts = [Buffer.alloc(5 * 1024 * 1024, 7), Buffer.from("tail")];
const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: "js-bucket", Key: "multi.bin" }));
const done = [];
for (const [i, p] of parts.entries()) {
  const r = await client.send(new UploadPartCommand({ Bucket: "js-bucket", Key: "multi.bin", UploadId, PartNumber: i + 1, Body: p }));
  done.push({ PartNumber: i + 1, ETag: r.ETag });
}
const c = await client.send(new CompleteMultipartUploadCommand({ Bucket: "js-bucket", Key: "multi.bin", UploadId, MultipartUpload: { Parts: done } }));
if (!c.ETag.endsWith('-2"')) fail(`multipart ETag ${c.ETag}`);
const list = await client.send(new ListObjectsV2Command({ Bucket: "js-bucket" }));
const keys = (list.Contents ?? []).map((o) => o.Key);
if (JSON.stringify(keys) !== JSON.stringify(["dir/a.txt", "multi.bin"])) fail(`listed ${keys}`);
for (const k of keys) await client.send(new DeleteObjectCommand({ Bucket: "js-bucket", Key: k }));
await client.send(new DeleteBucketCommand({ Bucket: "js-bucket" }));
console.log("js s3 check passed");
