#!/usr/bin/env bash
# Dev/test Jaeger: the v2 `jaeger` binary (an OpenTelemetry Collector build with Jaeger's storage
# and query extensions) built from source with the Go toolchain, through the Go module proxy. It
# runs all-in-one with in-memory storage: fillstream's tracing tests send spans over OTLP and read
# them back from the query API.
#
#   jaeger.sh fetch        build the pinned jaeger once into .cache/jaeger/<version>/bin/jaeger
#   jaeger.sh bin          print the path of that binary (building it first if missing)
#   jaeger.sh version      print the pinned version
#   jaeger.sh start        start one on free 127.0.0.1 ports; prints
#                            JAEGER_OTLP_HTTP=http://127.0.0.1:<p>   (OTLP/HTTP base: POST /v1/traces)
#                            JAEGER_OTLP_GRPC=127.0.0.1:<g>          (OTLP/gRPC)
#                            JAEGER_QUERY_URL=http://127.0.0.1:<q>   (query API and UI)
#                          (if one of ours is already running and answering, prints that one)
#   jaeger.sh stop [PORT]  stop the ones this script started (all, or the one whose query port or
#                          URL is given); deletes their run dir
#   jaeger.sh status       list running ones started by this script
#   jaeger.sh probe URL    exit 0 if a Jaeger query API answers GET /api/services at URL
#
# Checked by hand (2026-12-06) against a started one: a span POSTed as OTLP JSON,
#   curl -fsS -X POST -H 'Content-Type: application/json' "$JAEGER_OTLP_HTTP/v1/traces" -d '{"resourceSpans":
#     [{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"fillstream-probe"}}]},
#     "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
#     "name":"probe","kind":1,"startTimeUnixNano":"<now ns>","endTimeUnixNano":"<now ns + 1 ms>"}]}]}]}'
#   answers {"partialSuccess":{}}; then
#     curl -fsS "$JAEGER_QUERY_URL/api/services"    -> {"data":["fillstream-probe"],...}
#     curl -fsS "$JAEGER_QUERY_URL/api/traces/5b8efff798038103d269b633813fc60c"
#                                                   -> {"data":[{"traceID":"5b8e...","spans":[{"operationName":"probe",...}]}]}
#   (the v1 JSON API: trace ids in lower-case hex, answered without leading zeros; with no batch
#   processor the span was there when queried right after the POST).
#
# stdout carries only KEY=value lines (start) or the path (bin); the rest goes to stderr. Run dirs:
# $JAEGER_RUN_ROOT (default .cache/run)/jaeger-<query port>/ with config.yaml, ports, jaeger.log and
# pid. Storage is memory only: a stop forgets every trace.
#
# Build times (2 cores, Go 1.26.8, measured 2026-12-06): 4 min 44 s with empty module and build
# caches (a new machine; about 1.3 GB of modules), 3 min 38 s with the modules downloaded and an empty
# build cache, 4 min 55 s on a machine that had built OPA, Toxiproxy and Prometheus (few modules shared).
set -euo pipefail

# The module's tag (cmd/jaeger in it is the v2 binary). Newer tags are served but not approved for us.
JAEGER_VERSION=v1.75.0

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=jaeger WHAT=jaeger URL_VAR=JAEGER_QUERY_URL STOP_TIMEOUT_S=10
HOME_DIR=$REPO/.cache/jaeger/$JAEGER_VERSION
JAEGER=$HOME_DIR/bin/jaeger
RUN_ROOT=${JAEGER_RUN_ROOT:-$REPO/.cache/run}
START_TIMEOUT_S=${JAEGER_START_TIMEOUT_S:-30}
# go.mod/go.sum pinning the module graph: jaeger's go.mod has a replace directive, which
# `go install pkg@version` refuses, so it is built as a tool of this small module (same replace).
TOOL_MODULE=$HERE/jaeger

cmd_fetch() {
  [[ -x $JAEGER ]] && return 0
  grep -q "github.com/jaegertracing/jaeger $JAEGER_VERSION" "$TOOL_MODULE/go.mod" ||
    die "$TOOL_MODULE/go.mod does not require jaeger $JAEGER_VERSION: go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION there"
  # No `ui` tag: the UI assets would have to be built with npm first; the query API is whole without.
  go_build_pinned "Jaeger $JAEGER_VERSION" "$HOME_DIR" jaeger "$JAEGER" \
    CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false -mod=readonly" go -C "$TOOL_MODULE" install \
    -ldflags "-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION" \
    github.com/jaegertracing/jaeger/cmd/jaeger
  "$JAEGER" version >/dev/null 2>&1 || { rm -f "$JAEGER"; die "the built jaeger does not run"; }
}

services_once() { # services_once URL: 0 if the query API answers GET URL/api/services
  command -v curl >/dev/null || { log "curl not found"; return 1; }
  curl -fsS -m 3 "${1%/}/api/services" 2>/dev/null | grep -q '"data"'
}

# probe URL [WAIT_MS] [PID]: 0 answered; 1 not within the wait; 2 the process PID died meanwhile.
probe() { poll services_once "$1" "${2:-0}" "${3:-0}" 100; }

# Ours: the command line names the config in the run dir (named by the query port).
our_cmdline() { grep -qF -- "--config $1/config.yaml"; }
url_of() { echo "http://127.0.0.1:${1##*/jaeger-}"; }
env_of() { # env_of RUNDIR: the KEY=value lines of the instance in RUNDIR
  local otlp_http otlp_grpc _
  read -r _ otlp_http otlp_grpc _ <"$1/ports"
  echo "JAEGER_OTLP_HTTP=http://127.0.0.1:$otlp_http"
  echo "JAEGER_OTLP_GRPC=127.0.0.1:$otlp_grpc"
  echo "JAEGER_QUERY_URL=$(url_of "$1")"
}
status_line() { echo "jaeger $JAEGER_VERSION pid $2 $(env_of "$1" | tr '\n' ' ')run=$1"; }

write_config() { # write_config FILE QUERY_HTTP OTLP_HTTP OTLP_GRPC QUERY_GRPC
  # Only what a test needs: OTLP in, memory storage, the query API; no remote sampling, health
  # check, zpages or expvar extensions, and no self-metrics endpoint (fixed ports in the defaults).
  cat >"$1" <<EOF
# Written by infra/dev/jaeger.sh start; deleted with its run dir.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    # Off: it would trace the query service itself into the same store.
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:$2
    grpc:
      endpoint: 127.0.0.1:$5

receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:$3
      grpc:
        endpoint: 127.0.0.1:$4

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

# launch QUERY_PORT: start one with its query API on QUERY_PORT and three more free ports; wait for
# the query API. 0 ready (prints nothing); 1 not ready in time, 2 died (run dir removed, last log
# lines on stderr).
launch() {
  local port=$1 run pid rc=0 otlp_http otlp_grpc query_grpc
  read -r otlp_http otlp_grpc query_grpc <<<"$(free_ports 3)"
  run=$RUN_ROOT/jaeger-$port
  rm -rf "$run"
  mkdir -p "$run"
  write_config "$run/config.yaml" "$port" "$otlp_http" "$otlp_grpc" "$query_grpc"
  echo "$port $otlp_http $otlp_grpc $query_grpc" >"$run/ports"
  # setsid: out of the caller's process group (Ctrl-C in make doesn't hit it; `stop` does).
  setsid "$JAEGER" --config "$run/config.yaml" >"$run/jaeger.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$run/pid"
  probe "http://127.0.0.1:$port" $((START_TIMEOUT_S * 1000)) "$pid" || rc=$?
  if ((rc == 0)) && ! tcp_open 127.0.0.1 "$otlp_http"; then
    log "query API up but nothing on the OTLP/HTTP port $otlp_http"
    rc=1
  fi
  if ((rc != 0)); then
    tail -n 20 "$run/jaeger.log" >&2 2>/dev/null || true
    stop_dir "$run"
    return "$rc"
  fi
}

cmd_start() {
  local t0 port d
  [[ $# -eq 0 ]] || die "usage: jaeger.sh start"
  # Reuse a running one of ours rather than starting another.
  for d in $(running_dirs); do
    if probe "$(url_of "$d")"; then
      log "reusing running jaeger (pid $(run_pid "$d"))"
      env_of "$d"
      return 0
    fi
  done
  cmd_fetch
  t0=$(now_ms)
  launch_one_port "" jaeger
  port=$LAUNCHED_PORT
  log "Jaeger $JAEGER_VERSION ready (pid $(run_pid "$RUN_ROOT/jaeger-$port")) in $(secs_since "$t0")s; log: $RUN_ROOT/jaeger-$port/jaeger.log"
  env_of "$RUN_ROOT/jaeger-$port"
}

cmd_probe() {
  [[ -n ${1:-} ]] || die "usage: jaeger.sh probe URL (e.g. http://127.0.0.1:16686)"
  probe "$1"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  bin) cmd_fetch; echo "$JAEGER" ;;
  version) echo "$JAEGER_VERSION" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; stop_ours "${1:-}" ;;
  status) status_ours jaeger ;;
  probe) shift; cmd_probe "${1:-}" ;;
  *) echo "usage: $0 fetch|bin|version|start|stop [PORT]|status|probe URL" >&2; exit 2 ;;
esac
