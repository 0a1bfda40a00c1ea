#!/usr/bin/env bash
# Install the system packages Switchyard needs, when they are missing and we may (root + apt-get).
#   no arguments: java (17+) and mvn, for the local Kafka broker fetched from Maven Central;
#   `chromium`: Debian's Chromium, for the builder UI's browser tests.
# Anyone else gets one line saying what to install.
set -euo pipefail
missing=()
if [ $# -eq 0 ]; then
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
else
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "switchyard needs: ${missing[*]} (e.g. sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
