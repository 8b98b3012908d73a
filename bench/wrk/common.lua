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

return M
