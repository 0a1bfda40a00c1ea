#!/usr/bin/env bash
# Every test, in two pytest processes side by side: the broker's tests one after another (they share the
# session's broker and are timing-sensitive, so never two of them at once) and the tests that need no
# broker (about 1,200, two minutes of CPU) beside them. The second one's output is shown when both are
# done; the exit code is the first failure's. Arguments go to both (e.g. --durations=30).
set -uo pipefail
cd "$(dirname "$0")/.."
pytest=.venv/bin/pytest
unit_log=$(mktemp)
# The cache plugin of two sessions would write .pytest_cache at once: only the broker's session keeps it.
"$pytest" -q -p no:cacheprovider -m "not kafka" "$@" > "$unit_log" 2>&1 < /dev/null &
unit_pid=$!
trap 'kill "$unit_pid" 2>/dev/null; rm -f "$unit_log"' EXIT
"$pytest" -q -m kafka "$@"
kafka_rc=$?
wait "$unit_pid"
unit_rc=$?
echo
echo "---- the tests that need no broker (pytest -m 'not kafka', run alongside) ----"
cat "$unit_log"
echo "broker tests: exit $kafka_rc; tests without the broker: exit $unit_rc"
# 5 is pytest's "no test selected": arguments that name tests of one kind only leave the other empty
if [ "$kafka_rc" -eq 5 ] && [ "$unit_rc" -eq 5 ]; then exit 5; fi
for rc in "$kafka_rc" "$unit_rc"; do
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then exit "$rc"; fi
done
exit 0
