#!/usr/bin/env bash
# Installs the npm dependencies exactly as locked, once: npm start and npm test call this first so
# that a fresh clone needs no other step. Reinstalls when package-lock.json changes.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.radstream-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "radstream: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
# The services run compiled (bin/radstream.js falls back to the sources when they are newer).
node scripts/build.mjs
