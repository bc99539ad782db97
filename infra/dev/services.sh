#!/usr/bin/env bash
# The external services the tests need, for a dev machine or CI without Docker.
#
#   services.sh up      first make sure the command-line tools the tests call are installed (kcat,
#                       from Debian's packages), then for each service (Kafka, Apicurio Registry,
#                       Redis, ClickHouse): reuse it if its env var points at something that
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

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
STATE=${SERVICES_STATE:-$REPO/.cache/services.started}
# FILLSTREAM_SERVICES (space-separated) picks the services; by default all the tests need.
read -ra SERVICES <<<"${FILLSTREAM_SERVICES:-kafka apicurio redis clickhouse}"
# Command-line tools the tests call, as "<command>:<Debian package>".
TOOLS=(kcat:kcat)

log() { echo "services.sh: $*" >&2; }
record() { # once per handle: a port freed by a dead broker can be handed out again
  mkdir -p "$(dirname "$STATE")"
  grep -qxF "$1 $2" "$STATE" 2>/dev/null || echo "$1 $2" >>"$STATE"
}

now_ms() { date +%s%3N; }

# --- tools: installed with apt-get when missing ----------------------------------------------------
# Only stderr: `up`'s stdout is eval'd. Waits for the dpkg lock rather than failing on a parallel run.
apt_install() {
  local sudo=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || { log "not root and no sudo: cannot apt-get install $*"; return 1; }
    sudo=(sudo -n)
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=120 -y -q install \
    --no-install-recommends "$@" >&2
}

apt_update() {
  local sudo=()
  (( EUID == 0 )) || sudo=(sudo -n)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=120 -q update >&2
}

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
  if ! apt_install "${missing[@]}"; then
    log "apt-get install failed; running apt-get update and retrying"
    apt_update || log "apt-get update failed"
    apt_install "${missing[@]}" || { log "could not install ${missing[*]}"; return 1; }
  fi
  for t in "${TOOLS[@]}"; do
    command -v "${t%%:*}" >/dev/null || { log "${t%%:*} still missing after installing ${t#*:}"; return 1; }
  done
  log "installed ${missing[*]} in $(( ($(now_ms) - t0) / 1000 ))s"
}

# --- kafka: KAFKA_BROKERS=host:port[,host:port...] ------------------------------------------------
kafka_up() {
  local line
  if [[ -n ${KAFKA_BROKERS:-} ]]; then
    if "$HERE/kafka.sh" probe "$KAFKA_BROKERS" 2>/dev/null; then
      log "kafka: reusing KAFKA_BROKERS=$KAFKA_BROKERS from the environment"
      echo "KAFKA_BROKERS=$KAFKA_BROKERS"
      return 0
    fi
    log "kafka: KAFKA_BROKERS=$KAFKA_BROKERS does not answer; starting a local broker instead"
  fi
  # A broker kafka.sh started earlier (by `make services-up`, another `up`, or by hand) is reused
  # and not recorded, so only its starter stops it. The check is the same one `kafka.sh start`
  # does; done here so we know whether to record.
  local status
  status=$("$HERE/kafka.sh" status 2>/dev/null) || status=
  while read -r line; do
    if "$HERE/kafka.sh" probe "${line#KAFKA_BROKERS=}" 2>/dev/null </dev/null; then
      log "kafka: reusing running local broker ${line#KAFKA_BROKERS=}"
      echo "$line"
      return 0
    fi
  done < <(grep -o 'KAFKA_BROKERS=[^ ]*' <<<"$status" || true)
  line=$("$HERE/kafka.sh" start)
  [[ $line == KAFKA_BROKERS=* ]] || { log "kafka: unexpected output from kafka.sh start: $line"; return 1; }
  record kafka "${line#KAFKA_BROKERS=}"
  echo "$line"
}

kafka_down() { # HANDLE = 127.0.0.1:PORT
  "$HERE/kafka.sh" stop "${1##*:}"
}

kafka_status() {
  "$HERE/kafka.sh" status || true
}

# --- apicurio: SCHEMA_REGISTRY_URL=http://host:port/apis/ccompat/v7 (Confluent-compatible API) -----
apicurio_up() {
  local line status
  if [[ -n ${SCHEMA_REGISTRY_URL:-} ]]; then
    if "$HERE/apicurio.sh" probe "$SCHEMA_REGISTRY_URL" 2>/dev/null; then
      log "apicurio: reusing SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL from the environment"
      echo "SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL"
      return 0
    fi
    log "apicurio: SCHEMA_REGISTRY_URL=$SCHEMA_REGISTRY_URL does not answer; starting a local registry instead"
  fi
  # As for Kafka: one that apicurio.sh started earlier is reused and not recorded.
  status=$("$HERE/apicurio.sh" status 2>/dev/null) || status=
  while read -r line; do
    if "$HERE/apicurio.sh" probe "${line#SCHEMA_REGISTRY_URL=}" 2>/dev/null </dev/null; then
      log "apicurio: reusing running local registry ${line#SCHEMA_REGISTRY_URL=}"
      echo "$line"
      return 0
    fi
  done < <(grep -o 'SCHEMA_REGISTRY_URL=[^ ]*' <<<"$status" || true)
  line=$("$HERE/apicurio.sh" start)
  [[ $line == SCHEMA_REGISTRY_URL=* ]] || { log "apicurio: unexpected output from apicurio.sh start: $line"; return 1; }
  record apicurio "${line#SCHEMA_REGISTRY_URL=}"
  echo "$line"
}

apicurio_down() { # HANDLE = the URL
  "$HERE/apicurio.sh" stop "$1"
}

apicurio_status() {
  "$HERE/apicurio.sh" status || true
}

# --- services run by a script with start / stop / status / probe (redis.sh, clickhouse.sh) --------
# script_up NAME VAR WHAT: the same steps as apicurio_up, for $HERE/NAME.sh printing VAR=URL.
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
  # One that the script started earlier is reused and not recorded, so only its starter stops it.
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

# --- redis: REDIS_URL=redis://host:port --------------------------------------------------------------
redis_up() { script_up redis REDIS_URL server; }
redis_down() { "$HERE/redis.sh" stop "$1"; } # HANDLE = the URL
redis_status() { "$HERE/redis.sh" status || true; }

# --- clickhouse: CLICKHOUSE_URL=http://host:port (the HTTP interface) ------------------------------
clickhouse_up() { script_up clickhouse CLICKHOUSE_URL server; }
clickhouse_down() { "$HERE/clickhouse.sh" stop "$1"; } # HANDLE = the URL
clickhouse_status() { "$HERE/clickhouse.sh" status || true; }

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
