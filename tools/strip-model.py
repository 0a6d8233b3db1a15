#!/usr/bin/env python3
"""Strips a botocore service model to what Rheo's validation reads, keeping member order.

    tools/strip-model.py ../shared/aws-models/kinesis-2013-12-02.json > crates/rheo-wire/models/kinesis.json

Kept: metadata; each operation's name, http, input, output and errors; each shape's type,
constraints (required, min, max, pattern, enum), members (shape, locationName, location,
flattened, queryName, xmlNamespace), list/map member shapes and exception flags.
Dropped: documentation, examples, context parameters. The models are Apache-2.0 (botocore).
"""
import json
import sys

SHAPE_KEYS = ("type", "required", "members", "member", "key", "value", "min", "max", "pattern",
              "enum", "exception", "fault", "error", "event", "eventstream", "streaming",
              "flattened", "timestampFormat", "sensitive", "union", "payload", "locationName",
              "xmlNamespace", "requiresLength")
MEMBER_KEYS = ("shape", "locationName", "location", "flattened", "queryName", "xmlNamespace",
               "xmlAttribute", "timestampFormat", "idempotencyToken", "eventpayload", "jsonvalue")
OP_KEYS = ("name", "http", "input", "output", "errors", "endpoint", "httpChecksum")


def pick(d, keys):
    return {k: d[k] for k in keys if k in d}


def strip(model):
    shapes = {}
    for name, shape in model["shapes"].items():
        s = pick(shape, SHAPE_KEYS)
        for k in ("member", "key", "value"):
            if k in s:
                s[k] = pick(s[k], MEMBER_KEYS)
        if "members" in s:
            s["members"] = {m: pick(v, MEMBER_KEYS) for m, v in s["members"].items()}
        shapes[name] = s
    ops = {}
    for name, op in model["operations"].items():
        o = pick(op, OP_KEYS)
        for k in ("input", "output"):
            if k in o:
                o[k] = pick(o[k], ("shape", "locationName", "xmlNamespace", "resultWrapper"))
        if "errors" in o:
            o["errors"] = [pick(e, ("shape",)) for e in o["errors"]]
        ops[name] = o
    return {"metadata": model["metadata"], "operations": ops, "shapes": shapes}


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        model = json.load(f)
    json.dump(strip(model), sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
