#!/usr/bin/env bash
# A separate venv for RecBole 1.2.1, the bench-only peer of bench/side_by_side.py.
#
#     bash bench/recbole_setup.sh [VENV_DIR]   # default: ~/.cache/graphrails/recbole-venv
#
# RecBole never goes into pyproject.toml or the project's .venv: it pins old helper
# packages (colorlog, colorama) and predates NumPy 2, so it lives here, and
# bench/side_by_side.py runs it in a subprocess. Works from nothing cached (torch from
# PyPI is large); when uv is on PATH it installs through uv so that wheels already in
# uv's cache are reused, else through pip (which reuses pip's cache).
set -euo pipefail

VENV="${1:-${GRAPHRAILS_RECBOLE_VENV:-$HOME/.cache/graphrails/recbole-venv}}"
PY="${PYTHON:-python3.11}"
# RecBole's metadata already requires torch, numpy, scipy, pandas, tensorboard, thop, ray
# (<=2.6.3) and the rest; they are named here so that the runner's imports
# (recbole.config/.data/.model/.trainer) never depend on a transitive choice. NumPy 2 is
# fine: bench/side_by_side.py patches the aliases RecBole 1.2.1 still expects.
PACKAGES=(
    "recbole==1.2.1"
    torch
    numpy scipy pandas
    tensorboard thop tabulate plotly texttable ray
)

if [[ ! -x "$VENV/bin/python" ]]; then
    mkdir -p "$(dirname "$VENV")"
    "$PY" -m venv "$VENV"
fi
if command -v uv >/dev/null 2>&1; then
    uv pip install --python "$VENV/bin/python" "${PACKAGES[@]}"
else
    "$VENV/bin/python" -m pip install --upgrade pip
    "$VENV/bin/python" -m pip install "${PACKAGES[@]}"
fi
"$VENV/bin/python" -c "import recbole, torch, numpy; print('recbole', recbole.__version__, 'torch', torch.__version__, 'numpy', numpy.__version__)"
echo "RecBole venv ready: $VENV"
