#!/usr/bin/env bash
# Prints, last in `make test`'s output, the tests that failed in each run (from the TAP files the
# runs wrote beside their spec output), so a CI log's tail names them even when it is cut.
set -uo pipefail
for tap in "$@"; do
  [[ -f $tap ]] || { echo "test-summary: $tap missing (the run did not start?)"; continue; }
  run=$(basename "$tap" .tap)
  pass=$(grep -E '^# pass ' "$tap" | tail -1 | cut -d' ' -f3)
  fail=$(grep -E '^# fail ' "$tap" | tail -1 | cut -d' ' -f3)
  echo "== $run: ${pass:-?} passed, ${fail:-?} failed"
  # Each failing test's line, then where it is (the location its TAP block gives).
  awk -v run="$run" '
    /^ *not ok / { sub(/^ */, ""); print "   " run ": " $0; want = 1; next }
    want && /^ *location:/ { sub(/^ *location: */, ""); print "      at " $0; want = 0 }
  ' "$tap" | head -60
done
