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
  # No cgo: the default build leaves out the wasmtime runtime (only `opa eval -t wasm` needs it),
  # and `opa build -t wasm` embeds its own compiler. A tagged release carries its version in source.
  go_build_pinned "OPA $OPA_VERSION" "$HOME_DIR" opa "$OPA" \
    CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" go install -ldflags "-s -w" "github.com/open-policy-agent/opa@$OPA_VERSION"
  "$OPA" version >/dev/null || { rm -f "$OPA"; die "the built opa does not run"; }
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
