#!/usr/bin/env bash
# Dev/test Prometheus: promtool and the server built from source with the Go toolchain, through the
# Go module proxy (no release downloads here). `make test` checks and unit-tests the alert rules
# (infra/prometheus/) with promtool; a test that wants a real server scraping fillstream and
# evaluating those rules starts one with `start` and reads its HTTP API (/api/v1/...).
#
#   prometheus.sh fetch [promtool|prometheus]  build both (or the one named) once into
#                                        .cache/prometheus/<version>/bin/
#   prometheus.sh bin promtool|prometheus print the binary's path (building it first if missing)
#   prometheus.sh promtool ARGS...       run promtool, e.g. `promtool test rules FILE`
#   prometheus.sh version                print the pinned version
#   prometheus.sh start --scrape HOST:PORT[,HOST:PORT...] [--rules FILE]... [--interval 1s] [--job NAME]
#                                        start a server on a free 127.0.0.1 port that scrapes those
#                                        targets (job NAME, default fillstream) and evaluates FILE
#                                        every interval; prints
#                                          PROMETHEUS_URL=http://127.0.0.1:<port>
#                                          PROMETHEUS_PID=<pid>
#                                          PROMETHEUS_RUN_DIR=<its run dir>
#   prometheus.sh stop [PORT|URL|RUN_DIR] stop the servers this script started (all, or that one);
#                                        deletes their run dir
#   prometheus.sh status                 list running servers started by this script
#   prometheus.sh probe URL              exit 0 if a Prometheus answers GET /-/ready at URL
#
# Each start is a new server (no reuse: its targets and rules are its own) in
# $PROMETHEUS_RUN_ROOT (default .cache/run)/prometheus-<port>/: prometheus.yml, data/ (the TSDB),
# prometheus.log, pid. stdout carries only KEY=value lines (start), paths (bin) or promtool's output.
#
# Build times (2 cores, Go 1.26.8, -tags remove_all_sd, measured 2026-12-06); each binary is built
# only when asked for, so `make test` pays for promtool alone:
#   promtool, empty module and build caches (a new machine):    3 min 51 s
#   promtool, modules downloaded, empty build cache:            2 min 58 s
#   promtool, on a machine that had built OPA and Toxiproxy:       89 s
#   prometheus, empty caches:                                   2 min 45 s
#   prometheus after promtool (caches shared):                  53 s to 2 min 25 s
# Without remove_all_sd a cold promtool took 9 min 09 s (every cloud service discovery's SDK).
set -euo pipefail

# Prometheus 3.16.0; its Go module numbers v3.X.Y as v0.3XX.Y.
PROMETHEUS_VERSION=v3.16.0
PROMETHEUS_MODULE_VERSION=v0.316.0

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=prometheus WHAT=prometheus URL_VAR=PROMETHEUS_URL STOP_TIMEOUT_S=15
HOME_DIR=$REPO/.cache/prometheus/$PROMETHEUS_VERSION
RUN_ROOT=${PROMETHEUS_RUN_ROOT:-$REPO/.cache/run}
START_TIMEOUT_S=${PROMETHEUS_START_TIMEOUT_S:-30}

# build_one promtool|prometheus
build_one() {
  local bin=$HOME_DIR/bin/$1
  [[ -x $bin ]] && return 0
  # remove_all_sd: only the file and HTTP service discoveries (static targets need none); promtool
  # still links Kubernetes' client, which it imports itself. No builtinassets: that tag wants the
  # web UI built with npm first; without it the UI pages are missing and the HTTP API is whole.
  # The version goes in as the release build sets it (the module version would read v0.316.0).
  go_build_pinned "$1 $PROMETHEUS_VERSION" "$HOME_DIR" "$1" "$bin" \
    CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" go install -tags remove_all_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION#v}" \
    "github.com/prometheus/prometheus/cmd/$1@$PROMETHEUS_MODULE_VERSION"
  "$bin" --version >/dev/null 2>&1 || { rm -f "$bin"; die "the built $1 does not run"; }
}

cmd_fetch() {
  case ${1:-all} in
    promtool | prometheus) build_one "$1" ;;
    all) build_one promtool; build_one prometheus ;;
    *) die "usage: prometheus.sh fetch [promtool|prometheus]" ;;
  esac
}

cmd_bin() {
  [[ ${1:-} == promtool || ${1:-} == prometheus ]] || die "usage: prometheus.sh bin promtool|prometheus"
  build_one "$1"
  echo "$HOME_DIR/bin/$1"
}

ready_once() { # ready_once URL: 0 if GET URL/-/ready answers 200 (after the TSDB and rules are loaded)
  command -v curl >/dev/null || { log "curl not found"; return 1; }
  curl -fsS -m 3 "${1%/}/-/ready" >/dev/null 2>&1
}

# probe URL [WAIT_MS] [PID]: 0 answered; 1 not within the wait; 2 the process PID died meanwhile.
probe() { poll ready_once "$1" "${2:-0}" "${3:-0}" 100; }

# Ours: the server keeps its command line, which names the config in its run dir.
our_cmdline() { grep -qF -- "--config.file=$1/prometheus.yml"; }
url_of() { echo "http://127.0.0.1:${1##*/prometheus-}"; }
status_line() { echo "prometheus $PROMETHEUS_VERSION pid $2 PROMETHEUS_URL=$(url_of "$1") run=$1"; }

# Set by cmd_start, read by launch: the scrape targets (array), rule files (absolute), interval, job.
TARGETS=() RULES=() INTERVAL=1s JOB=fillstream

write_config() { # write_config FILE
  local t r
  {
    echo "# Written by infra/dev/prometheus.sh start; deleted with its run dir."
    echo "global:"
    # The timeout may not exceed the interval, and its default (10s) would.
    echo "  scrape_interval: $INTERVAL"
    echo "  scrape_timeout: $INTERVAL"
    echo "  evaluation_interval: $INTERVAL"
    echo "rule_files:"
    if ((${#RULES[@]} == 0)); then echo "  []"; fi
    for r in "${RULES[@]}"; do echo "  - '$r'"; done
    echo "scrape_configs:"
    echo "  - job_name: '$JOB'"
    echo "    static_configs:"
    echo "      - targets:"
    for t in "${TARGETS[@]}"; do echo "          - '$t'"; done
  } >"$1"
}

# launch PORT: start the server on PORT and wait until it is ready. 0 ready (prints nothing); 1 not
# ready in time, 2 died (process gone, run dir removed, last log lines on stderr).
launch() {
  local port=$1 run pid rc=0
  run=$RUN_ROOT/prometheus-$port
  rm -rf "$run"
  mkdir -p "$run/data"
  write_config "$run/prometheus.yml"
  # setsid: out of the caller's process group (Ctrl-C in make doesn't hit it; `stop` does). A day
  # of retention is plenty for a test. The (hidden) discovery reload interval is 5s by default, so
  # the first scrape, and the first alert, came about 6 s after ready; with 100ms, about 1.5 s.
  setsid "$HOME_DIR/bin/prometheus" \
    --config.file="$run/prometheus.yml" \
    --storage.tsdb.path="$run/data" \
    --storage.tsdb.retention.time=1d \
    --scrape.discovery-reload-interval=100ms \
    --web.listen-address="127.0.0.1:$port" \
    --log.level=info >"$run/prometheus.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$run/pid"
  probe "http://127.0.0.1:$port" $((START_TIMEOUT_S * 1000)) "$pid" || rc=$?
  if ((rc != 0)); then
    tail -n 20 "$run/prometheus.log" >&2 2>/dev/null || true
    stop_dir "$run"
    return "$rc"
  fi
}

cmd_start() {
  local t0 port pid scrape='' r
  while (($#)); do
    case $1 in
      --scrape) scrape=${2:?--scrape HOST:PORT[,HOST:PORT...]}; shift 2 ;;
      --rules) r=${2:?--rules FILE}; [[ -f $r ]] || die "no such rules file: $r"; RULES+=("$(cd "$(dirname "$r")" && pwd)/$(basename "$r")"); shift 2 ;;
      --interval) INTERVAL=${2:?--interval DURATION}; shift 2 ;;
      --job) JOB=${2:?--job NAME}; shift 2 ;;
      *) die "usage: prometheus.sh start --scrape HOST:PORT[,HOST:PORT...] [--rules FILE]... [--interval 1s] [--job NAME]" ;;
    esac
  done
  [[ -n $scrape ]] || die "start needs --scrape HOST:PORT[,HOST:PORT...]"
  IFS=, read -r -a TARGETS <<<"$scrape"
  [[ $INTERVAL =~ ^[0-9]+(ms|s|m)$ ]] || die "--interval $INTERVAL: use e.g. 500ms, 1s, 15s"
  # A broken rules file would only show as a dead server; promtool says what is wrong.
  build_one promtool
  for r in "${RULES[@]}"; do "$HOME_DIR/bin/promtool" check rules "$r" >&2 || die "promtool check rules $r failed"; done
  build_one prometheus
  t0=$(now_ms)
  launch_one_port "" prometheus
  port=$LAUNCHED_PORT
  pid=$(run_pid "$RUN_ROOT/prometheus-$port")
  log "Prometheus $PROMETHEUS_VERSION ready on 127.0.0.1:$port (pid $pid) in $(secs_since "$t0")s, scraping ${TARGETS[*]} every $INTERVAL; log: $RUN_ROOT/prometheus-$port/prometheus.log"
  echo "PROMETHEUS_URL=http://127.0.0.1:$port"
  echo "PROMETHEUS_PID=$pid"
  echo "PROMETHEUS_RUN_DIR=$RUN_ROOT/prometheus-$port"
}

cmd_stop() {
  # A run dir as printed by start, else what stop_ours takes (nothing, a port or a URL).
  if [[ -n ${1:-} && -d $1 && $(basename "$1") == prometheus-* ]]; then
    stop_dir "$(cd "$1" && pwd)"
  else
    stop_ours "${1:-}"
  fi
}

cmd_probe() {
  [[ -n ${1:-} ]] || die "usage: prometheus.sh probe URL (e.g. http://127.0.0.1:9090)"
  probe "$1"
}

case ${1:-} in
  fetch) shift; cmd_fetch "${1:-all}" ;;
  bin) shift; cmd_bin "${1:-}" ;;
  promtool) shift; build_one promtool; exec "$HOME_DIR/bin/promtool" "$@" ;;
  version) echo "$PROMETHEUS_VERSION" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "${1:-}" ;;
  status) status_ours prometheus ;;
  probe) shift; cmd_probe "${1:-}" ;;
  *) echo "usage: $0 fetch [promtool|prometheus]|bin promtool|prometheus|promtool ARGS...|version|start --scrape HOST:PORT[,...] [--rules FILE] [--interval 1s]|stop [PORT|URL|RUN_DIR]|status|probe URL" >&2; exit 2 ;;
esac
