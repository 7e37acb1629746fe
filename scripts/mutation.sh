#!/usr/bin/env bash
# Mutation testing (mutmut) of the core modules, one module at a time against only its focused tests.
#
#   bash scripts/mutation.sh                 # every core module below
#   bash scripts/mutation.sh matcher cluster # some of them
#   MUTATION_MINUTES=20 bash scripts/mutation.sh int8   # time box per module (default 30)
#   MUTATION_REV=main bash scripts/mutation.sh          # another commit (e.g. the score before a change)
#   MUTATION_RESUME=1 bash scripts/mutation.sh matcher  # go on from $OUT/matcher.cache (a time box cut it short,
#                                                       # or tests were added: only the mutants not killed re-run)
#
# It mutates a throw-away git worktree of the committed HEAD (never this checkout), so it is safe to keep
# working meanwhile; tests run from the worktree, so `import streid` resolves to its (mutated) code.
# Prints "module killed survived timeout suspicious score" per module and keeps mutmut's list of surviving
# mutants in $OUT/MODULE.txt (default OUT=/tmp/streid-mutation). CPU is scarce: it runs under nice -n 10.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=${STREID_PYTHON:-$REPO/.venv/bin/python}
OUT=${OUT:-/tmp/streid-mutation}
MINUTES=${MUTATION_MINUTES:-30}
REV=${MUTATION_REV:-HEAD}  # the commit whose code and tests are measured
RESUME=${MUTATION_RESUME:-0}

# module -> source file and the tests that exercise it (the runner mutmut calls per mutant)
declare -A SRC=(
  [matcher]=pipeline/identity/matcher.py
  [constraints]=pipeline/identity/constraints.py
  [cluster]=pipeline/identity/cluster.py
  [metrics]=train/eval/metrics.py
  [evaluate]=pipeline/identity/evaluate.py
  [tracklets]=pipeline/tracklets.py
  [checkpoint]=train/checkpoint.py
  [int8]=export/int8.py
)
declare -A SELECT=(  # -k: the tests of a big file that exercise the module
  [checkpoint]="checkpoint or resume"
  [constraints]="not sparse_clustering_equals_dense"  # minutes per mutant; both sides call the same constraints
)
declare -A TESTS=(
  [matcher]="tests/pipeline/identity/test_identity_matcher.py"
  [constraints]="tests/pipeline/identity/test_identity_matcher.py tests/pipeline/identity/test_identity_cluster.py"
  [cluster]="tests/pipeline/identity/test_identity_cluster.py"
  [metrics]="tests/train/eval/test_metrics.py"
  [evaluate]="tests/pipeline/identity/test_identity_evaluate.py"
  [tracklets]="tests/pipeline/test_tracklets.py"
  [checkpoint]="tests/train/test_checkpoint.py tests/train/test_checkpoint_safety.py tests/export/test_onnx_export.py tests/train/models/test_stt_gt.py \
tests/train/test_engine.py"
  [int8]="tests/export/test_int8.py"
)
ORDER=(matcher constraints cluster metrics evaluate tracklets checkpoint int8)
[ $# -gt 0 ] && ORDER=("$@")

"$PY" -c "import mutmut" 2>/dev/null || { echo "mutmut missing: $PY -m pip install -e '.[dev]'" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/streid-mutation-tree.XXXXXX")
cleanup() { git -C "$REPO" worktree remove --force "$WORK/tree" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
git -C "$REPO" worktree add --detach -q "$WORK/tree" "$REV"
TREE=$WORK/tree
mkdir -p "$OUT"
# `import streid.train` must find the worktree's code: link the mapped subpackages into its streid/ (cwd wins)
for pkg in train export pipeline; do ln -s "../$pkg" "$TREE/streid/$pkg"; done

cd "$TREE"
printf "%-12s %7s %8s %7s %10s %6s\n" module killed survived timeout suspicious score
for mod in "${ORDER[@]}"; do
  src=${SRC[$mod]:?unknown module $mod (choices: ${!SRC[*]})}
  tests=$(for t in ${TESTS[$mod]}; do [ -f "$t" ] && echo "$t"; done | tr '\n' ' ')  # those that exist at HEAD
  rm -f .mutmut-cache
  if [ "$RESUME" = 1 ] && [ -f "$OUT/$mod.cache" ]; then
    cp "$OUT/$mod.cache" .mutmut-cache
    # mutmut stops a mutant's tests after 10x the baseline run: a baseline timed on an idle moment makes every
    # mutant "time out" once the machine is busy. Resuming gives the timed-out mutants another go, with a
    # baseline of at least MUTATION_BASELINE_S seconds (default 30).
    "$PY" - "${MUTATION_BASELINE_S:-30}" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(".mutmut-cache")
db.execute("UPDATE Mutant SET status = 'untested' WHERE status = 'bad_timeout'")
(old,) = db.execute("SELECT value FROM MiscData WHERE key = 'baseline_time_elapsed'").fetchone() or ("0",)
db.execute("UPDATE MiscData SET value = ? WHERE key = 'baseline_time_elapsed'",
           (str(max(float(old), float(sys.argv[1]))),))
db.commit()
EOF
  fi
  runner="$PY -m pytest -x -q -p no:cacheprovider -o addopts= -m 'not slow and not gpu' -k '${SELECT[$mod]:-}' $tests"
  # a mutant may allocate without end (e.g. a gallery that doubles on every row): cap the address space so it
  # fails alone instead of waking the kernel's OOM killer on a shared machine
  (ulimit -v $((${MUTATION_MEMORY_GB:-12} * 1024 * 1024))
   timeout "${MINUTES}m" nice -n 10 "$PY" -m mutmut run --paths-to-mutate "$src" --runner "$runner" \
    --tests-dir tests/ --simple-output --no-progress \
    --test-time-multiplier 5 --test-time-base 60) >"$OUT/$mod.log" 2>&1 || true
  git checkout -q -- "$src"  # a timed-out run may leave its last mutant applied
  "$PY" -m mutmut results >"$OUT/$mod.txt" 2>&1 || true
  cp .mutmut-cache "$OUT/$mod.cache"  # every mutant's status (sqlite), e.g. to compare two runs
  "$PY" - "$mod" "$OUT/$mod.txt" <<'EOF'
import re, sqlite3, sys
mod, report = sys.argv[1], sys.argv[2]
db = sqlite3.connect(".mutmut-cache")
counts = dict(db.execute("SELECT status, count(*) FROM Mutant GROUP BY status").fetchall())
k, s = counts.get("ok_killed", 0), counts.get("bad_survived", 0)
t, q = counts.get("bad_timeout", 0), counts.get("ok_suspicious", 0)
untested = counts.get("untested", 0)
done = k + s + t + q
score = f"{100 * (k + t) / done:.0f}%" if done else "-"
note = f"  ({untested} not run: time box)" if untested else ""
print(f"{mod:<12} {k:>7} {s:>8} {t:>7} {q:>10} {score:>6}{note}")
EOF
done
