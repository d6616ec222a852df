#!/usr/bin/env bash
# Execute the tutorial notebooks and export each to a self-contained HTML page for sharing.
#
#   scripts/export_notebooks.sh [OUT_DIR] [NOTEBOOK...]
#
# OUT_DIR defaults to out/notebooks (git-ignored); NOTEBOOK names default to every
# notebooks/NN_*.ipynb. Each notebook runs in a fresh kernel in a scratch copy (so its exports
# land there, not in notebooks/), with plotly.js embedded in the page: the HTML opens offline.
# Widget state is not saved (store_widget_state=False), so where a notebook shows the editable
# journey canvas the page shows its static SVG picture instead of a blank widget.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${1:-out/notebooks}
shift || true
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ $# -gt 0 ]; then
  books=()
  for n in "$@"; do books+=("notebooks/${n%.ipynb}.ipynb"); done
else
  books=(notebooks/[0-9][0-9]_*.ipynb)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
# the project's environment (scripts/install.sh) if there is one, else python3
py=${PYTHON:-}
if [ -z "$py" ]; then
  if [ -x "$root/.venv/bin/python" ]; then py="$root/.venv/bin/python"; else py=python3; fi
fi
for nb in "${books[@]}"; do
  name=$(basename "$nb" .ipynb)
  cp "$nb" "$work/"
  start=$(date +%s)
  (cd "$work" && "$py" -m jupyter nbconvert --execute --to html --ExecutePreprocessor.timeout=600 \
     --ExecutePreprocessor.store_widget_state=False \
     --output-dir "$out" "$name.ipynb" >/dev/null 2>"$work/$name.log") \
    || { echo "FAILED $name (log below)"; tail -n 40 "$work/$name.log"; exit 1; }
  echo "$out/$name.html  ($(( $(date +%s) - start )) s)"
done
