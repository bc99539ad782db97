#!/usr/bin/env bash
# Dev/test-only single-node Kafka: KRaft, one JVM acting as broker and controller, built from the
# jars on Maven Central (no Docker here, and the only network is the package registries).
#
#   kafka.sh fetch            download the jars into .cache/kafka/<version>/lib (idempotent)
#   kafka.sh start            start a broker on free local ports; prints KAFKA_BROKERS=127.0.0.1:<port>
#                             (if one of ours is already running and answering, prints that one)
#   kafka.sh stop [PORT]      stop the broker(s) this script started (all, or the one on PORT);
#                             deletes their run dir (config, data, logs)
#   kafka.sh restart PORT     stop the broker on PORT gracefully and start it again on the same
#                             broker/controller ports and data dir (topics, offsets, transactions
#                             survive); returns once it is ready again, prints KAFKA_BROKERS=...
#   kafka.sh status           list running brokers started by this script
#   kafka.sh probe HOST:PORT  exit 0 if a Kafka broker answers a metadata request there
#
# stdout carries only KEY=value lines (start, restart) so callers can eval/export them; the rest goes
# to stderr. KAFKA_RUN_ROOT (default .cache/run) holds the run dirs: a broker under another root is
# invisible to this script's reuse, status and stop, e.g. a private broker for a disruptive test.
#
# KAFKA_ADVERTISED_PORT (start only): clients are told to connect to 127.0.0.1:<that port> instead
# of the broker's own listener, e.g. a proxy in front of it (test/faults/). The broker's own traffic
# (transaction markers to itself) and the readiness probe then use a third, internal listener, so
# they never go through the proxy; start also prints KAFKA_INTERNAL_BROKERS=127.0.0.1:<its port>
# and never reuses a running broker. Unset (the default): one client listener, as before.
set -euo pipefail

# Keep in step with <kafka.version> in kafka/pom.xml (passed to Maven explicitly anyway).
KAFKA_VERSION=4.3.1

# shellcheck source=lib.sh source-path=SCRIPTDIR disable=SC1091 # followed with -x
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck disable=SC2034 # read by lib.sh
NAME=kafka WHAT=broker URL_VAR=KAFKA_BROKERS STOP_TIMEOUT_S=15
CACHE=$REPO/.cache
KAFKA_HOME=$CACHE/kafka/$KAFKA_VERSION
LIB=$KAFKA_HOME/lib
RUN_ROOT=${KAFKA_RUN_ROOT:-$CACHE/run}
START_TIMEOUT_S=${KAFKA_START_TIMEOUT_S:-90}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}

# The probe is a tiny Admin-client program compiled against the fetched kafka-clients, so the
# readiness check is a real metadata round trip with the broker's own client, independent of the
# app's client library and of whether node_modules exists.
write_probe_source() {
  cat >"$1" <<'JAVA'
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.errors.TransactionalIdNotFoundException;

// KafkaProbe BOOTSTRAP [--wait-ms N] [--pid PID] [--warm]
// exit 0: a broker answered; 1: not within the wait; 2: the process PID died meanwhile.
public class KafkaProbe {
  public static void main(String[] args) throws Exception {
    long waitMs = 0;
    long pid = -1;
    boolean warm = false;
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--wait-ms": waitMs = Long.parseLong(args[++i]); break;
        case "--pid": pid = Long.parseLong(args[++i]); break;
        case "--warm": warm = true; break;
        default: throw new IllegalArgumentException(args[i]);
      }
    }
    long deadline = System.currentTimeMillis() + waitMs;
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
    p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    p.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "50");
    // One JVM and one client for the whole wait: a JVM start per attempt would cost ~1 s each.
    try (Admin admin = Admin.create(p)) {
      while (true) {
        if (pid > 0 && ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true)) System.exit(2);
        try {
          check(admin, warm);
          System.exit(0);
        } catch (Exception e) {
          if (System.currentTimeMillis() + 200 > deadline) {
            System.err.println("probe failed: " + e);
            System.exit(1);
          }
          Thread.sleep(200);
        }
      }
    }
  }

  static void check(Admin admin, boolean warm) throws Exception {
    DescribeClusterResult r = admin.describeCluster();
    r.clusterId().get(5, TimeUnit.SECONDS);
    // Metadata without a live node (broker not yet registered/unfenced) is not usable yet.
    if (r.nodes().get(5, TimeUnit.SECONDS).isEmpty()) throw new IllegalStateException("no nodes");
    admin.listTopics().names().get(5, TimeUnit.SECONDS);
    if (!warm) return;
    // Look up a group and a transactional id once so the broker creates and loads
    // __consumer_offsets and __transaction_state now, not in the first test that needs them.
    admin.listConsumerGroupOffsets("kafka-sh-warmup").partitionsToOffsetAndMetadata()
        .get(20, TimeUnit.SECONDS);
    try {
      admin.describeTransactions(List.of("kafka-sh-warmup")).all().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TransactionalIdNotFoundException)) throw e;
    }
  }
}
JAVA
}

cmd_fetch() {
  [[ -f $LIB/.complete ]] || fetch_jars
  build_probe
}

fetch_jars() {
  command -v mvn >/dev/null || die "mvn not found (Maven fetches Kafka from Maven Central)"
  local t0 tmp
  t0=$(now_ms)
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIB"
  # Download next to the target and rename, so an interrupted fetch never looks complete.
  mkdir -p "$KAFKA_HOME"
  tmp=$(mktemp -d "$KAFKA_HOME/.lib.XXXXXX")
  chmod 755 "$tmp"
  # shellcheck disable=SC2064 # expand $tmp now: it is a local
  trap "rm -rf '$tmp'" EXIT
  # Maven's output only matters when it fails.
  mvn -B -Dstyle.color=never -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$tmp" >"$KAFKA_HOME/mvn.log" 2>&1 \
    || { grep -E 'ERROR|WARN' "$KAFKA_HOME/mvn.log" >&2; die "mvn could not fetch Kafka $KAFKA_VERSION"; }
  touch "$tmp/.complete"
  rm -rf "$LIB"
  mv "$tmp" "$LIB"
  trap - EXIT
  log "fetched $(find "$LIB" -name '*.jar' | wc -l) jars ($(du -sh "$LIB" | cut -f1)) in $(secs_since "$t0")s"
}

# Recompiled only when the source embedded above changes (or the class is missing).
build_probe() {
  local dir=$KAFKA_HOME/probe src
  src=$(mktemp)
  write_probe_source "$src"
  if [[ -f $dir/KafkaProbe.class ]] && cmp -s "$src" "$dir/KafkaProbe.java"; then
    rm -f "$src"
    return 0
  fi
  command -v javac >/dev/null || die "javac not found (a JDK 17+ is needed)"
  rm -rf "$dir"
  mkdir -p "$dir"
  mv "$src" "$dir/KafkaProbe.java"
  javac -nowarn -cp "$LIB/*" -d "$dir" "$dir/KafkaProbe.java" >&2
}

probe() { # probe HOST:PORT [--wait-ms N] [--pid PID] [--warm]; see KafkaProbe above
  # C1 only: a short-lived client starts faster; the client's own logging is switched off.
  java -Xmx64m -XX:TieredStopAtLevel=1 -Dlog4j2.level=OFF -cp "$KAFKA_HOME/probe:$LIB/*" \
    KafkaProbe "$@"
}

# Ours: the command line names this run dir's config.
our_cmdline() { grep -qF "$1/server.properties"; }
url_of() { echo "127.0.0.1:${1##*/kafka-}"; }
status_line() { echo "kafka $KAFKA_VERSION pid $2 KAFKA_BROKERS=$(url_of "$1") run=$1"; }
# For reuse_running: no probe JVM for a closed port, and a failed probe is no news.
answers() { tcp_open 127.0.0.1 "${1##*:}" && probe "$1" 2>/dev/null; }

jvm_cmd() { # jvm_cmd RUNDIR: fills the caller's array `jvm` with the java command line for that run
  local heap
  read -ra heap <<<"$KAFKA_HEAP_OPTS"
  jvm=(java "${heap[@]}" -Xshare:auto -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$1/log4j2.properties" -Dkafka.logs.dir="$1/logs"
    -cp "$LIB/*")
}

# The port the readiness probe asks: the internal listener's if the config has one (its clients
# would otherwise be sent to an advertised port that may be a proxy), else the client listener's.
probe_port() {
  local listeners
  listeners=$(sed -n 's/^listeners=//p' "$1/server.properties")
  if [[ $listeners =~ INTERNAL://127\.0\.0\.1:([0-9]+) ]]; then echo "${BASH_REMATCH[1]}"
  else [[ $listeners =~ PLAINTEXT://127\.0\.0\.1:([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
  fi
}

# launch_broker RUNDIR: start kafka.Kafka on RUNDIR's (formatted) config, write RUNDIR/pid and
# wait until it is ready. Returns 0 when ready; 1 not ready in time, 2 died (both with the process
# gone and the last log lines on stderr; the run dir is left for the caller).
launch_broker() {
  local run=$1 pport pid jvm=()
  pport=$(probe_port "$run")
  [[ -n $pport ]] || die "no listener port in $run/server.properties"
  jvm_cmd "$run"
  # setsid: the broker leaves make's process group (Ctrl-C there doesn't hit it; `down` stops it).
  # Scripts run without job control, so setsid execs in place and $! is the java pid itself.
  # stdout.log is appended to so a restart keeps the previous run's output.
  setsid "${jvm[@]}" kafka.Kafka "$run/server.properties" \
    >>"$run/logs/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$run/pid"

  # Wait for a real metadata round trip (plus warm-up) in one probe JVM that also watches the pid.
  local rc=0
  probe "127.0.0.1:$pport" --wait-ms $((START_TIMEOUT_S * 1000)) --pid "$pid" --warm || rc=$?
  if (( rc != 0 )); then
    tail -n 40 "$run/logs/stdout.log" "$run/logs/server.log" >&2 2>/dev/null || true
    kill_pid "$pid"
    return "$rc"
  fi
}

cmd_start() {
  local adv=${KAFKA_ADVERTISED_PORT:-}
  [[ -z $adv || $adv =~ ^[0-9]+$ ]] || die "KAFKA_ADVERTISED_PORT=$adv is not a port"
  # Reuse a running broker of ours rather than starting a second JVM on a 2-core box (not when a
  # given advertised port is asked for: a running one tells its clients its own).
  [[ -z $adv ]] && reuse_running '' && return 0
  cmd_fetch
  command -v node >/dev/null || die "node not found (used to pick free ports)"

  local t0 bport cport iport run cluster_id pid
  t0=$(now_ms)
  read -r bport cport iport < <(free_ports 3)
  run=$RUN_ROOT/kafka-$bport
  rm -rf "$run"
  mkdir -p "$run/data" "$run/logs"
  # Listeners: the client one, advertised as itself, or, with KAFKA_ADVERTISED_PORT, as that port
  # beside an internal one for the broker's own traffic.
  local listeners="PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport"
  local advertised="PLAINTEXT://127.0.0.1:$bport" inter=PLAINTEXT
  local protocols="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  if [[ -n $adv ]]; then
    listeners="PLAINTEXT://127.0.0.1:$bport,INTERNAL://127.0.0.1:$iport,CONTROLLER://127.0.0.1:$cport"
    advertised="PLAINTEXT://127.0.0.1:$adv,INTERNAL://127.0.0.1:$iport"
    inter=INTERNAL
    protocols="$protocols,INTERNAL:PLAINTEXT"
  fi

  cat >"$run/server.properties" <<EOF
# Generated by infra/dev/kafka.sh: single-node KRaft dev broker, deleted on stop.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
inter.broker.listener.name=$inter
listener.security.protocol.map=$protocols
log.dirs=$run/data
# One node: every internal topic must live with replication factor 1 or transactions/groups stall.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Few partitions for internal topics: creating 50 of each delays the first group/transaction.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
num.partitions=1
# Tests create their topics explicitly; a typo should fail, not create a topic.
auto.create.topics.enable=false
# Sized for a 2-core machine.
num.network.threads=2
num.io.threads=4
EOF

  # log4j2: everything to a file in the run dir, nothing on the terminal.
  cat >"$run/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $run/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
EOF

  local jvm=()
  jvm_cmd "$run"

  # A fresh cluster id per run: Kafka's ids are 16 random bytes, base64url without padding.
  # One starting with '-' would be read as an option by the storage tool, so avoid it.
  cluster_id=-
  while [[ $cluster_id == -* ]]; do
    cluster_id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  done
  # Short-lived JVM: C1 only starts faster.
  "${jvm[@]}" -Xmx256m -XX:TieredStopAtLevel=1 kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$run/server.properties" >"$run/logs/format.log" 2>&1 \
    || { cat "$run/logs/format.log" >&2; die "storage format failed (see above)"; }

  local rc=0
  launch_broker "$run" || rc=$?
  if (( rc != 0 )); then
    stop_dir "$run"
    (( rc == 2 )) && die "broker exited during startup"
    die "broker not ready after ${START_TIMEOUT_S}s"
  fi
  pid=$(<"$run/pid")
  log "Kafka $KAFKA_VERSION ready on 127.0.0.1:$bport${adv:+ (advertised as 127.0.0.1:$adv, internal :$iport)} (controller :$cport, pid $pid) in $(secs_since "$t0")s; logs: $run/logs"
  echo "KAFKA_BROKERS=127.0.0.1:$bport"
  [[ -z $adv ]] || echo "KAFKA_INTERNAL_BROKERS=127.0.0.1:$iport"
}

# Same ports, same config, same data dir (no format): the broker recovers its log and metadata, so
# topics, committed offsets and transaction state are all there afterwards. Clients see the broker
# vanish and come back; what they do about it is theirs.
cmd_restart() {
  local port=${1:-}
  port=${port##*:}
  [[ $port =~ ^[0-9]+$ ]] || die "usage: kafka.sh restart PORT"
  local run=$RUN_ROOT/kafka-$port
  [[ -f $run/server.properties && -d $run/data ]] || die "no broker of ours on port $port (no $run)"
  cmd_fetch
  local t0 t1 t2 pid cport
  t0=$(now_ms)
  cport=$(sed -n 's/^controller\.quorum\.voters=.*:\([0-9]*\)$/\1/p' "$run/server.properties")
  [[ -n $cport ]] || die "no controller port in $run/server.properties"
  if pid=$(run_pid "$run"); then
    log "stopping broker pid $pid on 127.0.0.1:$port (SIGTERM)"
    kill_pid "$pid"
    log "broker pid $pid stopped in $(secs_since "$t0")s"
  else
    log "broker on port $port was not running; starting it on its data dir"
  fi
  t1=$(now_ms)
  # Both ports were ours a moment ago; anything listening there now would make the start fail late.
  local p
  for p in "$port" "$cport"; do
    tcp_open 127.0.0.1 "$p" && die "port $p is taken by another process; $run kept, \`kafka.sh stop $port\` deletes it"
  done
  local rc=0
  launch_broker "$run" || rc=$?
  if (( rc != 0 )); then
    (( rc == 2 )) && die "broker exited during restart; $run kept for a look, \`kafka.sh stop $port\` deletes it"
    die "broker not ready ${START_TIMEOUT_S}s after restart; $run kept, \`kafka.sh stop $port\` deletes it"
  fi
  t2=$(now_ms)
  log "Kafka $KAFKA_VERSION back on 127.0.0.1:$port (controller :$cport, pid $(<"$run/pid")): stop $(secs_between "$t0" "$t1")s + start $(secs_between "$t1" "$t2")s = $(secs_between "$t0" "$t2")s unavailable"
  echo "KAFKA_BROKERS=127.0.0.1:$port"
}

cmd_probe() {
  [[ -n ${1:-} ]] || die "usage: kafka.sh probe HOST:PORT[,...]"
  cmd_fetch
  local first=${1%%,*}
  tcp_open "${first%:*}" "${first##*:}" && probe "$1"
}

case ${1:-} in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) shift; stop_ours "${1:-}" ;;
  restart) shift; cmd_restart "${1:-}" ;;
  status) status_ours broker ;;
  probe) shift; cmd_probe "${1:-}" ;;
  *) echo "usage: $0 fetch|start|stop [PORT]|restart PORT|status|probe HOST:PORT" >&2; exit 2 ;;
esac
