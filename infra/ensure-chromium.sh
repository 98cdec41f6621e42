#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (a test tool's own browser download cannot work
# here). Install it when it is missing and we may; otherwise say so: those tests then skip
# with the same message.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "note: chromium is not installed (apt-get install chromium); the browser tests will be skipped" >&2
fi
