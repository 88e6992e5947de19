#!/usr/bin/env bash
# Mutation testing of reachcheck/analysis/ with cosmic-ray (the `mutation` extra).
#
#   tools/mutation/run.sh [--fail-under PERCENT] [--rerun-survivors OLD_SESSION]
#
# KEEP_SESSION=FILE keeps the session database. --rerun-survivors reruns only the survivors of
# such a kept session (minutes, not the whole run): for checking new tests against them while
# reachcheck/analysis is unchanged.
# cosmic-ray rewrites each module in place for each mutant, so it works on a copy of the
# checkout (tracked and new files) in a temporary directory; the checkout is never touched.
# Each mutant runs the pure analysis unit tests (tests/analysis, ~1 s, stop at the first
# failure) at the lowest CPU priority. Prints every surviving mutant, the score and the run
# time; tests/analysis/EQUIVALENT_MUTANTS.md explains the survivors that cannot be killed.
# Set PYTHON to use another interpreter (default: .venv/bin/python, else python3).
# EXCLUDE='"reachcheck/analysis/dns.py","reachcheck/analysis/http.py"' leaves those modules out,
# so two runs with complementary EXCLUDE lists use both cores; `session.py merge` then joins
# their kept sessions (KEEP_SESSION) for one score (`score.py`).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
py="${PYTHON:-$repo/.venv/bin/python}"
[ -x "$py" ] || py="$(command -v python3)"
"$py" -c "import cosmic_ray" 2>/dev/null || {
    echo "cosmic-ray is missing: pip install -e '.[mutation]'" >&2; exit 2; }
rerun=""
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rerun-survivors) rerun="$(realpath "$2")"; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
start=$(date +%s)
work="$(mktemp -d "${TMPDIR:-/tmp}/reachcheck-mutation.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$repo" && git ls-files -co --exclude-standard -z \
    | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf -) | tar -xf - -C "$work"
cd "$work"
export PYTHONDONTWRITEBYTECODE=1
cat > cosmic-ray.toml <<TOML
[cosmic-ray]
module-path = "reachcheck/analysis"
timeout = 60.0
excluded-modules = [${EXCLUDE:-}]
# -x: a killed mutant stops at its first failing test. The plugins the analysis tests do not
# use stay unloaded: start-up is most of a run.
test-command = "$py -m pytest -x -q -p no:cacheprovider -p no:hypothesispytest -p no:asyncio -p no:anyio tests/analysis"

[cosmic-ray.distributor]
name = "local"
TOML
cr() { "$py" -c 'import sys; from cosmic_ray.cli import main; sys.exit(main())' "$@"; }
# The unmutated code must pass, or every mutant would count as killed.
if ! nice -n 19 "$py" -m pytest -x -q -p no:cacheprovider -p no:hypothesispytest \
        -p no:asyncio -p no:anyio tests/analysis >baseline.log 2>&1; then
    cat baseline.log >&2; echo "the analysis tests fail without any mutant" >&2; exit 1
fi
if [ -n "$rerun" ]; then
    "$py" "$repo/tools/mutation/session.py" rerun "$rerun" session.sqlite || exit 2
else
    cr init cosmic-ray.toml session.sqlite
    "$py" "$repo/tools/mutation/session.py" stamp session.sqlite
    "$py" "$repo/tools/mutation/skip_annotations.py" session.sqlite
fi
set +e
nice -n 19 "$py" -c 'import sys; from cosmic_ray.cli import main; sys.exit(main())' \
    exec cosmic-ray.toml session.sqlite || echo "cosmic-ray stopped early" >&2
"$py" "$repo/tools/mutation/score.py" session.sqlite \
    --equivalent tests/analysis/EQUIVALENT_MUTANTS.md "${args[@]}"
rc=$?
[ -n "${KEEP_SESSION:-}" ] && cp session.sqlite "$KEEP_SESSION"
echo "run time: $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s"
exit "$rc"
