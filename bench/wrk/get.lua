-- GET of the URL given on wrk's command line (discovery, JWKS, userinfo).
--   WRK_BEARER  optional: an access token sent as `Authorization: Bearer`
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local bearer = common.env_opt("WRK_BEARER")
if bearer then wrk.headers["Authorization"] = "Bearer " .. bearer end

done = common.done
