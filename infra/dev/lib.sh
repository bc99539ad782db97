# shellcheck shell=bash
# Helpers shared by the dev-service scripts in infra/dev/; sourced, not run. A script sources it,
# then sets:
#   NAME            log prefix (NAME.sh:) and run dirs: $RUN_ROOT/NAME-<port>
#   RUN_ROOT        where its run dirs are
#   WHAT            what it runs, in messages ("stopped broker pid ...")
#   URL_VAR         the KEY of the KEY=value line `start` prints
#   STOP_TIMEOUT_S  how long a stop waits after SIGTERM before SIGKILL
# and defines the hooks the run-dir helpers call:
#   our_cmdline RUNDIR        0 if the command line on stdin is RUNDIR's process (pid reuse guard)
#   url_of RUNDIR             the URL of the instance in RUNDIR
#   status_line RUNDIR PID    its line in `status`
#   probe URL                 0 if an instance answers at URL now
# services.sh only sets NAME: it uses the general helpers, not the run-dir ones.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # for the sourcing scripts
REPO=$(cd "$HERE/../.." && pwd)

log() { echo "$NAME.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
now_ms() { date +%s%3N; }
secs_between() { local ms=$(( $2 - $1 )); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
secs_since() { secs_between "$1" "$(now_ms)"; }

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# go_build_pinned WHAT HOME_DIR BUILT TARGET [VAR=value ...] go install ARGS...: builds a pinned
# tool from the Go module proxy next to TARGET and moves it in last, so an interrupted build never
# looks complete. BUILT is the binary's name as `go install` writes it into GOBIN.
go_build_pinned() {
  local what=$1 home=$2 built=$3 target=$4 t0 tmp
  shift 4
  command -v go >/dev/null || die "go not found ($what is built from source with Go)"
  t0=$(now_ms)
  log "building $what from the Go module proxy into $home"
  mkdir -p "$home"
  tmp=$(mktemp -d "$home/.bin.XXXXXX")
  # shellcheck disable=SC2064 # expand $tmp now: it is a local
  trap "rm -rf '$tmp'" EXIT
  env GOBIN="$tmp" "$@" >"$tmp/go.log" 2>&1 || { cat "$tmp/go.log" >&2; die "go install of $what failed"; }
  mkdir -p "$(dirname "$target")"
  mv "$tmp/$built" "$target"
  rm -rf "$tmp"
  trap - EXIT
  log "built $what in $(secs_since "$t0")s"
}

# A process that exited but was not reaped yet (a zombie: its parent, often pid 1 here, reaps it
# late) is gone for us; kill -0 would still say it is there.
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

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

# Path before credentials: a path may hold an '@', credentials can't hold an unescaped '/'.
hostport_of() { # PORT, HOST:PORT or a URL -> what's between scheme:// and the path
  local p=${1#*://}
  p=${p%%/*}
  echo "${p##*@}"
}

port_of() { local p; p=$(hostport_of "$1"); echo "${p##*:}"; }

# poll CHECK URL WAIT_MS PID STEP_MS: run `CHECK URL` every STEP_MS until it succeeds. 0 it did;
# 1 not within WAIT_MS; 2 the process PID (if > 0) died meanwhile.
poll() {
  local check=$1 url=$2 wait_ms=$3 pid=$4 step_ms=$5 deadline
  deadline=$(( $(now_ms) + wait_ms ))
  while :; do
    (( pid > 0 )) && ! alive "$pid" && return 2
    "$check" "$url" && return 0
    (( $(now_ms) + step_ms > deadline )) && return 1
    sleep "$(printf '%d.%03d' $((step_ms / 1000)) $((step_ms % 1000)))"
  done
}

# --- install: root or sudo -n, waiting for the dpkg lock rather than failing on a parallel run -----
# Only stderr: callers' stdout is eval'd.
apt_get() {
  local sudo=()
  if (( EUID != 0 )); then
    command -v sudo >/dev/null || { log "not root and no sudo: cannot run apt-get $1"; return 1; }
    sudo=(sudo -n)
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=120 -q "$@" >&2
}

# apt_install PKG [COMPANION...]: install them (messages name PKG only); dies if that fails.
apt_install() {
  command -v apt-get >/dev/null || die "$1 missing and no apt-get to install it: install it by hand"
  local t0
  t0=$(now_ms)
  log "installing $1 with apt-get"
  # The package lists may be absent (a fresh image) or stale (a package moved): update, then retry.
  if ! apt_get install -y --no-install-recommends "$@"; then
    log "apt-get install failed; running apt-get update and retrying"
    apt_get update || log "apt-get update failed"
    apt_get install -y --no-install-recommends "$@" || die "could not install $1"
  fi
  log "installed $1 in $(secs_since "$t0")s"
}

# stop_system_service UNIT DESCRIPTION: Debian postinsts start the packaged service where services
# may start (systemd, no policy-rc.d). We never use it; callers stop it only if their install did.
stop_system_service() {
  local sudo=()
  (( EUID == 0 )) || sudo=(sudo -n)
  log "installing $1 started $2; stopping and disabling it"
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    "${sudo[@]}" systemctl disable --now "$1" >&2 2>&1 || log "could not stop the system $1"
  else
    "${sudo[@]}" service "$1" stop >&2 2>&1 || log "could not stop the system $1"
  fi
}

# --- run dirs: $RUN_ROOT/NAME-<port>/ with a pid file ------------------------------------------------
run_pid() { # run_pid RUNDIR -> prints the pid if that process is alive and still ours
  local dir=$1 pid
  [[ -f $dir/pid ]] || return 1
  pid=$(<"$dir/pid")
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | our_cmdline "$dir" || return 1
  echo "$pid"
}

running_dirs() {
  local d
  for d in "$RUN_ROOT/$NAME"-*; do
    [[ -d $d ]] && run_pid "$d" >/dev/null && echo "$d"
  done
  return 0
}

# What reuse_running asks; kafka.sh redefines it (no probe JVM for a closed port).
answers() { probe "$1"; }

# reuse_running [PORT]: if one of ours (on PORT if given) runs and answers, print URL_VAR=<its url>.
reuse_running() {
  local d
  for d in $(running_dirs); do
    [[ -z ${1:-} || ${d##*/"$NAME"-} == "$1" ]] || continue
    if answers "$(url_of "$d")"; then
      log "reusing running $WHAT (pid $(run_pid "$d"))"
      echo "$URL_VAR=$(url_of "$d")"
      return 0
    fi
  done
  return 1
}

kill_pid() { # kill_pid PID: SIGTERM, SIGKILL after STOP_TIMEOUT_S; returns once it is gone
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "pid $pid did not exit after ${STOP_TIMEOUT_S}s, killing"
  kill -KILL "$pid" 2>/dev/null || true
  while alive "$pid"; do sleep 0.1; done
}

stop_dir() { # stop_dir RUNDIR: stop its process if it is running, then delete the run dir
  local dir=$1 pid
  if pid=$(run_pid "$dir"); then
    kill_pid "$pid"
    log "stopped $WHAT pid $pid (${dir##*/})"
  fi
  rm -rf "$dir"
}

stop_ours() { # stop_ours [PORT|HOST:PORT|URL]: the one on that port, else all of ours
  local d
  if [[ -n ${1:-} ]]; then
    d=$RUN_ROOT/$NAME-$(port_of "$1")
    [[ -d $d ]] || { log "no $WHAT of ours on port $(port_of "$1")"; return 0; }
    stop_dir "$d"
    return 0
  fi
  for d in "$RUN_ROOT/$NAME"-*; do
    [[ -d $d ]] && stop_dir "$d"
  done
  return 0
}

status_ours() { # status_ours NOUN: status_line per running one; 3 and "no NOUN running" if none
  local d any=0
  for d in $(running_dirs); do
    any=1
    status_line "$d" "$(run_pid "$d")"
  done
  (( any )) || { echo "no $1 running" >&2; return 3; }
}

# launch_one_port WANT WHAT: run the script's `launch PORT` on WANT, or on a free port when none is
# wanted, trying a fresh one up to 3 times (a free port can be taken between picking and binding).
# `launch` returns 2 when the server exited during startup. Sets LAUNCHED_PORT (no subshell: the
# server launch starts must not hold a command substitution's pipe open).
launch_one_port() {
  local want=$1 what=$2 attempt rc
  [[ -n $want ]] || command -v node >/dev/null || die "node not found (used to pick a free port)"
  if [[ -n $want ]] && tcp_open 127.0.0.1 "$want"; then
    die "port $want is already in use"
  fi
  for attempt in 1 2 3; do
    LAUNCHED_PORT=${want:-$(free_ports 1)}
    rc=0
    launch "$LAUNCHED_PORT" || rc=$?
    (( rc == 0 )) && return 0
    (( rc == 2 )) || die "$what not ready after ${START_TIMEOUT_S}s"
    if [[ -n $want ]] || (( attempt == 3 )); then die "$what exited during startup"; fi
    log "$what exited during startup; retrying on another port"
  done
}
