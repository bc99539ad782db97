#!/usr/bin/env bash
# Dev/test-only ClickHouse: Debian's clickhouse-server (bookworm: 18.16.1), our own server process
# as the current user on free 127.0.0.1 ports, with a generated config and all its files in its run
# dir. Never the system instance (8123/9000/9009) the package may bring along.
#
#   clickhouse.sh start [PORT]  start a server (HTTP on PORT, else a free port; the native TCP and
#                               interserver ports are free ones too); prints
#                               CLICKHOUSE_URL=http://127.0.0.1:<http port>
#                               (if one of ours is already running and answering there, prints that one)
#   clickhouse.sh stop [PORT]   stop the servers this script started (all, or the one on PORT, URL
#                               accepted) and wait for them to exit; deletes their run dir (data too)
#   clickhouse.sh status        list running servers started by this script
#   clickhouse.sh probe URL     exit 0 if a ClickHouse server answers /ping and SELECT 1 at URL
#
# Installs clickhouse-server (and curl) with apt-get when missing. stdout carries only KEY=value
# lines (start) so callers can eval/export them; the rest goes to stderr. Run dirs:
# $CLICKHOUSE_RUN_ROOT (default .cache/run)/clickhouse-<http port>/: config.xml, users.xml, data/,
# tmp/, user_files/, format_schemas/, logs/. 18.16's config is XML with a <yandex> root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUN_ROOT=${CLICKHOUSE_RUN_ROOT:-$REPO/.cache/run}
START_TIMEOUT_S=${CLICKHOUSE_START_TIMEOUT_S:-60}

log() { echo "clickhouse.sh: $*" >&2; }
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

apt_install() {
  command -v apt-get >/dev/null || die "$* missing and no apt-get to install it: install it by hand"
  local t0
  t0=$(now_ms)
  log "installing $* with apt-get"
  # The package lists may be absent (a fresh image) or stale (a package moved): update, then retry.
  if ! apt_get -y install --no-install-recommends "$@"; then
    log "apt-get install failed; running apt-get update and retrying"
    apt_get update || log "apt-get update failed"
    apt_get -y install --no-install-recommends "$@" || die "could not install $*"
  fi
  log "installed $* in $(secs_since "$t0")s"
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

# The server binary: Debian's /usr/sbin/clickhouse-server (not on a non-root PATH), else upstream's
# single `clickhouse` binary. Fills the caller's array `server`.
find_server() {
  if command -v clickhouse-server >/dev/null; then server=(clickhouse-server)
  elif [[ -x /usr/sbin/clickhouse-server ]]; then server=(/usr/sbin/clickhouse-server)
  elif command -v clickhouse >/dev/null; then server=(clickhouse server)
  else return 1
  fi
}

# The package's postinst starts a system server where services may start (systemd, no policy-rc.d).
# We never use it; if our install is what started it, stop and disable it again.
stop_system_clickhouse() {
  local sudo=()
  (( EUID == 0 )) || sudo=(sudo -n)
  log "installing clickhouse-server started the system server on 8123; stopping and disabling it"
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now clickhouse-server >&2 2>&1 || log "could not stop the system clickhouse-server"
  else
    "${sudo[@]}" service clickhouse-server stop >&2 2>&1 || log "could not stop the system clickhouse-server"
  fi
}

ensure_installed() {
  local server=() had_8123=0
  command -v curl >/dev/null || apt_install curl
  find_server && return 0
  tcp_open 127.0.0.1 8123 && had_8123=1
  # --no-install-recommends: clickhouse-client is not needed, we talk HTTP.
  apt_install clickhouse-server
  find_server || die "clickhouse-server still missing after installing it"
  (( had_8123 )) || ! tcp_open 127.0.0.1 8123 || stop_system_clickhouse
}

# --- helpers ----------------------------------------------------------------------------------------
free_ports() { # free_ports N: N distinct free ports, bound at once then released (small race)
  node -e '
    const net = require("net");
    const n = Number(process.argv[1]), servers = [];
    const next = () => {
      if (servers.length === n) {
        console.log(servers.map((s) => s.address().port).join(" "));
        servers.forEach((s) => s.close());
        return;
      }
      const s = net.createServer().listen(0, "127.0.0.1", next);
      servers.push(s);
    };
    next();' "$1"
}

port_of() { # PORT, HOST:PORT or a URL -> PORT
  local p=${1#*://}
  p=${p%%/*}
  p=${p##*@}
  echo "${p##*:}"
}

base_of() { # a URL -> scheme://[user:pass@]host:port (the client reads a path as the database)
  local u=${1%%\?*} scheme rest
  scheme=${u%%://*}
  rest=${u#*://}
  echo "$scheme://${rest%%/*}"
}

# ready URL: /ping answers Ok. and a query runs (the users config is loaded, the user may connect).
ready_once() {
  local base reply
  base=$(base_of "$1")
  reply=$(curl -sS -m 3 "$base/ping" 2>/dev/null) || return 1
  [[ $reply == Ok.* ]] || return 1
  reply=$(curl -sS -m 5 --data-binary 'SELECT 1' "$base/" 2>/dev/null) || return 1
  [[ $reply == 1 ]]
}

# probe URL [WAIT_MS] [PID]: 0 answered; 1 not within the wait; 2 the process PID died meanwhile.
probe() {
  local url=$1 wait_ms=${2:-0} pid=${3:-0} deadline
  command -v curl >/dev/null || { log "curl not found"; return 1; }
  deadline=$(( $(now_ms) + wait_ms ))
  while :; do
    (( pid > 0 )) && ! alive "$pid" && return 2
    ready_once "$url" && return 0
    (( $(now_ms) + 100 > deadline )) && return 1
    sleep 0.1
  done
}

# pid file + a check that the pid is still our server with our config (guards against pid reuse).
run_pid() { # run_pid RUNDIR -> prints pid if that server is alive
  local dir=$1 pid
  [[ -f $dir/pid ]] || return 1
  pid=$(<"$dir/pid")
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--config-file=$dir/config.xml " || return 1
  echo "$pid"
}

running_dirs() {
  local d
  for d in "$RUN_ROOT"/clickhouse-*; do
    [[ -d $d ]] && run_pid "$d" >/dev/null && echo "$d"
  done
  return 0
}

url_of() { echo "http://127.0.0.1:${1##*/clickhouse-}"; }

write_config() { # write_config RUNDIR HTTP TCP INTERSERVER
  local run=$1
  cat >"$run/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by infra/dev/clickhouse.sh: dev/test server, deleted on stop. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$run/logs/server.log</log>
        <errorlog>$run/logs/server.err.log</errorlog>
        <size>50M</size>
        <count>2</count>
    </logger>
    <!-- Loopback only, and every port our own: a system server keeps 8123/9000/9009. -->
    <listen_host>127.0.0.1</listen_host>
    <http_port>$2</http_port>
    <tcp_port>$3</tcp_port>
    <interserver_http_port>$4</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <!-- The defaults (8 GB / 5 GB caches) are sized for a production box, not a 2-core dev one. -->
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>$run/data/</path>
    <tmp_path>$run/tmp/</tmp_path>
    <user_files_path>$run/user_files/</user_files_path>
    <format_schema_path>$run/format_schemas/</format_schema_path>
    <users_config>$run/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mlock_executable>false</mlock_executable>
    <!-- No query_log/part_log sections: no system log tables, nothing flushed in the background. -->
</yandex>
EOF
  cat >"$run/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Generated by infra/dev/clickhouse.sh: user `default`, no password, loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>1000000000</max_memory_usage>
            <max_memory_usage_for_all_queries>2000000000</max_memory_usage_for_all_queries>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <!-- Merge threads; 16 by default, 2 cores here. -->
            <background_pool_size>4</background_pool_size>
            <!-- LowCardinality is experimental in 18.16 (allowed by default in later releases). -->
            <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
}

# launch RUNDIR HTTP TCP INTERSERVER: write the config, start the server and wait until it answers.
# 0 ready; 1 not ready in time, 2 died (process gone, run dir removed, last log lines on stderr).
launch() {
  local run=$1 pid rc=0 server=()
  find_server
  rm -rf "$run"
  mkdir -p "$run"/{data,tmp,user_files,format_schemas,logs}
  write_config "$@"
  # setsid: out of the caller's process group (Ctrl-C in make doesn't hit it; `stop` does). Not
  # --daemon, so $! is the server itself and we see it die during startup.
  setsid "${server[@]}" --config-file="$run/config.xml" \
    >"$run/logs/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$run/pid"
  probe "http://127.0.0.1:$2" $((START_TIMEOUT_S * 1000)) "$pid" || rc=$?
  if (( rc != 0 )); then
    tail -n 20 "$run/logs/stdout.log" "$run/logs/server.err.log" >&2 2>/dev/null || true
    stop_dir "$run"
    return "$rc"
  fi
}

cmd_start() {
  local want=${1:-} d t0 http tcp inter attempt rc pid version
  [[ -z $want || $want =~ ^[0-9]+$ ]] || die "usage: clickhouse.sh start [PORT]"
  # Reuse a running server of ours (on PORT if given) rather than starting another.
  for d in $(running_dirs); do
    [[ -z $want || ${d##*/clickhouse-} == "$want" ]] || continue
    if probe "$(url_of "$d")"; then
      log "reusing running server (pid $(run_pid "$d"))"
      echo "CLICKHOUSE_URL=$(url_of "$d")"
      return 0
    fi
  done
  ensure_installed
  command -v node >/dev/null || die "node not found (used to pick free ports)"
  t0=$(now_ms)
  # Free ports can be taken between picking and binding: try fresh ones (HTTP too unless given).
  if [[ -n $want ]] && tcp_open 127.0.0.1 "$want"; then
    die "port $want is already in use"
  fi
  for attempt in 1 2 3 4; do
    (( attempt < 4 )) || die "server exited during startup (3 tries)"
    read -r http tcp inter < <(free_ports 3)
    if [[ -n $want ]]; then
      # The picked ports are free, and so is PORT: one of them may be PORT itself.
      [[ $want != "$tcp" && $want != "$inter" ]] || continue
      http=$want
    fi
    rc=0
    launch "$RUN_ROOT/clickhouse-$http" "$http" "$tcp" "$inter" || rc=$?
    (( rc == 0 )) && break
    (( rc == 2 )) || die "server not ready after ${START_TIMEOUT_S}s"
    log "server exited during startup; retrying on other ports"
  done
  pid=$(run_pid "$RUN_ROOT/clickhouse-$http")
  version=$(curl -sS -m 5 --data-binary 'SELECT version()' "http://127.0.0.1:$http/")
  log "ClickHouse $version ready on 127.0.0.1:$http (native :$tcp, interserver :$inter, pid $pid) in $(secs_since "$t0")s; logs: $RUN_ROOT/clickhouse-$http/logs"
  echo "CLICKHOUSE_URL=http://127.0.0.1:$http"
}

stop_dir() { # SIGTERM, SIGKILL after 20 s, wait for the exit; then delete the run dir
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
    log "stopped server pid $pid (${dir##*/})"
  fi
  rm -rf "$dir"
}

cmd_stop() {
  local d
  if [[ -n ${1:-} ]]; then
    d=$RUN_ROOT/clickhouse-$(port_of "$1")
    [[ -d $d ]] || { log "no server of ours on port $(port_of "$1")"; return 0; }
    stop_dir "$d"
    return 0
  fi
  for d in "$RUN_ROOT"/clickhouse-*; do
    [[ -d $d ]] && stop_dir "$d"
  done
  return 0
}

cmd_status() {
  local d any=0 tcp
  for d in $(running_dirs); do
    any=1
    tcp=$(sed -n 's:.*<tcp_port>\([0-9]*\)</tcp_port>.*:\1:p' "$d/config.xml")
    echo "clickhouse pid $(run_pid "$d") CLICKHOUSE_URL=$(url_of "$d") native=127.0.0.1:$tcp run=$d"
  done
  (( any )) || { echo "no clickhouse running" >&2; return 3; }
}

cmd_probe() {
  [[ -n ${1:-} ]] || die "usage: clickhouse.sh probe URL (e.g. http://127.0.0.1:8123)"
  probe "$1"
}

case ${1:-} in
  start) shift; cmd_start "${1:-}" ;;
  stop) shift; cmd_stop "${1:-}" ;;
  status) cmd_status ;;
  probe) shift; cmd_probe "${1:-}" ;;
  *) echo "usage: $0 start [PORT]|stop [PORT]|status|probe URL" >&2; exit 2 ;;
esac
