#!/usr/bin/env bash
# Dev/test-only Redis: Debian's redis-server (bookworm: 7.0.15), our own process on a free
# 127.0.0.1 port, in memory only. Never the system instance on 6379 the package may bring along.
#
#   redis.sh start [PORT]   start a server (on PORT, else a free port); prints REDIS_URL=redis://127.0.0.1:<port>
#                           (if one of ours is already running and answering there, prints that one)
#   redis.sh stop [PORT]    stop the servers this script started (all, or the one on PORT, URL accepted);
#                           deletes their run dir
#   redis.sh status         list running servers started by this script
#   redis.sh probe URL      exit 0 if a Redis server answers PING at URL (redis://[:pass@]host:port[/db])
#
# Installs redis-server (which brings redis-cli) with apt-get when it is missing. stdout carries only
# KEY=value lines (start) so callers can eval/export them; the rest goes to stderr. Run dirs:
# $REDIS_RUN_ROOT (default .cache/run)/redis-<port>/ with redis.log and pid. No persistence: a stop
# forgets every key.
set -euo pipefail

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=redis WHAT=redis URL_VAR=REDIS_URL STOP_TIMEOUT_S=20
RUN_ROOT=${REDIS_RUN_ROOT:-$REPO/.cache/run}
START_TIMEOUT_S=${REDIS_START_TIMEOUT_S:-30}
# Bounded so a runaway test fails with OOM errors instead of eating the machine (noeviction: the
# default policy, so state is never silently dropped).
REDIS_MAXMEMORY=${REDIS_MAXMEMORY:-512mb}

ensure_installed() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  local had_6379=0
  tcp_open 127.0.0.1 6379 && had_6379=1
  apt_install redis-server redis-tools
  command -v redis-server >/dev/null || die "redis-server still missing after installing it"
  # The package may start a system redis on 6379; we never use it.
  (( had_6379 )) || ! tcp_open 127.0.0.1 6379 || stop_system_service redis-server "the system redis on 6379"
}

# ping URL: one PING, prints nothing; 0 if the answer is PONG. redis-cli understands passwords and
# db numbers in the URL; without it (a probe before install) plain host:port through bash.
ping_once() {
  local url=$1 hostport host port reply
  if command -v redis-cli >/dev/null; then
    reply=$(timeout 3 redis-cli --no-auth-warning -u "$url" PING 2>/dev/null) || return 1
    [[ $reply == PONG ]]
    return
  fi
  hostport=$(hostport_of "$url")
  host=${hostport%:*}
  port=${hostport##*:}
  [[ $host != "$hostport" ]] || port=6379
  # shellcheck disable=SC2016 # expanded by the inner bash
  reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && head -c5 <&3' \
    "$host" "$port" 2>/dev/null) || return 1
  [[ $reply == +PONG ]]
}

# probe URL [WAIT_MS] [PID]: 0 answered; 1 not within the wait; 2 the process PID died meanwhile.
probe() { poll ping_once "$1" "${2:-0}" "${3:-0}" 50; }

# redis-server rewrites its title to "redis-server 127.0.0.1:PORT".
our_cmdline() { grep -qE "redis-server 127\.0\.0\.1:${1##*/redis-}( |$)"; }
url_of() { echo "redis://127.0.0.1:${1##*/redis-}"; }
status_line() { echo "redis pid $2 REDIS_URL=$(url_of "$1") run=$1"; }

# launch PORT: start redis-server on PORT and wait for PING. 0 ready (prints nothing); 1 not ready
# in time, 2 died (process gone, run dir removed, last log lines on stderr).
launch() {
  local port=$1 run pid rc=0
  run=$RUN_ROOT/redis-$port
  rm -rf "$run"
  mkdir -p "$run"
  # Everything on the command line: the package's /etc/redis/redis.conf is the system instance's.
  # In the foreground under setsid (not --daemonize) so $! is the server itself and we can see it
  # die during startup; setsid takes it out of the caller's process group (Ctrl-C in make).
  setsid redis-server --bind 127.0.0.1 --port "$port" --dir "$run" \
    --save '' --appendonly no --maxmemory "$REDIS_MAXMEMORY" \
    --daemonize no --supervised no --logfile "$run/redis.log" --loglevel notice \
    >"$run/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$run/pid"
  probe "redis://127.0.0.1:$port" $((START_TIMEOUT_S * 1000)) "$pid" || rc=$?
  if (( rc != 0 )); then
    tail -n 20 "$run/stdout.log" "$run/redis.log" >&2 2>/dev/null || true
    stop_dir "$run"
    return "$rc"
  fi
}

cmd_start() {
  local want=${1:-} t0 port pid
  [[ -z $want || $want =~ ^[0-9]+$ ]] || die "usage: redis.sh start [PORT]"
  # Reuse a running server of ours (on PORT if given) rather than starting another.
  reuse_running "$want" && return 0
  ensure_installed
  t0=$(now_ms)
  launch_one_port "$want" redis
  port=$LAUNCHED_PORT
  pid=$(run_pid "$RUN_ROOT/redis-$port")
  log "$(redis-server --version | cut -d' ' -f1-3) ready on 127.0.0.1:$port (pid $pid, no persistence) in $(secs_since "$t0")s; log: $RUN_ROOT/redis-$port/redis.log"
  echo "REDIS_URL=redis://127.0.0.1:$port"
}

cmd_probe() {
  [[ -n ${1:-} ]] || die "usage: redis.sh probe URL (e.g. redis://127.0.0.1:6379)"
  probe "$1"
}

case ${1:-} in
  start) shift; cmd_start "${1:-}" ;;
  stop) shift; stop_ours "${1:-}" ;;
  status) status_ours redis ;;
  probe) shift; cmd_probe "${1:-}" ;;
  *) echo "usage: $0 start [PORT]|stop [PORT]|status|probe URL" >&2; exit 2 ;;
esac
