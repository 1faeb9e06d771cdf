#!/bin/bash
# Apache Kafka (KRaft) configured by environment, as the apache/kafka image is:
# every KAFKA_<NAME> becomes a server.properties line <name> (prefix stripped,
# lower-cased, `___` -> `-`, `__` -> `_`, `_` -> `.`), over these defaults: one combined
# broker+controller, PLAINTEXT://:9092 (advertised localhost:9092), CONTROLLER://:9093,
# data in /var/lib/kafka/data. (apache/kafka drops all its defaults once any KAFKA_
# setting is given; here they stay under yours, so a compose file written for that
# image, which sets everything, means the same here.)
#
# Storage is formatted on the first start (no meta.properties in a log dir) with
# CLUSTER_ID (a fixed default); then Kafka replaces this script as PID 1, so
# `docker stop` (SIGTERM) is a clean shutdown. Heap: KAFKA_HEAP_OPTS (-Xmx512m -Xms512m).
set -euo pipefail

# A command given (a tool, a shell): run that instead of the broker.
if [[ $# -gt 0 ]]; then
  exec "$@"
fi

CONFIG=/opt/kafka/config/server.properties
DEFAULT_CLUSTER_ID=4L6g3nShT-eMCtK--X86sw

declare -A props=(
  [process.roles]=broker,controller
  [node.id]=1
  [controller.quorum.voters]=1@localhost:9093
  [listeners]=PLAINTEXT://:9092,CONTROLLER://:9093
  [advertised.listeners]=PLAINTEXT://localhost:9092
  [inter.broker.listener.name]=PLAINTEXT
  [controller.listener.names]=CONTROLLER
  [listener.security.protocol.map]=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
  [log.dirs]=/var/lib/kafka/data
  [num.partitions]=1
  [offsets.topic.replication.factor]=1
  [transaction.state.log.replication.factor]=1
  [transaction.state.log.min.isr]=1
  [share.coordinator.state.topic.replication.factor]=1
  [share.coordinator.state.topic.min.isr]=1
  [group.initial.rebalance.delay.ms]=0
)

# Settings of the JVM and of this image, not of the broker (as in apache/kafka).
not_config=" KAFKA_HEAP_OPTS KAFKA_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_LOG4J_OPTS KAFKA_JMX_OPTS KAFKA_GC_LOG_OPTS KAFKA_DEBUG KAFKA_VERSION KAFKA_HOME KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS KAFKA_TOOLS_LOG4J_LOGLEVEL KAFKA_TOOLS_OPTS KAFKA_JMX_PORT KAFKA_JMX_HOSTNAME "
for name in $(compgen -e); do
  [[ $name == KAFKA_* && $not_config != *" $name "* ]] || continue
  key=${name#KAFKA_}
  key=${key,,}
  key=${key//___/-}
  key=${key//__/$'\x01'}
  key=${key//_/.}
  key=${key//$'\x01'/_}
  props[$key]=${!name}
done
# A dynamic quorum (controller.quorum.bootstrap.servers) replaces the static voters.
if [[ -n ${KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS:-} && -z ${KAFKA_CONTROLLER_QUORUM_VOTERS:-} ]]; then
  unset 'props[controller.quorum.voters]'
fi

{
  echo "# generated from the environment by /opt/kafka/entrypoint.sh"
  for key in $(printf '%s\n' "${!props[@]}" | sort); do
    printf '%s=%s\n' "$key" "${props[$key]}"
  done
} >"$CONFIG"

# Format each log dir that is not formatted yet (a fresh volume, the first start).
IFS=, read -r -a dirs <<<"${props[log.dirs]}"
unformatted=0
for d in "${dirs[@]}"; do
  if ! mkdir -p "$d" 2>/dev/null || [[ ! -w $d ]]; then
    echo "error: the log dir $d is not writable by uid $(id -u) (the 'kafka' user): mount the volume" \
      "at /var/lib/kafka/data, or make it writable by uid $(id -u)" >&2
    exit 1
  fi
  [[ -f $d/meta.properties ]] || unformatted=1
done
if ((unformatted)); then
  format=(format --cluster-id "${CLUSTER_ID:-$DEFAULT_CLUSTER_ID}" --config "$CONFIG" --ignore-formatted)
  if [[ -z ${props[controller.quorum.voters]:-} && ${props[process.roles]} == *controller* ]]; then
    format+=(--standalone)
  fi
  echo "[entrypoint] formatting ${props[log.dirs]} (cluster ${CLUSTER_ID:-$DEFAULT_CLUSTER_ID})"
  /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool "${format[@]}"
fi

# shellcheck disable=SC2086 # option lists are split on purpose
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m} \
  ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true} \
  ${KAFKA_OPTS:-} \
  ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties} \
  -cp "/opt/kafka/libs/*" kafka.Kafka "$CONFIG"
