#!/usr/bin/env bash
# Installs everything the conformance tier needs to run the REAL ReqMgr2 server, from PyPI and npm
# only, into a cache outside the repository (the provider's .venv stays untouched):
#
#   $CACHE/reqmgr2-venv      python venv: reqmgr2==2.4.5.9 (server + official WMCore client), CMSCouchapp
#   $CACHE/couchapps/WorkQueue  the WorkQueue couchapp, unpacked from the wmcore wheel (not in reqmgr2)
#   $CACHE/pouchdb           npm pouchdb-server@4.2.0 (CouchDB stand-in) with two evaluation fixes
#
# Idempotent: each step leaves a stamp; a second run only checks the stamps (well under a second).
# CACHE defaults to ~/.cache/airflow-provider-poms (override with POMS_CONFORMANCE_CACHE).
#
# Cold path: the npm step runs in the background while the venv installs. npm install scripts are
# skipped: there are only two, leveldown's (the LevelDB backend the harness uses; it ships prebuilt
# N-API binaries, so `npm rebuild leveldown` only picks one) and sqlite3's, which compiles SQLite from
# source for minutes and is loaded only by `pouchdb-server --sqlite`, which the harness never runs.
set -euo pipefail

CACHE=${POMS_CONFORMANCE_CACHE:-$HOME/.cache/airflow-provider-poms}
REQMGR2_VERSION=2.4.5.9
POUCHDB_VERSION=4.2.0
PY=${PYTHON:-python3}
VENV=$CACHE/reqmgr2-venv
STAMP_VENV=$VENV/.installed-$REQMGR2_VERSION
NPMDIR=$CACHE/pouchdb
STAMP_NPM=$NPMDIR/.installed-$POUCHDB_VERSION-fixed-noscripts
APPS=$CACHE/couchapps
STAMP_APPS=$APPS/.installed-$REQMGR2_VERSION-3

mkdir -p "$CACHE"
log() { echo "[setup_real_server $(date +%T)] $*" >&2; }

# Two test sessions on one machine must not install into the same cache at once.
exec 9>"$CACHE/.setup.lock"
flock 9

# --- tools this script needs -------------------------------------------------------------------------
need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: ${need_apt[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    log "missing tools: ${need_apt[*]} (install them, or set POMS_PROVIDER_SKIP_CONFORMANCE=1)"; exit 1
  fi
fi
if ! command -v uv >/dev/null 2>&1; then
  "$PY" -m pip install --quiet --disable-pip-version-check uv
fi
UV=$(command -v uv || echo "$PY -m uv")

# --- 3 (in the background). pouchdb-server (CouchDB stand-in) with the two couchdb-eval fixes ------
install_pouchdb() {
  rm -rf "$NPMDIR" && mkdir -p "$NPMDIR"
  cd "$NPMDIR"
  npm init -y >/dev/null
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error "pouchdb-server@$POUCHDB_VERSION" >/dev/null
  npm rebuild leveldown --loglevel=error >/dev/null
  node -e "require('leveldown')"  # the prebuilt binary loads on this node
  local evalfile=$NPMDIR/node_modules/couchdb-eval/lib/index.js
  [ -f "$evalfile" ] || { log "couchdb-eval not found in $NPMDIR"; return 1; }
  # Fix 1: a design function starting with a // comment must still evaluate to the function.
  # Fix 2: run the compiled code through an indirect (non-strict) eval, as CouchDB does.
  "$PY" - "$evalfile" <<'EOF'
import re, sys
path = sys.argv[1]
src = open(path).read()
orig = src
src = src.replace('"return " + program', '"return (\\n" + program + "\\n)"')
src = re.sub(r'(?<![\w.)])eval\(code\)', '(0, eval)(code)', src)
if '"return (\\n" + program' not in src or '(0, eval)(code)' not in src:
    sys.exit("couchdb-eval fixes did not apply; source layout changed:\n" + orig)
open(path, "w").write(src)
EOF
  touch "$STAMP_NPM"
}

npm_pid=
if [ ! -f "$STAMP_NPM" ]; then
  log "installing pouchdb-server@$POUCHDB_VERSION in the background (no install scripts, prebuilt leveldown)"
  (set -euo pipefail; install_pouchdb) >"$CACHE/npm-install.log" 2>&1 &
  npm_pid=$!
fi

# --- 1. python venv with the real server and the official client -----------------------------------
if [ ! -f "$STAMP_VENV" ]; then
  log "creating $VENV (reqmgr2==$REQMGR2_VERSION)"
  rm -rf "$VENV"
  $UV venv --quiet --python "$PY" "$VENV"
  $UV pip install --quiet --python "$VENV/bin/python" "reqmgr2==$REQMGR2_VERSION" "CMSCouchapp~=1.3.4"
  "$VENV/bin/python" -c "import WMCore.REST.Main, WMCore.Services.ReqMgr.ReqMgr, pycurl" \
    || { log "reqmgr2 venv is broken"; exit 1; }
  touch "$STAMP_VENV"
fi

# --- 2. couchapps: the four design-document trees the server needs ----------------------------------
if [ ! -f "$STAMP_APPS" ]; then
  log "collecting couchapps"
  rm -rf "$APPS" && mkdir -p "$APPS"
  for app in ReqMgr ReqMgrAux ConfigCache; do
    cp -r "$VENV/data/couchapps/$app" "$APPS/$app"
  done
  dl=$(mktemp -d)
  if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    $UV pip install --quiet --python "$VENV/bin/python" pip
  fi
  "$VENV/bin/python" -m pip download --quiet --no-deps "wmcore==$REQMGR2_VERSION" -d "$dl"
  (cd "$dl" && unzip -q wmcore-*.whl "wmcore-$REQMGR2_VERSION.data/data/data/couchapps/WorkQueue/*")
  cp -r "$dl/wmcore-$REQMGR2_VERSION.data/data/data/couchapps/WorkQueue" "$APPS/WorkQueue"
  rm -rf "$dl"
  touch "$STAMP_APPS"
fi

if [ -n "$npm_pid" ]; then
  if ! wait "$npm_pid"; then
    cat "$CACHE/npm-install.log" >&2
    log "pouchdb-server install failed (log above)"
    exit 1
  fi
  log "pouchdb-server installed"
fi

echo "$CACHE"
