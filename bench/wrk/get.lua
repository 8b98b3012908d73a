-- GET of the URL given on wrk's command line (discovery, JWKS).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

done = common.done
