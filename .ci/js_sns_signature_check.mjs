// Verifies the signatures of SNS envelopes Rheo delivered (written by sns_check.py) with
// AWS's own message validator (npm sns-validator, from aws/aws-js-sns-message-validator): it
// fetches each SigningCertURL over HTTPS and checks SHA1withRSA (version 1) or SHA256withRSA
// (version 2). Its host pattern is AWS's by default; here it is the local server.
//
// Usage: NODE_EXTRA_CA_CERTS=cert.pem node js_sns_signature_check.mjs ENVELOPES.json
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const MessageValidator = require("sns-validator");
const envelopes = JSON.parse(readFileSync(process.argv[2], "utf8"));
const validator = new MessageValidator(/^127\.0\.0\.1:\d+$/);
const validate = (m) => new Promise((ok, fail) => validator.validate(m, (e, v) => (e ? fail(e) : ok(v))));

for (const m of envelopes) {
  await validate(m);
  // A changed message must fail.
  let refused = false;
  await validate({ ...m, Message: m.Message + "!" }).catch(() => (refused = true));
  if (!refused) throw new Error("a tampered message passed validation");
}
if (envelopes.length !== 4) throw new Error(`expected 4 envelopes, got ${envelopes.length}`);
console.log(`sns-validator verified ${envelopes.length} signed messages (versions 1 and 2)`);
