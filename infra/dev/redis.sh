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

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUN_ROOT=${REDIS_RUN_ROOT:-$REPO/.cache/run}
START_TIMEOUT_S=${REDIS_START_TIMEOUT_S:-30}
# Bounded so a runaway test fails with OOM errors instead of eating the machine (noeviction: the
# default policy, so state is never silently dropped).
REDIS_MAXMEMORY=${REDIS_MAXMEMORY:-512mb}

log() { echo "redis.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
now_ms() { date +%s%3N; }
secs_since() { local ms=$(( $(now_ms) - $1 )); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

# --- install (same approach as services.sh's tools: root or sudo -n, wait for the dpkg lock) -------
apt_get() {
  local sudo=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || { log "not root and no sudo: cannot run apt-get $1"; return 1; }
    sudo=(sudo -n)
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=120 -q "$@" >&2
}

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# A process that exited but was not reaped yet (a zombie: its parent, often pid 1 here, reaps it
# late) is gone for us; kill -0 would still say it is there.
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# The package's postinst starts a system redis on 6379 where services may start (systemd, no
# policy-rc.d). We never use it; if our install is what started it, stop and disable it again.
stop_system_redis() {
  local sudo=()
  (( EUID == 0 )) || sudo=(sudo -n)
  log "installing redis-server started the system redis on 6379; stopping and disabling it"
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now redis-server >&2 2>&1 || log "could not stop the system redis-server"
  else
    "${sudo[@]}" service redis-server stop >&2 2>&1 || log "could not stop the system redis-server"
  fi
}

ensure_installed() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  command -v apt-get >/dev/null || die "redis-server missing and no apt-get to install it: install it by hand"
  local t0 had_6379=0
  t0=$(now_ms)
  tcp_open 127.0.0.1 6379 && had_6379=1
  log "installing redis-server with apt-get"
  # The package lists may be absent (a fresh image) or stale (a package moved): update, then retry.
  if ! apt_get -y install --no-install-recommends redis-server redis-tools; then
    log "apt-get install failed; running apt-get update and retrying"
    apt_get update || log "apt-get update failed"
    apt_get -y install --no-install-recommends redis-server redis-tools || die "could not install redis-server"
  fi
  command -v redis-server >/dev/null || die "redis-server still missing after installing it"
  (( had_6379 )) || ! tcp_open 127.0.0.1 6379 || stop_system_redis
  log "installed redis-server in $(secs_since "$t0")s"
}

# --- helpers ----------------------------------------------------------------------------------------
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

port_of() { # PORT, HOST:PORT or a URL -> PORT
  local p=${1#*://}
  p=${p##*@}
  p=${p%%/*}
  echo "${p##*:}"
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
  hostport=${url#*://}
  hostport=${hostport##*@}
  hostport=${hostport%%/*}
  host=${hostport%:*}
  port=${hostport##*:}
  [[ $host != "$hostport" ]] || port=6379
  # shellcheck disable=SC2016 # expanded by the inner bash
  reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && head -c5 <&3' \
    "$host" "$port" 2>/dev/null) || return 1
  [[ $reply == +PONG ]]
}

# probe URL [WAIT_MS] [PID]: 0 answered; 1 not within the wait; 2 the process PID died meanwhile.
probe() {
  local url=$1 wait_ms=${2:-0} pid=${3:-0} deadline
  deadline=$(( $(now_ms) + wait_ms ))
  while :; do
    (( pid > 0 )) && ! alive "$pid" && return 2
    ping_once "$url" && return 0
    (( $(now_ms) + 50 > deadline )) && return 1
    sleep 0.05
  done
}

# pid file + a check that the pid is still our redis on that port (guards against pid reuse).
# redis-server rewrites its title to "redis-server 127.0.0.1:PORT".
run_pid() { # run_pid RUNDIR -> prints pid if that server is alive
  local dir=$1 pid port
  [[ -f $dir/pid ]] || return 1
  pid=$(<"$dir/pid")
  port=${dir##*/redis-}
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qE "redis-server 127\.0\.0\.1:$port( |$)" || return 1
  echo "$pid"
}

running_dirs() {
  local d
  for d in "$RUN_ROOT"/redis-*; do
    [[ -d $d ]] && run_pid "$d" >/dev/null && echo "$d"
  done
  return 0
}

url_of() { echo "redis://127.0.0.1:${1##*/redis-}"; }

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
  local want=${1:-} d t0 port pid attempt rc
  [[ -z $want || $want =~ ^[0-9]+$ ]] || die "usage: redis.sh start [PORT]"
  # Reuse a running server of ours (on PORT if given) rather than starting another.
  for d in $(running_dirs); do
    [[ -z $want || ${d##*/redis-} == "$want" ]] || continue
    if probe "$(url_of "$d")"; then
      log "reusing running redis (pid $(run_pid "$d"))"
      echo "REDIS_URL=$(url_of "$d")"
      return 0
    fi
  done
  ensure_installed
  [[ -n $want ]] || command -v node >/dev/null || die "node not found (used to pick a free port)"
  t0=$(now_ms)
  if [[ -n $want ]] && tcp_open 127.0.0.1 "$want"; then
    die "port $want is already in use"
  fi
  # A free port can be taken between picking and binding: try a fresh one (not with a given PORT).
  for attempt in 1 2 3; do
    port=${want:-$(free_port)}
    rc=0
    launch "$port" || rc=$?
    (( rc == 0 )) && break
    (( rc == 2 )) || die "redis not ready after ${START_TIMEOUT_S}s"
    if [[ -n $want ]] || (( attempt == 3 )); then die "redis exited during startup"; fi
    log "redis exited during startup; retrying on another port"
  done
  pid=$(run_pid "$RUN_ROOT/redis-$port")
  log "$(redis-server --version | cut -d' ' -f1-3) ready on 127.0.0.1:$port (pid $pid, no persistence) in $(secs_since "$t0")s; log: $RUN_ROOT/redis-$port/redis.log"
  echo "REDIS_URL=redis://127.0.0.1:$port"
}

stop_dir() { # SIGTERM (no save: persistence is off), SIGKILL after 20 s; then delete the run dir
  local dir=$1 pid i
  if pid=$(run_pid "$dir"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "pid $pid did not exit after 20s, killing"
      kill -KILL "$pid" 2>/dev/null || true
      while alive "$pid"; do sleep 0.1; done
    fi
    log "stopped redis pid $pid (${dir##*/})"
  fi
  rm -rf "$dir"
}

cmd_stop() {
  local d
  if [[ -n ${1:-} ]]; then
    d=$RUN_ROOT/redis-$(port_of "$1")
    [[ -d $d ]] || { log "no redis of ours on port $(port_of "$1")"; return 0; }
    stop_dir "$d"
    return 0
  fi
  for d in "$RUN_ROOT"/redis-*; do
    [[ -d $d ]] && stop_dir "$d"
  done
  return 0
}

cmd_status() {
  local d any=0
  for d in $(running_dirs); do
    any=1
    echo "redis pid $(run_pid "$d") REDIS_URL=$(url_of "$d") run=$d"
  done
  (( any )) || { echo "no redis running" >&2; return 3; }
}

cmd_probe() {
  [[ -n ${1:-} ]] || die "usage: redis.sh probe URL (e.g. redis://127.0.0.1:6379)"
  probe "$1"
}

case ${1:-} in
  start) shift; cmd_start "${1:-}" ;;
  stop) shift; cmd_stop "${1:-}" ;;
  status) cmd_status ;;
  probe) shift; cmd_probe "${1:-}" ;;
  *) echo "usage: $0 start [PORT]|stop [PORT]|status|probe URL" >&2; exit 2 ;;
esac
