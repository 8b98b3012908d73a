#!/usr/bin/env bash
# Writes link/function-order.txt: the functions the release server runs at
# start-up (until a second after its first discovery answer), then those of
# the measured request paths, as LLD's --symbol-ordering-file wants them
# (build.rs passes it). See link/README.md for why.
#
# It runs the release binary once under valgrind's callgrind on loopback,
# with the benchmark's realms (bench/realms.bench.toml) and a fresh database
# in a temporary directory. Settings: BUILD (1: cargo build --release
# first), PORT (18090). Needs valgrind (installed with apt-get when
# missing), curl and python3. Rerun it after a toolchain or dependency
# upgrade, or when README's RSS at rest has grown: names that are gone
# are skipped by the linker, so a stale list only costs memory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-1}
PORT=${PORT:-18090}
OUT="$ROOT/link/function-order.txt"
BASE="http://127.0.0.1:$PORT/realms"
OIDC=protocol/openid-connect

say() { printf '%s\n' "$*" >&2; }
die() { say "function-order: $*"; exit 1; }

command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; } \
  || die "valgrind is missing and could not be installed with apt-get (as root)"
if [ "$BUILD" = 1 ]; then (cd "$ROOT" && cargo build --release); fi
[ -x "$ROOT/target/release/realmgate" ] || die "no release build (BUILD=0 needs one)"

TMP=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
# A copy, so that callgrind's object name is known and a rebuild meanwhile
# changes nothing.
cp "$ROOT/target/release/realmgate" "$TMP/realmgate"

valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
  --callgrind-out-file="$TMP/cg.out" \
  "$TMP/realmgate" --database-url "sqlite://$TMP/rg.db" --secret-key-file "$TMP/rg.key" \
  serve --bind "127.0.0.1:$PORT" --realms "$ROOT/bench/realms.bench.toml" \
  >"$TMP/server.log" 2>&1 &
PID=$!

ready=
for _ in $(seq 1 600); do
  if curl -sf -o /dev/null "$BASE/bench-rs/.well-known/openid-configuration"; then ready=1; break; fi
  kill -0 "$PID" 2>/dev/null || die "the server stopped: $(tail -5 "$TMP/server.log")"
  sleep 0.5
done
[ -n "$ready" ] || die "no discovery answer within 5 minutes"
sleep 3   # bench.sh reads the RSS at rest a second after the first answer; valgrind is slower
callgrind_control --dump=startup "$PID" >/dev/null 2>&1

req() { curl -sf -o /dev/null "$@" || die "a request failed: curl $*"; }
json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }
for _ in 1 2 3; do
  req "$BASE/bench-rs/.well-known/openid-configuration"
  req "$BASE/bench-rs/$OIDC/certs"
  for realm in bench-rs bench-es bench-ed; do
    req -u bench-cc:bench-secret -d grant_type=client_credentials \
      -d scope=api:read "$BASE/$realm/$OIDC/token"
  done
  for realm in bench-rs bench-es; do
    answer=$(curl -sf -u bench-web:bench-web-secret -d grant_type=password -d username=bench-user \
      -d password=bench-pass -d "scope=openid api:read" "$BASE/$realm/$OIDC/token") \
      || die "the password grant in $realm failed"
    access=$(json_field access_token <<<"$answer")
    refresh=$(json_field refresh_token <<<"$answer")
    [ -n "$access" ] || die "password grant failed: $answer"
    req -H "Authorization: Bearer $access" "$BASE/$realm/$OIDC/userinfo"
    req -u bench-cc:bench-secret --data-urlencode "token=$access" \
      "$BASE/$realm/$OIDC/token/introspect"
    req -u bench-cc:bench-secret --data-urlencode "token=$refresh" \
      "$BASE/$realm/$OIDC/token/introspect"
    req -u bench-web:bench-web-secret -d grant_type=refresh_token \
      --data-urlencode "refresh_token=$refresh" "$BASE/$realm/$OIDC/token"
  done
done
# Dumped before the stop, so that shutdown's functions are not counted as
# the request paths'.
callgrind_control --dump=requests "$PID" >/dev/null 2>&1
kill -TERM "$PID"
wait "$PID" || true
PID=

python3 - "$TMP" "$OUT" <<'EOF'
import glob, os, re, sys

tmp, out = sys.argv[1], sys.argv[2]
binary = os.path.realpath(tmp + "/realmgate")

def functions(path):
    """Self cost (instructions) of each named function of the binary."""
    cost, ob, fn, call = {}, None, None, False
    for line in open(path):
        if line.startswith("events:") and line.split() != ["events:", "Ir"]:
            sys.exit("function-order: %s counts %s, expected Ir alone" % (path, line.strip()))
        if line.startswith("ob="):
            ob = os.path.realpath(line[3:].strip())
        elif line.startswith("fn="):
            name = re.sub(r"'\d+$", "", line[3:].strip())  # recursion depth
            fn = name if ob == binary and not name.startswith(("0x", "(")) else None
            if fn:
                cost.setdefault(fn, 0)
        elif line.startswith("calls="):
            call = True  # the next cost line is the callee's, not this function's
        elif line[:1].isdigit():
            if fn and not call:
                cost[fn] += int(line.split()[-1])
            call = False
    return cost

# callgrind writes the dumps asked for as cg.out.1 (start-up) and cg.out.2
# (requests), and the one at exit (shutdown, not used) as cg.out.
parts = sorted(glob.glob(tmp + "/cg.out*"))
if parts != [tmp + "/cg.out", tmp + "/cg.out.1", tmp + "/cg.out.2"]:
    sys.exit("function-order: expected the start-up, requests and exit dumps, found %s" % parts)
startup, requests = functions(tmp + "/cg.out.1"), functions(tmp + "/cg.out.2")
if len(startup) < 500 or len(requests) < 100:
    sys.exit("function-order: only %d start-up and %d request-path functions of %s: not written"
             % (len(startup), len(requests), binary))
later = {f: c for f, c in requests.items() if f not in startup}
with open(out, "w") as f:
    f.write("# Written by bench/function-order.sh; read by build.rs (see link/README.md).\n")
    f.write("# Start-up, then the measured request paths, each by instructions spent.\n")
    for group in (startup, later):
        for name, _ in sorted(group.items(), key=lambda kv: (-kv[1], kv[0])):
            f.write(name + "\n")
print("function-order: %d start-up and %d request-path functions in %s"
      % (len(startup), len(later), out), file=sys.stderr)
EOF
