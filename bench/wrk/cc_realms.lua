-- client_credentials across many realms: request i goes to realm
-- scale-(i mod WRK_REALMS)+1, so every realm's keys and clients get loaded
-- and the realm cache is exercised beyond its hot set.
--   WRK_REALMS  how many scale-NNNNN realms exist
--   WRK_BODY    the form body; WRK_BASIC client_id:secret
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
local b64 = dofile(dir .. "base64.lua")

local realms = tonumber(common.env("WRK_REALMS"))
local body = common.env("WRK_BODY")
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Authorization"] = "Basic " .. b64.encode(common.env("WRK_BASIC")),
}
local counter = 0

function init(args)
  -- threads start at different offsets so they do not walk in step
  counter = math.random(0, realms - 1)
end

function request()
  counter = counter + 1
  local path = string.format("/realms/scale-%05d/protocol/openid-connect/token", counter % realms + 1)
  return wrk.format("POST", path, headers, body)
end

done = common.done
