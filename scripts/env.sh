# Sourced by scripts/serve and scripts/test: puts a pinned uv in .tools/, syncs .venv from
# uv.lock and the pages' browser libraries from package-lock.json. Needs python3 (3.11+), npm,
# the public package index and the npm registry.
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

# The browser libraries the pages serve (livekit-client), from package-lock.json, copied into
# Halaqa's own static files: the pages never load code from a CDN.
sync_web_assets() {
  local vendor="$ROOT/halaqa/web/static/vendor"
  if [ ! -f "$ROOT/node_modules/.package-lock.json" ] \
    || ! cmp -s "$ROOT/package-lock.json" "$ROOT/node_modules/.halaqa-lock"; then
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
    cp "$ROOT/package-lock.json" "$ROOT/node_modules/.halaqa-lock"
  fi
  mkdir -p "$vendor"
  cp "$ROOT/node_modules/livekit-client/dist/livekit-client.umd.js" "$vendor/"
}

# $@: extra flags for `uv sync` (e.g. --no-dev).
sync_environment() {
  ensure_uv
  (cd "$ROOT" && "$UV" sync --locked --quiet "$@")
  sync_web_assets
}
