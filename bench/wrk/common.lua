-- Shared by every bench script: locate siblings, and print one
-- machine-readable RESULT line when the run ends.
--
-- wrk reports latency in microseconds. "non2xx" is wrk's own count of
-- answers with status >= 400 (summary.errors.status) unless a script keeps
-- its own stricter count (see refresh.lua); "errors" are socket-level
-- failures (connect, read, write, timeout), whose requests got no answer.

local M = {}

-- Formats the summary; `extra` is an optional table of key=value pairs
-- appended in the order given as {{"key", value}, ...}.
function M.result_line(summary, latency, non2xx, extra)
  local secs = summary.duration / 1e6
  local e = summary.errors
  local sock = e.connect + e.read + e.write + e.timeout
  local line = string.format(
    "RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f max_ms=%.3f requests=%d non2xx=%d errors=%d",
    summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000,
    summary.requests, non2xx or e.status, sock)
  for _, kv in ipairs(extra or {}) do
    line = line .. string.format(" %s=%s", kv[1], tostring(kv[2]))
  end
  return line .. "\n"
end

-- Default done(): wrk's own status count.
function M.done(summary, latency, requests)
  io.write(M.result_line(summary, latency, nil, nil))
end

-- Reads a required environment variable (the scripts take their settings
-- from the environment, as bench.sh sets it per case).
function M.env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then error(name .. " is not set") end
  return v
end

-- Reads an optional environment variable: nil when unset or empty.
function M.env_opt(name)
  local v = os.getenv(name)
  if v == "" then return nil end
  return v
end

-- Form-encodes a value (application/x-www-form-urlencoded; the RFC 3986
-- unreserved characters stay as they are).
function M.form_escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- Undoes HTML escaping in an attribute value (named entities for & < > " '
-- and numeric ones, as template engines write them).
function M.html_unescape(s)
  s = s:gsub("&#[xX](%x+);", function(h) return string.char(tonumber(h, 16)) end)
  s = s:gsub("&#(%d+);", function(d) return string.char(tonumber(d)) end)
  s = s:gsub("&quot;", '"'):gsub("&#39;", "'"):gsub("&apos;", "'")
  s = s:gsub("&lt;", "<"):gsub("&gt;", ">"):gsub("&amp;", "&")
  return s
end

-- A response header by name, whatever its case (wrk passes the names as
-- the server sent them; it keeps only the last of repeated headers).
function M.header(headers, name)
  name = name:lower()
  for k, v in pairs(headers) do
    if k:lower() == name then return v end
  end
  return nil
end

return M
