#!/usr/bin/env bash
# Dev/test-only Toxiproxy (Shopify's TCP proxy that injects faults on command): the server built
# from source with the Go toolchain, through the Go module proxy (no Docker here, and the only
# network is the package registries). The fault tests (test/faults/) put it between fillstream
# and Kafka, Redis and ClickHouse; each test creates and deletes its own proxies over the HTTP API.
#
#   toxiproxy.sh fetch        build the pinned server once into .cache/toxiproxy/<version>/bin
#   toxiproxy.sh start [PORT] start a server (API on PORT, else a free port); prints
#                             TOXIPROXY_URL=http://127.0.0.1:<port>
#                             (if one of ours is already running and answering there, prints that one)
#   toxiproxy.sh stop [PORT]  stop the servers this script started (all, or the one on PORT, URL
#                             accepted); deletes their run dir
#   toxiproxy.sh status       list running servers started by this script
#   toxiproxy.sh probe URL    exit 0 if a Toxiproxy server answers GET /version at URL
#
# stdout carries only KEY=value lines (start) so callers can eval/export them; the rest goes to
# stderr. Run dirs: $TOXIPROXY_RUN_ROOT (default .cache/run)/toxiproxy-<port>/ with toxiproxy.log
# and pid. The server keeps its proxies in memory only: a stop forgets them.
set -euo pipefail

# The newest v2 release that builds with the Go here (1.26).
TOXIPROXY_VERSION=v2.12.0

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=toxiproxy WHAT=toxiproxy URL_VAR=TOXIPROXY_URL STOP_TIMEOUT_S=10
HOME_DIR=$REPO/.cache/toxiproxy/$TOXIPROXY_VERSION
SERVER=$HOME_DIR/bin/toxiproxy-server
RUN_ROOT=${TOXIPROXY_RUN_ROOT:-$REPO/.cache/run}
START_TIMEOUT_S=${TOXIPROXY_START_TIMEOUT_S:-20}

cmd_fetch() {
  [[ -x $SERVER ]] && return 0
  # The version goes in as its release build sets it; a plain `go install` reports "git".
  go_build_pinned "Toxiproxy $TOXIPROXY_VERSION" "$HOME_DIR" server "$SERVER" \
    GOFLAGS=-buildvcs=false go install -ldflags "-s -w -X github.com/Shopify/toxiproxy/v2.Version=$TOXIPROXY_VERSION" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
}

version_once() { # version_once URL: 0 if GET URL/version answers (any Toxiproxy answers with its version)
  command -v curl >/dev/null || { log "curl not found"; return 1; }
  curl -fsS -m 3 "${1%/}/version" >/dev/null 2>&1
}

# probe URL [WAIT_MS] [PID]: 0 answered; 1 not within the wait; 2 the process PID died meanwhile.
probe() { poll version_once "$1" "${2:-0}" "${3:-0}" 50; }

# Ours: the command line names this API port (the server does not rewrite its title).
our_cmdline() { grep -qE -- "toxiproxy-server -host 127\.0\.0\.1 -port ${1##*/toxiproxy-}( |$)"; }
url_of() { echo "http://127.0.0.1:${1##*/toxiproxy-}"; }
status_line() { echo "toxiproxy $TOXIPROXY_VERSION pid $2 TOXIPROXY_URL=$(url_of "$1") run=$1"; }

# launch PORT: start the server on PORT and wait for its API. 0 ready (prints nothing); 1 not ready
# in time, 2 died (process gone, run dir removed, last log lines on stderr).
launch() {
  local port=$1 run pid rc=0
  run=$RUN_ROOT/toxiproxy-$port
  rm -rf "$run"
  mkdir -p "$run"
  # setsid: out of the caller's process group (Ctrl-C in make doesn't hit it; `stop` does). Its
  # log (JSON lines: every proxy and toxic added or removed) goes to the run dir.
  setsid "$SERVER" -host 127.0.0.1 -port "$port" >"$run/toxiproxy.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$run/pid"
  probe "http://127.0.0.1:$port" $((START_TIMEOUT_S * 1000)) "$pid" || rc=$?
  if (( rc != 0 )); then
    tail -n 20 "$run/toxiproxy.log" >&2 2>/dev/null || true
    stop_dir "$run"
    return "$rc"
  fi
}

cmd_start() {
  local want=${1:-} t0 port pid
  [[ -z $want || $want =~ ^[0-9]+$ ]] || die "usage: toxiproxy.sh start [PORT]"
  # Reuse a running server of ours (on PORT if given) rather than starting another.
  reuse_running "$want" && return 0
  cmd_fetch
  t0=$(now_ms)
  launch_one_port "$want" toxiproxy
  port=$LAUNCHED_PORT
  pid=$(run_pid "$RUN_ROOT/toxiproxy-$port")
  log "Toxiproxy $TOXIPROXY_VERSION ready on 127.0.0.1:$port (pid $pid) in $(secs_since "$t0")s; log: $RUN_ROOT/toxiproxy-$port/toxiproxy.log"
  echo "TOXIPROXY_URL=http://127.0.0.1:$port"
}

cmd_probe() {
  [[ -n ${1:-} ]] || die "usage: toxiproxy.sh probe URL (e.g. http://127.0.0.1:8474)"
  probe "$1"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  start) shift; cmd_start "${1:-}" ;;
  stop) shift; stop_ours "${1:-}" ;;
  status) status_ours toxiproxy ;;
  probe) shift; cmd_probe "${1:-}" ;;
  *) echo "usage: $0 fetch|start [PORT]|stop [PORT]|status|probe URL" >&2; exit 2 ;;
esac
