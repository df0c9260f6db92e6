#!/usr/bin/env bash
# The Debian packages the test suite needs beside Python and Node: chromium (the browser tests),
# poppler-utils (pdfsig checks the PDF signatures) and postgresql-client (pg_dump reads the database in
# the canary test on PostgreSQL; pg_isready). Run as root with apt-get, it installs whatever is missing;
# otherwise it stops at once with the one command to run. `make test` and `make test-postgres` call it first.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdfsig >/dev/null 2>&1 || need+=(poppler-utils)
command -v pg_dump >/dev/null 2>&1 || need+=(postgresql-client)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need[*]} with apt-get for the tests." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  exit 0
fi
echo "The tests need the Debian packages ${need[*]}. Run:" >&2
echo "  sudo apt-get install -y ${need[*]}" >&2
exit 1
