#!/usr/bin/env bash
# Runs the lease-store conformance suite against a real Redis server: installs
# redis-server (Debian package) if missing, starts a throwaway one on a loopback port,
# runs `cargo test --features redis --test locks_conformance` against it, and stops it.
#
# If no server can be had (no package, no root, the server does not start), the suite
# still runs and its Redis test prints "SKIPPED redis conformance: <reason>"; it is never
# passed silently. Once a server is up, a Redis test that cannot reach it fails
# (POLYCACHE_REDIS_REQUIRED=1).
#
#   bash .ci/redis.sh            # port 6390 unless REDIS_PORT says otherwise
set -euo pipefail
cd "$(dirname "$0")/.."

port=${REDIS_PORT:-6390}
dir=$(mktemp -d)
pidfile="$dir/redis.pid"

# The server writes its log as it shuts down: wait for it to exit before removing its
# directory (an `rm -rf` racing that last write failed a CI run with "Directory not
# empty"), and retry the removal once in any case.
stop() {
  if [ -s "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf "$dir" 2>/dev/null || { sleep 1; rm -rf "$dir"; }
}
trap stop EXIT

install_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  echo "redis-server missing: installing the Debian package"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null 2>&1 || true
  command -v redis-server >/dev/null 2>&1
}

started=0
if install_redis; then
  redis-server --version
  # Loopback only, no persistence, a private pid file and working directory.
  if redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
      --daemonize yes --pidfile "$pidfile" --dir "$dir" --logfile "$dir/redis.log"; then
    for _ in $(seq 1 50); do
      if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
        started=1
        break
      fi
      sleep 0.1
    done
  fi
  if [ "$started" -ne 1 ]; then
    echo "redis-server did not answer on 127.0.0.1:$port"
    cat "$dir/redis.log" 2>/dev/null | tail -n 20 || true
  fi
else
  echo "redis-server could not be installed"
fi

if [ "$started" -eq 1 ]; then
  echo "redis-server up on 127.0.0.1:$port"
  POLYCACHE_REDIS_URL="redis://127.0.0.1:$port/" POLYCACHE_REDIS_REQUIRED=1 \
    cargo test --features redis --test locks_conformance
else
  # The Redis test prints why it skipped.
  env -u POLYCACHE_REDIS_URL cargo test --features redis --test locks_conformance
fi
