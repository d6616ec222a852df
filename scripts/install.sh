#!/usr/bin/env bash
# Install journeylab from this checkout into a virtual environment (.venv by default).
#
#   scripts/install.sh [EXTRAS]        EXTRAS defaults to "all" (notebook, dask, runtime, dev, docs)
#
# Works where the system Python refuses `pip install` (PEP 668, e.g. Debian and Ubuntu) and
# where there is no `python` command, only `python3`: it picks the first Python >= 3.11 among
# $PYTHON, python3.13, python3.12, python3.11, python3 and python, creates the environment
# if it is missing and installs the project into it in editable mode. Afterwards use
# .venv/bin/python, .venv/bin/journeylab, or `. .venv/bin/activate`. JOURNEYLAB_VENV names
# another folder for the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-all}
venv=${JOURNEYLAB_VENV:-.venv}

if [ ! -x "$venv/bin/python" ]; then
  py=""
  for c in ${PYTHON:-} python3.13 python3.12 python3.11 python3 python; do
    if command -v "$c" >/dev/null 2>&1 \
       && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      py=$c
      break
    fi
  done
  if [ -z "$py" ]; then
    echo "install: journeylab needs Python >= 3.11; none found (set PYTHON=/path/to/python3)" >&2
    exit 1
  fi
  echo "install: creating the virtual environment $venv with $(command -v "$py") ($("$py" -V 2>&1))"
  if ! "$py" -m venv "$venv"; then
    rm -rf "$venv"
    echo "install: '$py -m venv' failed; on Debian or Ubuntu: apt-get install python3-venv" >&2
    exit 1
  fi
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
echo "install: pip install -e \".[$extras]\" into $venv"
"$venv/bin/python" -m pip install -q -e ".[$extras]"
echo "install: done; journeylab $("$venv/bin/python" -c 'import journeylab; print(journeylab.__version__)' 2>/dev/null || echo '?') in $venv"
