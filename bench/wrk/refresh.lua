-- POST /token with grant_type=refresh_token, under rotation.
--
-- Each refresh token is single-use, and presenting a spent one revokes its
-- whole family (the realm's reuse grace is 0 s), so no token may ever be
-- sent twice. bench.sh mints a pool of tokens (one per line in
-- WRK_TOKENS_FILE, about two per connection) with the password grant;
-- setup() deals each wrk thread its own disjoint slice, each thread keeps a
-- FIFO queue, request() takes a token from it and response() puts the
-- rotated token from the answer back. A thread has more tokens than
-- connections, so a connection never waits for one.
--
-- Anything but a 200 carrying a new refresh token is counted in non2xx (a
-- lost token also shrinks the pool); a request made with an empty queue is
-- counted as "starved" and sent with a bogus token, so it fails visibly.
--
--   WRK_TOKENS_FILE  the token pool
--   WRK_THREADS      wrk's -t (setup() cannot see the thread count)
--   WRK_BASIC        client_id:secret of the confidential client
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
local b64 = dofile(dir .. "base64.lua")

---------------------------------------------------------------------------
-- Main Lua state: setup() runs once per thread before it starts, done()
-- once at the end.

local threads = {}
local pool = nil

local function read_pool()
  local path = common.env("WRK_TOKENS_FILE")
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  local tokens = {}
  for line in f:lines() do
    if line ~= "" then tokens[#tokens + 1] = line end
  end
  f:close()
  return tokens
end

function setup(thread)
  pool = pool or read_pool()
  local nthreads = tonumber(common.env("WRK_THREADS"))
  threads[#threads + 1] = thread
  local id = #threads
  -- Thread `id` gets tokens id, id+n, id+2n, ...: disjoint slices.
  local mine = {}
  for i = id, #pool, nthreads do mine[#mine + 1] = pool[i] end
  -- thread:set copies strings reliably into the thread's Lua state.
  thread:set("slice", table.concat(mine, "\n"))
end

function done(summary, latency, requests)
  local non200, starved, left, by_code, sample = 0, 0, 0, {}, nil
  for _, t in ipairs(threads) do
    non200 = non200 + t:get("non200")
    starved = starved + t:get("starved")
    left = left + t:get("queued")
    for code, n in t:get("codes"):gmatch("(%d+):(%d+)") do
      by_code[code] = (by_code[code] or 0) + tonumber(n)
    end
    sample = sample or t:get("first_error")
  end
  local codes = {}
  for code, n in pairs(by_code) do codes[#codes + 1] = code .. ":" .. n end
  table.sort(codes)
  io.write(common.result_line(summary, latency, non200, {
    { "starved", starved },
    { "tokens_left", left },
    { "codes", #codes > 0 and table.concat(codes, ",") or "-" },
  }))
  if sample then io.write("FIRST_ERROR " .. sample:gsub("%s+", " ") .. "\n") end
end

---------------------------------------------------------------------------
-- Each thread's Lua state: init(), request(), response().

-- Globals read by done() through thread:get.
non200, starved, queued, codes, first_error = 0, 0, 0, "", nil

local queue, head, tail = {}, 1, 0
local by_status = {}

local function push(token)
  tail = tail + 1
  queue[tail] = token
  queued = queued + 1
end

local function pop()
  if head > tail then return nil end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  queued = queued - 1
  return token
end

-- Form-encodes a token (they are URL-safe today; this keeps it so).
local function form_escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function fail(status, body)
  non200 = non200 + 1
  by_status[status] = (by_status[status] or 0) + 1
  local parts = {}
  for s, n in pairs(by_status) do parts[#parts + 1] = s .. ":" .. n end
  codes = table.concat(parts, ",")
  first_error = first_error or (status .. " " .. body:sub(1, 300))
end

-- The request up to its Content-Length value, built once: wrk.format per
-- request cost wrk a few microseconds of the CPU it shares with the server.
local request_head

function init(args)
  for token in slice:gmatch("[^\n]+") do push(token) end
  request_head = "POST " .. wrk.path .. " HTTP/1.1\r\n"
    .. "Host: " .. wrk.headers["Host"] .. "\r\n"
    .. "Content-Type: application/x-www-form-urlencoded\r\n"
    .. "Authorization: Basic " .. b64.encode(common.env("WRK_BASIC")) .. "\r\n"
    .. "Content-Length: "
end

-- Note: wrk calls request() once more at start-up to check the request's
-- shape; that token is taken but never sent, so it is merely left unused.
function request()
  local token = pop()
  if token == nil then
    starved = starved + 1
    token = "pool-exhausted"
  end
  -- Tokens are URL-safe today; escaping only when one is not keeps it so.
  if token:find("[^%w%-%._~]") then token = form_escape(token) end
  local body = "grant_type=refresh_token&refresh_token=" .. token
  return request_head .. #body .. "\r\n\r\n" .. body
end

-- The new token: a plain find in the compact JSON realmgate writes (the
-- pattern, which tries every position of the 1 KB body, only as fallback).
function response(status, hdrs, body)
  if status ~= 200 then return fail(status, body) end
  local token
  local key = '"refresh_token":"'
  local at = body:find(key, 1, true)
  local close = at and body:find('"', at + #key, true)
  if close then
    token = body:sub(at + #key, close - 1)
  else
    token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  end
  if token == nil then return fail(status, body) end
  push(token)
end
