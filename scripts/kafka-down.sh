#!/usr/bin/env bash
# Stop the Kafka-protocol broker that scripts/kafka-up.sh started (only that pid).
# Idempotent: nothing running is not an error. Reads the same KAFKA_PORT and KAFKA_HOME.
set -euo pipefail

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_HOME=${KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/svcgen-kafka}
PIDFILE=$KAFKA_HOME/$KAFKA_PORT/broker.pid

info() { echo "kafka-down: $*"; }

pid=$(cat "$PIDFILE" 2>/dev/null || true)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
  rm -f "$PIDFILE"
  info "not running on port $KAFKA_PORT"
  exit 0
fi
if ! grep -qa tansu "/proc/$pid/cmdline" 2>/dev/null; then
  rm -f "$PIDFILE"
  info "pid $pid is not our broker (stale pid file removed); left it alone"
  exit 0
fi
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  info "pid $pid still running 10 s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
rm -f "$PIDFILE"
info "stopped pid $pid (port $KAFKA_PORT); its in-memory data is gone"
