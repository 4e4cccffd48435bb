#!/usr/bin/env bash
# Build the documentation site into site/ (open site/index.html; it works offline), strictly:
# a broken link, a page missing from the nav or an API entry that no longer resolves fails.
# Then check that no page loads a script, stylesheet or font from the network.
#   bash tools/build_docs.sh [--site-dir DIR]
# Needs the docs requirements (requirements/docs.txt), which the `full` profile of
# tools/setup_env.sh installs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${DSSL_VENV:-$ROOT/.venv}/bin/python
SITE=$ROOT/site
if [ "${1:-}" = --site-dir ] || [ "${1:-}" = -d ]; then
  SITE=${2:?"[build_docs] $1 needs a folder"}
fi
if ! "$PY" -c 'import mkdocs, material, mkdocstrings' >/dev/null 2>&1; then
  echo "[build_docs] mkdocs, mkdocs-material or mkdocstrings missing in $PY: run" \
       "'bash tools/setup_env.sh full' or '$PY -m pip install -r requirements/docs.txt'" >&2
  exit 1
fi
cd "$ROOT"
NO_MKDOCS_2_WARNING=1 "$PY" -m mkdocs build --strict --site-dir "$SITE"
"$PY" - "$SITE" <<'PY'
import pathlib, re, sys
site = pathlib.Path(sys.argv[1])
remote = re.compile(r'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"'
                    r'|@import\s+url\(["\']?(?:https?:)?//|url\(["\']?(?:https?:)?//[^)]*\.(?:woff2?|ttf)')
bad = [f'{p.relative_to(site)}: {m.group(0)[:80]}' for p in sorted(site.rglob('*'))
       if p.suffix in ('.html', '.css') for m in [remote.search(p.read_text(errors='ignore'))] if m]
if bad:
    sys.exit('[build_docs] pages load from the network (the site must work offline): '
             + '; '.join(bad[:5]))
print(f'[build_docs] {site}: {sum(1 for _ in site.rglob("*.html"))} pages, nothing loaded '
      'from the network')
PY
