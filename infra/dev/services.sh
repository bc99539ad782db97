#!/usr/bin/env bash
# The external services the tests need, for a dev machine or CI without Docker.
#
#   services.sh up      first make sure the command-line tools the tests call are installed (kcat,
#                       from Debian's packages), then for each service (Kafka, Apicurio Registry,
#                       Redis, ClickHouse, Toxiproxy): reuse it if its env var points at something that
#                       answers, or if one we started earlier is still running; otherwise start
#                       one. Prints only KEY=value lines on stdout (eval them); diagnostics go to
#                       stderr.
#   services.sh down    stop only what `up` started (recorded in the state file), then forget it
#   services.sh status  show what is recorded and what is running
#
# State file: $SERVICES_STATE, default <repo>/.cache/services.started, one "<service> <handle>" per
# line. `make test` uses its own state file so it never stops a broker `make services-up` started.
#
# Adding a service: write <name>_up (prints KEY=value, calls `record` only when it started
# something), <name>_down HANDLE and <name>_status, then add <name> to SERVICES. A service whose
# script has `start`, `stop PORT|URL`, `status` and `probe URL` (like redis.sh) can use script_up.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=services
STATE=${SERVICES_STATE:-$REPO/.cache/services.started}
# FILLSTREAM_SERVICES (space-separated) picks the services; by default all the tests need.
read -ra SERVICES <<<"${FILLSTREAM_SERVICES:-kafka apicurio redis clickhouse toxiproxy}"
# Command-line tools the tests call, as "<command>:<Debian package>".
TOOLS=(kcat:kcat)

record() { # once per handle: a port freed by a dead broker can be handed out again
  mkdir -p "$(dirname "$STATE")"
  grep -qxF "$1 $2" "$STATE" 2>/dev/null || echo "$1 $2" >>"$STATE"
}

# --- tools: installed with apt-get when missing ----------------------------------------------------
# Not lib.sh's apt_install: that one names only the first package in its messages.
tools_up() {
  local t cmd missing=() t0
  for t in "${TOOLS[@]}"; do
    cmd=${t%%:*}
    command -v "$cmd" >/dev/null || missing+=("${t#*:}")
  done
  (( ${#missing[@]} )) || return 0
  command -v apt-get >/dev/null || { log "missing ${missing[*]} and no apt-get to install it: install it by hand"; return 1; }
  t0=$(now_ms)
  log "installing ${missing[*]} with apt-get"
  # The package lists may be absent (a fresh image) or stale (a package moved): update, then retry.
  if ! apt_get install -y --no-install-recommends "${missing[@]}"; then
    log "apt-get install failed; running apt-get update and retrying"
    apt_get update || log "apt-get update failed"
    apt_get install -y --no-install-recommends "${missing[@]}" || { log "could not install ${missing[*]}"; return 1; }
  fi
  for t in "${TOOLS[@]}"; do
    command -v "${t%%:*}" >/dev/null || { log "${t%%:*} still missing after installing ${t#*:}"; return 1; }
  done
  log "installed ${missing[*]} in $(( ($(now_ms) - t0) / 1000 ))s"
}

# --- services run by a script with start / stop / status / probe --------------------------------
# script_up NAME VAR WHAT: print VAR=<url> for $HERE/NAME.sh's service: $VAR from the environment if
# it answers, else one the script started earlier (reused and not recorded, so only its starter
# stops it), else a new one (recorded, for `down`).
script_up() {
  local name=$1 var=$2 what=$3 script=$HERE/$1.sh line status
  local env=${!var:-}
  if [[ -n $env ]]; then
    if "$script" probe "$env" 2>/dev/null; then
      log "$name: reusing $var=$env from the environment"
      echo "$var=$env"
      return 0
    fi
    log "$name: $var=$env does not answer; starting a local $what instead"
  fi
  status=$("$script" status 2>/dev/null) || status=
  while read -r line; do
    if "$script" probe "${line#"$var"=}" 2>/dev/null </dev/null; then
      log "$name: reusing running local $what ${line#"$var"=}"
      echo "$line"
      return 0
    fi
  done < <(grep -o "$var=[^ ]*" <<<"$status" || true)
  line=$("$script" start)
  [[ $line == "$var"=* ]] || { log "$name: unexpected output from $name.sh start: $line"; return 1; }
  record "$name" "${line#"$var"=}"
  echo "$line"
}

# <name>_down HANDLE stops what `up` recorded: the printed URL (for kafka HOST:PORT; kafka.sh stop
# takes that as well as a port).
kafka_up() { script_up kafka KAFKA_BROKERS broker; }
kafka_down() { "$HERE/kafka.sh" stop "${1##*:}"; }
kafka_status() { "$HERE/kafka.sh" status || true; }

# Confluent-compatible API: SCHEMA_REGISTRY_URL=http://host:port/apis/ccompat/v7.
apicurio_up() { script_up apicurio SCHEMA_REGISTRY_URL registry; }
apicurio_down() { "$HERE/apicurio.sh" stop "$1"; }
apicurio_status() { "$HERE/apicurio.sh" status || true; }

redis_up() { script_up redis REDIS_URL server; }
redis_down() { "$HERE/redis.sh" stop "$1"; }
redis_status() { "$HERE/redis.sh" status || true; }

# CLICKHOUSE_URL is the HTTP interface.
clickhouse_up() { script_up clickhouse CLICKHOUSE_URL server; }
clickhouse_down() { "$HERE/clickhouse.sh" stop "$1"; }
clickhouse_status() { "$HERE/clickhouse.sh" status || true; }

# The fault tests' proxy (TOXIPROXY_URL is its HTTP API); the tests add and delete their own proxies.
toxiproxy_up() { script_up toxiproxy TOXIPROXY_URL server; }
toxiproxy_down() { "$HERE/toxiproxy.sh" stop "$1"; }
toxiproxy_status() { "$HERE/toxiproxy.sh" status || true; }

# --- dispatch ---------------------------------------------------------------------------------------
cmd_up() {
  local s
  tools_up
  for s in "${SERVICES[@]}"; do
    "${s}_up"
  done
}

cmd_down() {
  [[ -f $STATE ]] || { log "nothing recorded in $STATE; nothing to stop"; return 0; }
  local name handle rc=0
  # Newest first, and keep going if one fails so the others still get stopped.
  while read -r name handle; do
    [[ -n $name ]] || continue
    "${name}_down" "$handle" || { rc=$?; log "$name: stopping $handle failed"; }
  done < <(tac "$STATE")
  rm -f "$STATE"
  return "$rc"
}

cmd_status() {
  local s
  if [[ -s $STATE ]]; then
    log "started by services.sh ($STATE):"
    sed 's/^/  /' "$STATE" >&2
  fi
  for s in "${SERVICES[@]}"; do
    "${s}_status"
  done
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
