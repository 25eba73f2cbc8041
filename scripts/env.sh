# Sourced by scripts/serve and scripts/test: puts a pinned uv in .tools/ and syncs .venv from
# uv.lock. Needs only python3 (3.11+) and the public package index.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION="0.13.8"
UV="$ROOT/.tools/bin/uv"
export UV_PYTHON_DOWNLOADS=never
export UV_PROJECT_ENVIRONMENT="$ROOT/.venv"

ensure_uv() {
  if [ -x "$UV" ] && [ "$("$UV" --version | cut -d' ' -f2)" = "$UV_VERSION" ]; then
    return
  fi
  python3 -m venv "$ROOT/.tools"
  "$ROOT/.tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
}

# $@: extra flags for `uv sync` (e.g. --no-dev).
sync_environment() {
  ensure_uv
  (cd "$ROOT" && "$UV" sync --locked --quiet "$@")
}
