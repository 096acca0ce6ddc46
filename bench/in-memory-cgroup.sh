#!/bin/sh
# Runs a command in a memory cgroup of LIMIT_MB (no swap), as an ECS task's hard memory limit
# would: the kernel kills it past the limit. Needs root and a writable cgroup hierarchy (v1 or v2).
#   BENCH_CHILD_WRAP="bench/in-memory-cgroup.sh 512" node_modules/.bin/node bench/e2e.ts --quick ...
# usage: in-memory-cgroup.sh LIMIT_MB command [args...]
set -e
limit_mb=$1
shift
name="tributary-bench-$limit_mb-$$"
bytes=$((limit_mb * 1024 * 1024))
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  dir=/sys/fs/cgroup/$name
  mkdir -p "$dir"
  echo "$bytes" > "$dir/memory.max"
  echo 0 > "$dir/memory.swap.max" 2>/dev/null || true
else
  dir=/sys/fs/cgroup/memory/$name
  mkdir -p "$dir"
  echo "$bytes" > "$dir/memory.limit_in_bytes"
fi
echo $$ > "$dir/cgroup.procs"
exec "$@"
