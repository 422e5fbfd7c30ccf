#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft, one node) and a real ClickHouse server on
# 127.0.0.1, without Docker.
#
#   deploy/infra.sh up       install what is missing, start both, wait, print where they listen
#                            (and, on stdout, the variables: eval "$(deploy/infra.sh up)")
#   deploy/infra.sh down     stop what `up` started (by PID)
#   deploy/infra.sh up|down kafka|clickhouse   one of them only
#   deploy/infra.sh status   say what runs
#   deploy/infra.sh env      print the variables the tests read
#
# Idempotent: a second `up` reuses the downloaded jars and the running
# servers. Kafka jars come from Maven Central (deploy/kafka/pom.xml) and are
# cached in $SKILLS_CACHE_DIR (default ~/.cache/skills-monitor); ClickHouse
# is Debian's package. Runtime state (data, logs, PID files) lives in
# $SKILLS_RUN_DIR (default $SKILLS_CACHE_DIR/run).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE_DIR="${SKILLS_CACHE_DIR:-$HOME/.cache/skills-monitor}"
RUN_DIR="${SKILLS_RUN_DIR:-$CACHE_DIR/run}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$ROOT/deploy/kafka/pom.xml")"
KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
KAFKA_PORT="${SKILLS_KAFKA_PORT:-39092}"
KAFKA_CONTROLLER_PORT="${SKILLS_KAFKA_CONTROLLER_PORT:-39093}"
# A second listener, SASL_SSL (PLAIN over TLS, a CA of its own), for the
# test of the documented Kafka security settings.
KAFKA_SASL_PORT="${SKILLS_KAFKA_SASL_PORT:-39094}"
KAFKA_HEAP="${SKILLS_KAFKA_HEAP:-512m}"
CLICKHOUSE_HTTP_PORT="${SKILLS_CLICKHOUSE_HTTP_PORT:-38123}"
CLICKHOUSE_TCP_PORT="${SKILLS_CLICKHOUSE_TCP_PORT:-39000}"

KAFKA_RUN="$RUN_DIR/kafka"
CLICKHOUSE_RUN="$RUN_DIR/clickhouse"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'infra: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]}"
    if ((APT_UPDATED == 0)); then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The process we just started still runs (right after the start it may not
# have exec'd the server yet, so its command line proves nothing).
running() {
    [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

# A PID file names a live server only if that PID still runs the server's
# program (after a reboot or a kill, the number may belong to anything).
alive() {
    local file="$1" pid
    [[ -f "$file" ]] || return 1
    pid="$(cat "$file")"
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'kafka\.Kafka|clickhouse-server'
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
    local what="$1" seconds="$2" check="$3"
    local deadline=$((SECONDS + seconds))
    until eval "$check"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.3
    done
    log "$what ready"
}

# ---------------------------------------------------------------- Kafka ----

install_kafka() {
    command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
    command -v kcat >/dev/null 2>&1 || apt_install kcat
    if [[ -f "$KAFKA_LIBS/.complete" ]]; then
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || apt_install maven
    log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
    rm -rf "$KAFKA_LIBS"
    mkdir -p "$KAFKA_LIBS"
    mvn -q -B -f "$ROOT/deploy/kafka/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >&2
    touch "$KAFKA_LIBS/.complete"
}

# A test CA, the broker's certificate for 127.0.0.1 (key in PKCS#8, as
# Kafka's PEM keystore wants it) and a random SASL password, made once.
write_kafka_tls() {
    local tls="$KAFKA_RUN/tls"
    [[ -f "$tls/server.pem" && -f "$tls/sasl-password" ]] && return 0
    command -v openssl >/dev/null 2>&1 || apt_install openssl
    mkdir -p "$tls"
    (
        cd "$tls"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=skills-test-ca" \
            -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile server.ext -out server.crt 2>/dev/null
        openssl pkcs8 -topk8 -nocrypt -in server.key -out server.p8
        cat server.p8 server.crt >server.pem
        openssl rand -hex 16 >sasl-password
        chmod 600 ca.key server.key server.p8 server.pem sasl-password
    )
}

write_kafka_config() {
    mkdir -p "$KAFKA_RUN"
    write_kafka_tls
    local password
    password="$(cat "$KAFKA_RUN/tls/sasl-password")"
    cat >"$KAFKA_RUN/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="skills" password="$password" user_skills="$password";
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$KAFKA_RUN/tls/server.pem
log.dirs=$KAFKA_RUN/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
message.max.bytes=2097152
# Index files are preallocated at this size per segment: the default 10 MiB
# across thousands of test topics made throwaway run directories slow to
# delete.
log.index.size.max.bytes=1048576
EOF
    cat >"$KAFKA_RUN/log4j2.yaml" <<EOF
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
EOF
}

start_kafka() {
    if alive "$KAFKA_RUN/kafka.pid"; then
        log "Kafka already running (pid $(cat "$KAFKA_RUN/kafka.pid"))"
        return 0
    fi
    install_kafka
    write_kafka_config
    local java=(java "-Xmx$KAFKA_HEAP" "-Xms128m" -XX:+UseSerialGC -XX:TieredStopAtLevel=1
        "-Dlog4j2.configurationFile=$KAFKA_RUN/log4j2.yaml" -cp "$KAFKA_LIBS/*")
    if [[ ! -f "$KAFKA_RUN/data/meta.properties" ]]; then
        log "formatting Kafka storage in $KAFKA_RUN/data"
        "${java[@]}" kafka.tools.StorageTool format -t "$("${java[@]}" kafka.tools.StorageTool random-uuid)" \
            -c "$KAFKA_RUN/server.properties" >"$KAFKA_RUN/format.log" 2>&1 || {
            cat "$KAFKA_RUN/format.log" >&2
            die "formatting Kafka storage failed"
        }
    fi
    log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
    nohup "${java[@]}" kafka.Kafka "$KAFKA_RUN/server.properties" </dev/null >"$KAFKA_RUN/kafka.log" 2>&1 &
    echo $! >"$KAFKA_RUN/kafka.pid"
}

kafka_ready() {
    running "$KAFKA_RUN/kafka.pid" || die "Kafka exited; see $KAFKA_RUN/kafka.log"
    kcat -b "127.0.0.1:$KAFKA_PORT" -L -m 2 >/dev/null 2>&1
}

# ----------------------------------------------------------- ClickHouse ----

install_clickhouse() {
    command -v clickhouse-server >/dev/null 2>&1 && command -v clickhouse-client >/dev/null 2>&1 && return 0
    # The package's own service start is blocked without systemd; ignore it.
    apt_install clickhouse-server clickhouse-client || true
    command -v clickhouse-server >/dev/null 2>&1 || die "clickhouse-server did not install"
}

write_clickhouse_config() {
    mkdir -p "$CLICKHOUSE_RUN"/{data,tmp,user_files,format_schemas,log}
    cat >"$CLICKHOUSE_RUN/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>$CLICKHOUSE_RUN/log/clickhouse-server.log</log>
        <errorlog>$CLICKHOUSE_RUN/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$CLICKHOUSE_HTTP_PORT</http_port>
    <tcp_port>$CLICKHOUSE_TCP_PORT</tcp_port>
    <max_connections>512</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$CLICKHOUSE_RUN/data/</path>
    <tmp_path>$CLICKHOUSE_RUN/tmp/</tmp_path>
    <user_files_path>$CLICKHOUSE_RUN/user_files/</user_files_path>
    <format_schema_path>$CLICKHOUSE_RUN/format_schemas/</format_schema_path>
    <users_config>$CLICKHOUSE_RUN/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <!-- librdkafka settings of Kafka engine tables (used by the benchmark's
         baseline, deploy/bench.sh scenario 2): a new consumer group reads a
         topic from its start, as the services' consumers do. -->
    <kafka>
        <auto_offset_reset>smallest</auto_offset_reset>
    </kafka>
</yandex>
EOF
    cat >"$CLICKHOUSE_RUN/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
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

start_clickhouse() {
    if alive "$CLICKHOUSE_RUN/clickhouse.pid"; then
        log "ClickHouse already running (pid $(cat "$CLICKHOUSE_RUN/clickhouse.pid"))"
        return 0
    fi
    install_clickhouse
    write_clickhouse_config
    log "starting ClickHouse on 127.0.0.1:$CLICKHOUSE_HTTP_PORT (HTTP) and :$CLICKHOUSE_TCP_PORT (native)"
    nohup clickhouse-server --config-file="$CLICKHOUSE_RUN/config.xml" \
        </dev/null >"$CLICKHOUSE_RUN/log/stdout.log" 2>&1 &
    echo $! >"$CLICKHOUSE_RUN/clickhouse.pid"
}

clickhouse_ready() {
    running "$CLICKHOUSE_RUN/clickhouse.pid" || die "ClickHouse exited; see $CLICKHOUSE_RUN/log/"
    [[ "$(curl -fsS "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/ping" 2>/dev/null)" == "Ok." ]]
}

# -------------------------------------------------------------- commands ----

print_env() {
    echo "export SKILLS_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
    echo "export SKILLS_KAFKA_SASL_BROKERS=127.0.0.1:$KAFKA_SASL_PORT"
    echo "export SKILLS_KAFKA_TLS_DIR=$KAFKA_RUN/tls"
    echo "export SKILLS_CLICKHOUSE_URL=http://127.0.0.1:$CLICKHOUSE_HTTP_PORT"
}

stop_pid() {
    local name="$1" file="$2"
    if alive "$file"; then
        local pid
        pid="$(cat "$file")"
        log "stopping $name (pid $pid)"
        kill "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$file"
}

# `up`/`down` take an optional component; tests start a private ClickHouse
# this way (other SKILLS_RUN_DIR and ports) to stop it without disturbing
# the shared one.
COMPONENT="${2:-all}"
case "$COMPONENT" in
all | kafka | clickhouse) ;;
*) die "unknown component $COMPONENT (kafka, clickhouse)" ;;
esac
wants() { [[ "$COMPONENT" == all || "$COMPONENT" == "$1" ]]; }

case "${1:-}" in
up)
    command -v curl >/dev/null 2>&1 || apt_install curl
    if wants kafka; then start_kafka; fi
    if wants clickhouse; then
        start_clickhouse
        wait_for "ClickHouse" 60 clickhouse_ready || die "ClickHouse did not answer within 60 s; see $CLICKHOUSE_RUN/log/"
        echo "ClickHouse http://127.0.0.1:$CLICKHOUSE_HTTP_PORT  native 127.0.0.1:$CLICKHOUSE_TCP_PORT (pid $(cat "$CLICKHOUSE_RUN/clickhouse.pid"))" >&2
    fi
    if wants kafka; then
        wait_for "Kafka" 120 kafka_ready || die "Kafka did not answer within 120 s; see $KAFKA_RUN/kafka.log"
        echo "Kafka      127.0.0.1:$KAFKA_PORT (PLAINTEXT), 127.0.0.1:$KAFKA_SASL_PORT (SASL_SSL), KRaft, pid $(cat "$KAFKA_RUN/kafka.pid")" >&2
    fi
    # Where they listen, for people (stderr, above); the variables, for `eval` (stdout).
    print_env
    ;;
down)
    if wants kafka; then stop_pid Kafka "$KAFKA_RUN/kafka.pid"; fi
    if wants clickhouse; then stop_pid ClickHouse "$CLICKHOUSE_RUN/clickhouse.pid"; fi
    ;;
status)
    alive "$KAFKA_RUN/kafka.pid" && echo "Kafka running (pid $(cat "$KAFKA_RUN/kafka.pid")) on 127.0.0.1:$KAFKA_PORT" || echo "Kafka stopped"
    alive "$CLICKHOUSE_RUN/clickhouse.pid" && echo "ClickHouse running (pid $(cat "$CLICKHOUSE_RUN/clickhouse.pid")) on 127.0.0.1:$CLICKHOUSE_HTTP_PORT" || echo "ClickHouse stopped"
    ;;
env)
    print_env
    ;;
*)
    echo "usage: $0 up|down [kafka|clickhouse] | status | env" >&2
    exit 2
    ;;
esac
