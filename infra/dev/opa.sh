#!/usr/bin/env bash
# Dev/test OPA (Open Policy Agent): the `opa` command line built from source with the Go toolchain,
# through the Go module proxy (no release downloads here). fillstream uses it to test the Rego
# compliance policies and to compile them to WebAssembly, which the risk stage evaluates in process
# (src/risk/rego.ts); OPA itself never runs as a server.
#
#   opa.sh fetch      build the pinned opa once into .cache/opa/<version>/bin/opa
#   opa.sh bin        print the path of that binary (building it first if missing)
#   opa.sh test DIR   run the Rego unit tests in DIR (`opa test -v DIR`)
#   opa.sh version    print the pinned version
#
# stdout carries only the path (bin) or opa's own output (test); messages go to stderr.
set -euo pipefail

# Keep in step with the default path in src/risk/rego-build.ts.
OPA_VERSION=v1.22.4

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=opa
HOME_DIR=$REPO/.cache/opa/$OPA_VERSION
OPA=$HOME_DIR/bin/opa

cmd_fetch() {
  [[ -x $OPA ]] && return 0
  command -v go >/dev/null || die "go not found (opa $OPA_VERSION is built from source with Go >= 1.26)"
  local t0 tmp
  t0=$(now_ms)
  log "building OPA $OPA_VERSION (github.com/open-policy-agent/opa from the Go module proxy) into $HOME_DIR"
  mkdir -p "$HOME_DIR"
  # Built next to the target and moved in last, so an interrupted build never looks complete.
  tmp=$(mktemp -d "$HOME_DIR/.bin.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now: it is a local
  trap "rm -rf '$tmp'" EXIT
  # No cgo: the default build leaves out the wasmtime runtime (only `opa eval -t wasm` needs it),
  # and `opa build -t wasm` embeds its own compiler. A tagged release carries its version in source.
  CGO_ENABLED=0 GOBIN=$tmp GOFLAGS="-trimpath -buildvcs=false" go install -ldflags "-s -w" \
    "github.com/open-policy-agent/opa@$OPA_VERSION" >"$tmp/go.log" 2>&1 \
    || { cat "$tmp/go.log" >&2; die "go install of OPA $OPA_VERSION failed"; }
  "$tmp/opa" version >/dev/null || die "the built opa does not run"
  mkdir -p "$HOME_DIR/bin"
  mv "$tmp/opa" "$OPA"
  rm -rf "$tmp"
  trap - EXIT
  log "built $("$OPA" version | head -n1) in $(secs_since "$t0")s"
}

cmd_test() {
  [[ -n ${1:-} ]] || die "usage: opa.sh test DIR"
  [[ -d $1 ]] || die "no such directory: $1"
  cmd_fetch
  "$OPA" test -v "$1"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  bin) cmd_fetch; echo "$OPA" ;;
  test) shift; cmd_test "${1:-}" ;;
  version) echo "$OPA_VERSION" ;;
  *) echo "usage: $0 fetch|bin|test DIR|version" >&2; exit 2 ;;
esac
