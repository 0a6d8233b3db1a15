#!/usr/bin/env bash
# Extracts the last query-protocol SQS model botocore shipped (1.34.89, Apache-2.0) into $1/sqs/2012-11-05/service-2.json.
# With AWS_DATA_PATH=$1, current boto3 (and aws CLI v1) speak the query protocol (form posts, XML) to SQS, as older SDKs do.
set -euo pipefail
dest=${1:?usage: $0 DEST_DIR}
tmp=$(mktemp -d)
pip download --no-deps --quiet botocore==1.34.89 -d "$tmp"
mkdir -p "$dest/sqs/2012-11-05"
python3 - "$tmp"/botocore-1.34.89-py3-none-any.whl "$dest/sqs/2012-11-05/service-2.json" <<'PY'
import sys, zipfile, gzip, json
z = zipfile.ZipFile(sys.argv[1])
data = gzip.decompress(z.read('botocore/data/sqs/2012-11-05/service-2.json.gz'))
assert json.loads(data)['metadata']['protocol'] == 'query'
open(sys.argv[2], 'wb').write(data)
PY
rm -rf "$tmp"
echo "wrote $dest/sqs/2012-11-05/service-2.json"
