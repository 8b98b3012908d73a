-- POST of one fixed form body with HTTP Basic client authentication:
-- client_credentials token requests and introspection. The same bytes go
-- out on every request, so wrk sends a prebuilt (static) request.
--   WRK_BODY   the application/x-www-form-urlencoded body, already encoded
--   WRK_BASIC  client_id:secret for the Authorization header
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
local b64 = dofile(dir .. "base64.lua")

wrk.method = "POST"
wrk.body = common.env("WRK_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. b64.encode(common.env("WRK_BASIC"))

done = common.done
