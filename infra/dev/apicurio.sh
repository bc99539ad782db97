#!/usr/bin/env bash
# Dev/test-only schema registry: Apicurio Registry from Maven Central, in-memory storage (H2 in
# memory, the default), with its Confluent-compatible API at /apis/ccompat/v7.
#
#   apicurio.sh fetch            download and unpack the registry into .cache/apicurio/<version> (idempotent)
#   apicurio.sh start            start one on a free 127.0.0.1 port; prints SCHEMA_REGISTRY_URL=...
#                                (if one of ours is already running and answering, prints that one)
#   apicurio.sh stop [PORT]      stop the registries this script started (all, or the one on PORT)
#   apicurio.sh status           list running registries started by this script
#   apicurio.sh probe URL        exit 0 if a Confluent-compatible registry answers at URL
#
# Version: 3.0.9, the newest 3.x that runs on the JDK 17 here. Maven Central has
# io.apicurio:apicurio-registry-app:<v>:tar.gz:all (the Quarkus distribution; no -runner.jar
# artifact on its own). 3.0.9's is a runner jar plus lib/; 3.3.x's is a fast-jar compiled for
# Java 21 (class file 65), which JDK 17 refuses (UnsupportedClassVersionError) and Debian bookworm
# has no JDK 21.
#
# stdout carries only KEY=value lines (start) so callers can eval/export them; the rest goes to
# stderr. State is in memory: a stop or restart forgets every schema.
set -euo pipefail

APICURIO_VERSION=3.0.9
# dependency:get of plugin 2.8 on purpose: 3.x reads the artifact's descriptor first, and
# 3.0.9's parent pom (io.apicurio:apicurio-registry:3.0.9) is not on Maven Central, so 3.x fails;
# 2.8 with transitive=false just downloads the file. (-Ddest is deprecated there, but works.)
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:2.8

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=apicurio WHAT=registry URL_VAR=SCHEMA_REGISTRY_URL STOP_TIMEOUT_S=15
CACHE=$REPO/.cache
HOME_DIR=$CACHE/apicurio/$APICURIO_VERSION
DIST=$HOME_DIR/dist
RUN_ROOT=${APICURIO_RUN_ROOT:-$CACHE/run}
START_TIMEOUT_S=${APICURIO_START_TIMEOUT_S:-120}
APICURIO_HEAP_OPTS=${APICURIO_HEAP_OPTS:--Xms64m -Xmx384m}
CCOMPAT=/apis/ccompat/v7

cmd_fetch() {
  [[ -f $DIST/.complete ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (Maven fetches Apicurio Registry from Maven Central)"
  local t0 tmp tarball
  t0=$(now_ms)
  log "fetching Apicurio Registry $APICURIO_VERSION from Maven Central into $DIST"
  mkdir -p "$HOME_DIR"
  tmp=$(mktemp -d "$HOME_DIR/.dist.XXXXXX")
  chmod 755 "$tmp"
  # shellcheck disable=SC2064 # expand $tmp now: it is a local
  trap "rm -rf '$tmp'" EXIT
  mvn -B -Dstyle.color=never "$DEPENDENCY_PLUGIN:get" \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -Dtransitive=false -Ddest="$tmp/" >"$HOME_DIR/mvn.log" 2>&1 \
    || { grep -E 'ERROR' "$HOME_DIR/mvn.log" >&2; die "mvn could not fetch Apicurio Registry $APICURIO_VERSION"; }
  tarball=$tmp/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz
  tar xzf "$tarball" -C "$tmp"
  rm -f "$tarball"
  [[ -f $tmp/apicurio-registry-app-$APICURIO_VERSION-runner.jar ]] || die "no runner jar in the distribution"
  touch "$tmp/.complete"
  rm -rf "$DIST"
  mv "$tmp" "$DIST"
  trap - EXIT
  log "fetched $(du -sh "$DIST" | cut -f1) in $(secs_since "$t0")s"
}

# probe URL [WAIT_MS] [PID]: 0 answered; 1 not within the wait; 2 the process PID died meanwhile.
# A real ccompat call (GET /subjects answers [] on an empty registry), through node's fetch.
probe() {
  node -e '
    const [url, waitMs, pid] = [process.argv[1], Number(process.argv[2] ?? 0), Number(process.argv[3] ?? 0)];
    const deadline = Date.now() + waitMs;
    const alive = () => { try { process.kill(pid, 0); return true; } catch { return false; } };
    (async () => {
      for (;;) {
        if (pid > 0 && !alive()) process.exit(2);
        try {
          const r = await fetch(url.replace(/\/$/, "") + "/subjects", { signal: AbortSignal.timeout(3000) });
          if (r.ok && Array.isArray(await r.json())) process.exit(0);
        } catch {}
        if (Date.now() + 250 > deadline) process.exit(1);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();' "$@"
}

# Ours: the rundir property set at start names this run dir.
our_cmdline() { grep -qF -- "-Dapicurio.dev.rundir=$1 "; }
url_of() { echo "http://127.0.0.1:${1##*/apicurio-}$CCOMPAT"; }
status_line() { echo "apicurio $APICURIO_VERSION pid $2 SCHEMA_REGISTRY_URL=$(url_of "$1") run=$1"; }

cmd_start() {
  reuse_running '' && return 0 # on any port
  cmd_fetch
  command -v java >/dev/null || die "java not found (a JDK 17+ is needed)"
  command -v node >/dev/null || die "node not found (used to pick a free port and to probe)"
  local t0 port run pid heap
  t0=$(now_ms)
  port=$(free_ports 1)
  run=$RUN_ROOT/apicurio-$port
  rm -rf "$run"
  mkdir -p "$run"
  read -ra heap <<<"$APICURIO_HEAP_OPTS"
  # C1 only: starts faster on 2 cores, and a test registry never runs long enough for C2 to pay.
  # The rundir property only marks the process as ours (see our_cmdline).
  setsid java "${heap[@]}" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dapicurio.dev.rundir="$run" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
    -Dquarkus.http.access-log.enabled=false \
    -Djava.io.tmpdir="$run" \
    -jar "$DIST/apicurio-registry-app-$APICURIO_VERSION-runner.jar" \
    >"$run/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$run/pid"
  local rc=0
  probe "$(url_of "$run")" $((START_TIMEOUT_S * 1000)) "$pid" || rc=$?
  if (( rc != 0 )); then
    tail -n 40 "$run/stdout.log" >&2 || true
    stop_dir "$run"
    (( rc == 2 )) && die "registry exited during startup"
    die "registry not ready after ${START_TIMEOUT_S}s"
  fi
  log "Apicurio Registry $APICURIO_VERSION ready on 127.0.0.1:$port (pid $pid, in-memory) in $(secs_since "$t0")s; log: $run/stdout.log"
  echo "SCHEMA_REGISTRY_URL=$(url_of "$run")"
}

cmd_probe() {
  [[ -n ${1:-} ]] || die "usage: apicurio.sh probe URL (e.g. http://127.0.0.1:8081$CCOMPAT)"
  probe "$1"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) shift; stop_ours "${1:-}" ;;
  status) status_ours registry ;;
  probe) shift; cmd_probe "${1:-}" ;;
  *) echo "usage: $0 fetch|start|stop [PORT]|status|probe URL" >&2; exit 2 ;;
esac
