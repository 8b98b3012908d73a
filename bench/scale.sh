#!/usr/bin/env bash
# The scale benchmark (bench/README.md, "Scale"): realmgate at 1, 100,
# 1,000 and 10,000 realms, in a realm of 1,000,000 users, and after a soak of
# 1,000,000 issued tokens, on SQLite and on PostgreSQL.
#
# Seeding goes through realmgate's own storage layer (target/release/realmgate-bench,
# which applies generated realm files as `realm import` does, and bulk-inserts
# users with one precomputed argon2id hash). Everything listens on and targets
# 127.0.0.1; every wrk run is bounded by DURATION; the server is stopped by its
# PID on exit.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
PORT="${PORT:-18090}"
BACKENDS="${BACKENDS:-sqlite postgres}"
STEPS="${STEPS:-1 100 1000 10000}"
BIG_USERS="${BIG_USERS:-1000000}"
SOAK_TOKENS="${SOAK_TOKENS:-1000000}"
DURATION="${DURATION:-5s}"
CONNS="${CONNS:-8}"
BUILD="${BUILD:-1}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DB="${PG_DB:-realmgate_scale}"
OUT="${OUTDIR:-$BENCH_DIR/results/scale-$(date -u +%Y%m%dT%H%M%SZ)}"
RG_BIN="$ROOT/target/release/realmgate"
SEED_BIN="$ROOT/target/release/realmgate-bench"
BASE="http://127.0.0.1:$PORT"
CC_BODY="grant_type=client_credentials&scope=api%3Aread"

mkdir -p "$OUT"
RAW="$OUT/results.txt"
: >"$RAW"
TMP="$(mktemp -d)"
SERVER_PID=""

say() { echo "$*" >&2; }
die() { echo "scale: FAILED: $*" >&2; exit 1; }
record() { echo "$*" | tee -a "$RAW" >&2; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
field() { tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap 'stop_server; rm -rf "$TMP"' EXIT INT TERM

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ "$BUILD" = 1 ]; then
  say "== cargo build --release --bins"
  (cd "$ROOT" && cargo build --release --bins --quiet)
fi
[ -x "$RG_BIN" ] && [ -x "$SEED_BIN" ] || die "release binaries missing (run with BUILD=1)"
if curl -s -o /dev/null --max-time 1 "$BASE/health/live"; then die "port $PORT already answers"; fi

# start_server URL LOG : runs `realmgate serve` on URL (no realm files, so
# start-up is migrations-check plus whatever loads eagerly) and sets STARTUP_MS.
start_server() {
  local t0; t0=$(now_ms)
  "$RG_BIN" --database-url "$1" serve --bind "127.0.0.1:$PORT" >"$2" 2>&1 &
  SERVER_PID=$!
  local probe="$BASE/realms/scale-00001/.well-known/openid-configuration"
  for _ in $(seq 1 3000); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$probe" || true)" = 200 ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || die "server exited: $(tail -5 "$2")"
    sleep 0.01
  done
  STARTUP_MS=$(( $(now_ms) - t0 ))
}

# wrk_run NAME URL SCRIPT [VAR=value...] : a bounded wrk run; prints its RESULT fields.
wrk_run() {
  local name=$1 url=$2 script=$3; shift 3
  env "$@" wrk -t2 -c"$CONNS" -d"$DURATION" --timeout 5s --latency -s "$BENCH_DIR/wrk/$script" "$url" \
    >"$OUT/wrk-$name.txt" 2>&1 || die "wrk $name failed: $(tail -3 "$OUT/wrk-$name.txt")"
  grep '^RESULT ' "$OUT/wrk-$name.txt" | tail -1 | sed 's/^RESULT //'
}

# login_run BACKEND REALM USER : password logins (the password grant), argon2id
# bound, so two connections (about one hash per core). A short unrecorded
# run first: the first logins after a start pay for cold caches (the realm's
# load, the users index's pages), up to 0.4 s in the 1,000,000-user realm,
# which is start-up, not steady latency.
login_run() {
  local backend=$1 realm=$2 user=$3
  local url="$BASE/realms/$realm/protocol/openid-connect/token"
  local body="grant_type=password&username=$user&password=scale-pass&scope=openid"
  CONNS=2 DURATION=2s wrk_run "$backend-login-$realm-warmup" "$url" post_form.lua \
    WRK_BODY="$body" WRK_BASIC=bench-web:bench-web-secret >/dev/null
  CONNS=2 wrk_run "$backend-login-$realm" "$url" post_form.lua WRK_BODY="$body" WRK_BASIC=bench-web:bench-web-secret
}

db_size_bytes() {
  case $1 in
    sqlite) local f=$2 total=0 s
      for s in "$f" "$f-wal"; do [ -f "$s" ] && total=$((total + $(stat -c %s "$s"))); done
      echo "$total" ;;
    postgres) psql -qtA "$PG_URL" -c "SELECT pg_database_size(current_database())" ;;
  esac
}

scale_backend() {
  local backend=$1 url dbfile=""
  export REALMGATE_SECRET_KEY_FILE="$TMP/$backend.key"
  case $backend in
    sqlite) dbfile="$TMP/scale.db"; url="sqlite://$dbfile" ;;
    postgres)
      psql -qtA "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" >/dev/null
      PG_URL="${PG_ADMIN_URL%/*}/$PG_DB"; url=$PG_URL ;;
  esac

  local n line
  for n in $STEPS; do
    say "== $backend: seeding to $n realms"
    line=$("$SEED_BIN" seed --database-url "$url" --realms "$n" 2>>"$OUT/seed-$backend.log" | sed -n 's/^RESULT //p')
    record "SEED backend=$backend $line"
    start_server "$url" "$OUT/server-$backend-$n.log"
    sleep 1
    local rest; rest=$(rss_kib "$SERVER_PID" VmRSS)
    # Touch every realm (keys decrypted, clients loaded) through the bounded realm cache.
    local touch; touch=$(wrk_run "$backend-touch-$n" "$BASE" cc_realms.lua \
      WRK_REALMS="$n" WRK_BODY="$CC_BODY" WRK_BASIC=bench-cc:bench-secret)
    local loaded; loaded=$(rss_kib "$SERVER_PID" VmRSS)
    record "REALMS backend=$backend realms=$n startup_ms=$STARTUP_MS rss_rest_kib=$rest rss_after_touch_kib=$loaded touch_rps=$(field rps <<<"$touch") touch_non2xx=$(field non2xx <<<"$touch")"
    if [ "$n" = "${STEPS##* }" ]; then
      local last; last=$(printf 'scale-%05d' "$n")
      local first_r last_r
      first_r=$(wrk_run "$backend-first" "$BASE/realms/scale-00001/protocol/openid-connect/token" post_form.lua \
        WRK_BODY="$CC_BODY" WRK_BASIC=bench-cc:bench-secret)
      last_r=$(wrk_run "$backend-last" "$BASE/realms/$last/protocol/openid-connect/token" post_form.lua \
        WRK_BODY="$CC_BODY" WRK_BASIC=bench-cc:bench-secret)
      record "TOKEN backend=$backend realm=scale-00001 $first_r"
      record "TOKEN backend=$backend realm=$last $last_r"
      local realm r
      for realm in scale-00001 "$last"; do
        r=$(login_run "$backend" "$realm" user-7)
        record "LOGIN backend=$backend realm=$realm $r"
      done
    fi
    stop_server
  done

  say "== $backend: a realm of $BIG_USERS users and one of 100"
  line=$("$SEED_BIN" users --database-url "$url" --realm scale-big --users "$BIG_USERS" 2>>"$OUT/seed-$backend.log" | sed -n 's/^RESULT //p')
  record "SEED backend=$backend $line"
  line=$("$SEED_BIN" users --database-url "$url" --realm scale-small --users 100 2>>"$OUT/seed-$backend.log" | sed -n 's/^RESULT //p')
  record "SEED backend=$backend $line"
  start_server "$url" "$OUT/server-$backend-users.log"
  local realm user r
  for realm in scale-small scale-big; do
    user=user-77; [ "$realm" = scale-big ] && user=user-$((BIG_USERS - 23))
    r=$(wrk_run "$backend-token-$realm" "$BASE/realms/$realm/protocol/openid-connect/token" post_form.lua \
      WRK_BODY="$CC_BODY" WRK_BASIC=bench-cc:bench-secret)
    record "TOKEN backend=$backend realm=$realm $r"
    r=$(login_run "$backend" "$realm" "$user")
    record "LOGIN backend=$backend realm=$realm $r"
  done
  stop_server

  say "== $backend: soak of $SOAK_TOKENS tokens"
  local before; before=$(db_size_bytes "$backend" "$dbfile")
  line=$("$SEED_BIN" soak --database-url "$url" --tokens "$SOAK_TOKENS" 2>>"$OUT/seed-$backend.log" | tee -a "$OUT/soak-$backend.txt" | sed -n 's/^RESULT //p')
  [ -n "$line" ] || die "soak on $backend failed: $(tail -3 "$OUT/seed-$backend.log")"
  local after; after=$(db_size_bytes "$backend" "$dbfile")
  record "SOAK backend=$backend db_before_bytes=$before db_after_bytes=$after $line"
}

for b in $BACKENDS; do scale_backend "$b"; done

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
  echo
  echo "realmgate scale run, $(date -u +%F\ %H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg), DURATION=$DURATION, wrk -t2 -c$CONNS"
  echo
  echo "| backend | realms | start-up (ms) | RSS at rest (MiB) | RSS after touching every realm (MiB) | cc req/s across all realms |"
  echo "| --- | --- | --- | --- | --- | --- |"
  grep '^REALMS ' "$RAW" | while read -r l; do
    echo "| $(field backend <<<"$l") | $(field realms <<<"$l") | $(field startup_ms <<<"$l") | $(mib "$(field rss_rest_kib <<<"$l")") | $(mib "$(field rss_after_touch_kib <<<"$l")") | $(field touch_rps <<<"$l") |"
  done
  echo
  echo "| backend | case | req/s | p50 (ms) | p99 (ms) |"
  echo "| --- | --- | --- | --- | --- |"
  grep -E '^(TOKEN|LOGIN) ' "$RAW" | while read -r l; do
    echo "| $(field backend <<<"$l") | ${l%% *} $(field realm <<<"$l") | $(field rps <<<"$l") | $(field p50_ms <<<"$l") | $(field p99_ms <<<"$l") |"
  done
  echo
  echo "| backend | tokens | soak time (s) | DB before (MiB) | DB after (MiB) | rows left | nothing live pruned |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  grep '^SOAK ' "$RAW" | while read -r l; do
    echo "| $(field backend <<<"$l") | $(field tokens <<<"$l") | $(field seconds <<<"$l") | $(mib $(( $(field db_before_bytes <<<"$l") / 1024 ))) | $(mib $(( $(field db_after_bytes <<<"$l") / 1024 ))) | $(field rows <<<"$l") | $(field nothing_live_pruned <<<"$l") |"
  done
} | tee "$OUT/table.md"
