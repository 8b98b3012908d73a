-- The authorization-code flow, as a browser and a client back end drive it,
-- in one of two modes:
--
--   signed in (WRK_COOKIE set: code_flow_sso): the browser has a live SSO
--     session and the user consented before, so a flow is
--       GET authorize (Cookie)             -> 302 to redirect_uri?code=...
--       POST token (authorization_code)    -> 200 with an access_token
--   password login (WRK_LOGIN set: code_flow_login): every flow starts with
--     an empty cookie jar, so a flow is
--       GET authorize (no cookie)          -> 200 login page (form action,
--                                             hidden inputs, CSRF cookie)
--       POST the login form                -> 302 to redirect_uri?code=...
--       POST token (authorization_code)    -> 200 with an access_token
--
-- wrk gives response() no connection identity, so each thread keeps work
-- queues instead of per-connection state: a response that carries a code
-- queues a token request, a login page queues a login POST, and request()
-- takes the most advanced step first (token, then login, then a new
-- authorize). Each flow's steps are therefore sent one after another, and
-- at most one step per connection is in flight. A flow counts once its
-- token answer is a 200 with an access_token; flows_per_s = flows / run time.
--
-- Anything else (another status, a 302 without a code or with an error, a
-- login page with an error, a page in the signed-in mode) is counted in
-- non2xx, with the status codes and the first bad answer.
--
--   WRK_TOKEN_PATH     path of the token endpoint (the authorize URL, with its
--                      query, is the one given on wrk's command line)
--   WRK_BASIC          client_id:secret of the confidential client
--   WRK_REDIRECT_URI   the redirect_uri sent in the authorization request
--   WRK_CODE_VERIFIER  optional: the PKCE verifier of the request's challenge
--   WRK_COOKIE         signed-in mode: the Cookie header (the SSO session)
--   WRK_LOGIN          login mode: username:password for the login form
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
local b64 = dofile(dir .. "base64.lua")

---------------------------------------------------------------------------
-- Main Lua state: setup() once per thread, done() at the end.

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local bad, flows, by_code, sample = 0, 0, {}, nil
  for _, t in ipairs(threads) do
    bad = bad + t:get("bad")
    flows = flows + t:get("flows")
    for code, n in t:get("codes"):gmatch("(%d+):(%d+)") do
      by_code[code] = (by_code[code] or 0) + tonumber(n)
    end
    sample = sample or t:get("first_error")
  end
  local codes = {}
  for code, n in pairs(by_code) do codes[#codes + 1] = code .. ":" .. n end
  table.sort(codes)
  io.write(common.result_line(summary, latency, bad, {
    { "flows", flows },
    { "flows_per_s", string.format("%.1f", flows / (summary.duration / 1e6)) },
    { "codes", #codes > 0 and table.concat(codes, ",") or "-" },
  }))
  if sample then io.write("FIRST_ERROR " .. sample:gsub("%s+", " ") .. "\n") end
end

---------------------------------------------------------------------------
-- Each thread's Lua state: init(), request(), response().

-- Globals read by done() through thread:get.
bad, flows, codes, first_error = 0, 0, "", nil

local by_status = {}
local token_path, redirect_uri, verifier, cookie, login_creds
local authorize_headers, form_headers, token_headers = {}, {}, {}

-- FIFO queues of pending steps.
local function queue()
  return { head = 1, tail = 0 }
end
local function push(q, v)
  q.tail = q.tail + 1
  q[q.tail] = v
end
local function pop(q)
  if q.head > q.tail then return nil end
  local v = q[q.head]
  q[q.head] = nil
  q.head = q.head + 1
  return v
end
local codes_q, logins_q = queue(), queue()

local function fail(status, what)
  -- an HTML page is summed up by its title and alert, if any
  local title = what:match("<title>%s*(.-)%s*</title>")
  if title then
    local alert = what:match('role="alert"[^>]*>%s*([^<]-)%s*<')
    what = "page '" .. title .. "'" .. (alert and (": " .. alert) or "")
  end
  bad = bad + 1
  by_status[status] = (by_status[status] or 0) + 1
  local parts = {}
  for s, n in pairs(by_status) do parts[#parts + 1] = s .. ":" .. n end
  codes = table.concat(parts, ",")
  first_error = first_error or (status .. " " .. what:sub(1, 300))
end

function init(args)
  token_path = common.env("WRK_TOKEN_PATH")
  redirect_uri = common.env("WRK_REDIRECT_URI")
  verifier = common.env_opt("WRK_CODE_VERIFIER")
  cookie = common.env_opt("WRK_COOKIE")
  local login = common.env_opt("WRK_LOGIN")
  if (cookie == nil) == (login == nil) then error("set exactly one of WRK_COOKIE and WRK_LOGIN") end
  if login then
    local user, pass = login:match("^([^:]*):(.*)$")
    login_creds = "&username=" .. common.form_escape(user) .. "&password=" .. common.form_escape(pass)
  end
  if cookie then authorize_headers["Cookie"] = cookie end
  form_headers["Content-Type"] = "application/x-www-form-urlencoded"
  token_headers["Content-Type"] = "application/x-www-form-urlencoded"
  token_headers["Authorization"] = "Basic " .. b64.encode(common.env("WRK_BASIC"))
end

function request()
  local code = pop(codes_q)
  if code then
    local body = "grant_type=authorization_code&code=" .. common.form_escape(code)
      .. "&redirect_uri=" .. common.form_escape(redirect_uri)
    if verifier then body = body .. "&code_verifier=" .. common.form_escape(verifier) end
    return wrk.format("POST", token_path, token_headers, body)
  end
  local login = pop(logins_q)
  if login then
    local headers = { ["Content-Type"] = form_headers["Content-Type"], ["Cookie"] = login.cookie }
    return wrk.format("POST", login.path, headers, login.body)
  end
  -- a new flow (wrk.path is the authorize URL's path and query)
  return wrk.format("GET", nil, authorize_headers, nil)
end

-- The login page's form as a queued POST: its action (made a path: same
-- origin), its hidden inputs sent back as they are, the credentials, and the
-- cookie the page set (the CSRF token's twin).
local function queue_login(headers, body)
  local action = body:match('<form[^>]-method="post"[^>]-action="([^"]*)"')
  if action == nil then return fail(200, "no login form: " .. body) end
  action = common.html_unescape(action)
  local path = action:gsub("^https?://[^/]+", "")
  local fields = {}
  for input in body:gmatch("<input[^>]->") do
    if input:match('type="hidden"') then
      local name, value = input:match('name="([^"]*)"'), input:match('value="([^"]*)"')
      if name then
        fields[#fields + 1] = common.form_escape(common.html_unescape(name)) .. "="
          .. common.form_escape(common.html_unescape(value or ""))
      end
    end
  end
  local set_cookie = common.header(headers, "Set-Cookie")
  push(logins_q, {
    path = path,
    body = table.concat(fields, "&") .. login_creds,
    cookie = set_cookie and set_cookie:match("^[^;]+") or nil,
  })
end

function response(status, headers, body)
  if status == 302 or status == 303 then
    local location = common.header(headers, "Location") or ""
    local code = location:match("[?&]code=([^&#]+)")
    if code == nil or location:sub(1, #redirect_uri) ~= redirect_uri then
      return fail(status, "redirect without a code: " .. location)
    end
    -- the code as sent (URL-encoded in the query): decode before re-encoding
    code = code:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    return push(codes_q, code)
  end
  if status == 200 then
    if body:match('"access_token"%s*:%s*"') then
      flows = flows + 1
      return
    end
    if login_creds and not body:match('id="login%-error"') and body:match('name="password"') then
      return queue_login(headers, body)
    end
  end
  fail(status, body)
end
