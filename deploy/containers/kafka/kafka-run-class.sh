#!/bin/sh
# Runs a Kafka class on the image's jars (the tools: a small, quick-starting JVM).
# KAFKA_TOOLS_OPTS replaces the tools' JVM options.
exec java ${KAFKA_TOOLS_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto} \
  -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.properties \
  -cp "/opt/kafka/libs/*" "$@"
