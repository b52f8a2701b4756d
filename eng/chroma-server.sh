#!/usr/bin/env bash
# Chroma's own server (the Rust one shipped in the chromadb npm bindings), for the wire tests.
#
#   eng/chroma-server.sh install             npm ci in tests/js/chroma; on glibc < 2.39 also unpack Debian trixie's
#                                            libc6, libstdc++6 and libgcc-s1 into a private folder (no system change)
#   eng/chroma-server.sh run DIR PORT        install if needed, then run the server in the foreground (exec), storing
#                                            its data in DIR and listening on 127.0.0.1:PORT. Stop it with SIGINT or
#                                            SIGKILL (it ignores SIGTERM).
#   eng/chroma-server.sh command             print the command line `run` would exec (one argument per line)
#
# Idempotent and safe to call from parallel test processes (an flock serialises the install).
# Environment: EMBEDDEDCHROMA_CACHE (default ~/.cache/embeddedchroma) holds the private glibc.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
js="$repo/tests/js/chroma"
cache="${EMBEDDEDCHROMA_CACHE:-${HOME:-/tmp}/.cache/embeddedchroma}"
glibc_dir="$cache/trixie-runtime"
mkdir -p "$cache"

needs_private_glibc() {
  local v; v="$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')"
  [ -n "$v" ] || return 1
  [ "$(printf '%s\n2.39\n' "$v" | sort -V | head -1)" != "2.39" ]
}

install_js() {
  # npm ci unless node_modules already holds exactly the locked versions. Optional packages of other platforms (the
  # bindings for darwin, win32, arm64) are never installed here: their absence must not trigger npm ci, which deletes
  # node_modules while other test processes (a running server, the JS client tests) use it.
  if ! node -e '
    const fs = require("fs");
    const lock = require(process.argv[1]).packages;
    for (const [path, p] of Object.entries(lock)) {
      if (!path) continue;
      const file = process.argv[2] + "/" + path + "/package.json";
      if (p.optional && !fs.existsSync(file)) continue;
      const got = require(file).version;
      if (got !== p.version) process.exit(1);
    }' "$js/package-lock.json" "$js" 2>/dev/null; then
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

install_glibc() {
  needs_private_glibc || return 0
  [ -f "$glibc_dir/.complete" ] && return 0
  local state="$cache/apt-trixie" debs="$cache/debs"
  rm -rf "$state" "$debs" "$glibc_dir"; mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$debs" "$glibc_dir"
  cat > "$state/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SRC
  local opts=(-o "Dir::State=$state" -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
              -o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
              -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update -qq >&2
  (cd "$debs" && apt-get "${opts[@]}" download -qq libc6 libstdc++6 libgcc-s1 >&2)
  for d in "$debs"/*.deb; do dpkg-deb -x "$d" "$glibc_dir"; done
  touch "$glibc_dir/.complete"
}

install() {
  exec 9>"$cache/install.lock"
  flock 9
  install_js
  install_glibc
  flock -u 9
}

command_line() {
  local data="$1" port="$2" cli="$js/node_modules/chromadb/dist/cli.mjs"
  if needs_private_glibc; then
    local lib="$glibc_dir/usr/lib/x86_64-linux-gnu"
    printf '%s\n' "$glibc_dir/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$lib" "$(command -v node)" "$cli" run --path "$data" --port "$port"
  else
    printf '%s\n' "$(command -v node)" "$cli" run --path "$data" --port "$port"
  fi
}

case "${1:-}" in
  install) install ;;
  command) command_line "${2:?DIR}" "${3:?PORT}" ;;
  run)
    install
    mapfile -t cmd < <(command_line "${2:?DIR}" "${3:?PORT}")
    exec "${cmd[@]}" ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
