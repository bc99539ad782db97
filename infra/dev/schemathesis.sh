#!/usr/bin/env bash
# Dev/test schemathesis (PyPI): fuzzes an HTTP API from its OpenAPI document and checks every
# response against it. Installed once into a virtualenv under .cache; the API test runs it against
# a live `fillstream serve`.
#
#   schemathesis.sh fetch     create .cache/schemathesis/<version>/ with the pinned release
#   schemathesis.sh bin       print the path of its `st` command (installing it first if missing)
#   schemathesis.sh run ARGS  run `st run ARGS`
#
# stdout carries only the path (bin) or schemathesis' own output (run); messages go to stderr.
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=schemathesis
HOME_DIR=$REPO/.cache/schemathesis/$SCHEMATHESIS_VERSION
ST=$HOME_DIR/venv/bin/st

cmd_fetch() {
  [[ -x $ST ]] && return 0
  command -v python3 >/dev/null || die "python3 not found (schemathesis is a Python tool)"
  local t0 tmp
  t0=$(now_ms)
  log "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $HOME_DIR"
  mkdir -p "$HOME_DIR"
  # Built aside and moved in last: an interrupted install never looks complete.
  tmp=$(mktemp -d "$HOME_DIR/.venv.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now
  trap "rm -rf '$tmp'" EXIT
  python3 -m venv "$tmp" >&2
  "$tmp/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2 || die "pip install of schemathesis failed"
  rm -rf "$HOME_DIR/venv"
  mv "$tmp" "$HOME_DIR/venv"
  # A venv's scripts name its own path: fix them after the move.
  sed -i "1s|^#!.*python.*$|#!$HOME_DIR/venv/bin/python3|" "$HOME_DIR"/venv/bin/st "$HOME_DIR"/venv/bin/schemathesis 2>/dev/null || true
  sed -i "s|$tmp|$HOME_DIR/venv|g" "$HOME_DIR/venv/bin/activate" "$HOME_DIR/venv/pyvenv.cfg" 2>/dev/null || true
  trap - EXIT
  "$ST" --version >/dev/null || die "the installed schemathesis does not run"
  log "installed schemathesis in $(secs_since "$t0")s"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  bin) cmd_fetch && echo "$ST" ;;
  run) shift && cmd_fetch && exec "$ST" run "$@" ;;
  *) die "usage: schemathesis.sh fetch | bin | run ARGS" ;;
esac
