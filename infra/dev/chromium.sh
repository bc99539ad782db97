#!/usr/bin/env bash
# Dev/test Chromium for the operator page's browser test: Debian's `chromium` package, installed
# with apt when missing (root), driven headless by puppeteer-core from the test.
#
#   chromium.sh bin    print the path of the chromium binary (installing the package first if missing)
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=chromium

cmd_bin() {
  local bin
  bin=$(command -v chromium || command -v chromium-browser || true)
  if [[ -z $bin ]]; then
    [[ $(id -u) == 0 ]] || die "chromium is not installed and this is not root: apt-get install chromium"
    log "installing Debian's chromium package (apt)"
    local t0
    t0=$(now_ms)
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >&2 || die "apt-get install chromium failed"
    log "installed chromium in $(secs_since "$t0")s"
    bin=$(command -v chromium) || die "chromium still not found after installing it"
  fi
  echo "$bin"
}

case ${1:-} in
  bin) cmd_bin ;;
  *) die "usage: chromium.sh bin" ;;
esac
