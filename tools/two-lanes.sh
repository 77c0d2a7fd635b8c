#!/usr/bin/env bash
# Run two commands side by side and print each one's output when both are done.
#
#   tools/two-lanes.sh <what> <command of lane 1> <command of lane 2>
#
# Each command runs in bash with its output in a log of its own (so the two never interleave); the logs are printed
# in lane order with each lane's exit status, and the script fails if either lane failed.
set -uo pipefail
what=$1 lane1=$2 lane2=$3
logs=$(mktemp -d "${TMPDIR:-/tmp}/loyalty-lanes.XXXXXX")
trap 'rm -rf "$logs"' EXIT
started=$(date +%s)
bash -c "$lane1" >"$logs/1.log" 2>&1 &
first=$!
bash -c "$lane2" >"$logs/2.log" 2>&1 &
second=$!
status=0
for lane in 1 2; do
    if [ "$lane" = 1 ]; then pid=$first; else pid=$second; fi
    rc=0; wait "$pid" || rc=$?
    echo "== $what, lane $lane (exit $rc)"
    cat "$logs/$lane.log"
    [ "$rc" = 0 ] || status=1
done
echo "== $what: both lanes done in $(( $(date +%s) - started )) s"
exit $status
