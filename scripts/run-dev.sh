#!/usr/bin/env bash
# Serve the portal on 127.0.0.1:5000 with a mail worker beside it; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
FLASK=".venv/bin/flask --app portal"
$FLASK mail-worker &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
echo "Development mailbox: http://127.0.0.1:5000/dev/mail"
$FLASK run --host 127.0.0.1 --port 5000
