-- Shared by the bench scripts: a request cap per thread and one JSON line of results from done().
local M = {}
local threads = {}

function M.setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

M.max_requests = tonumber(os.getenv("WRK_MAX_REQUESTS") or "1000000000")

function M.lines(path)
   local out = {}
   if path and path ~= "" then
      for line in io.lines(path) do
         if line ~= "" then table.insert(out, line) end
      end
   end
   return out
end

function M.done(summary, latency, requests, counters)
   local extra = {}
   for _, name in ipairs(counters or {}) do
      local total = 0
      for _, thread in ipairs(threads) do total = total + (tonumber(thread:get(name)) or 0) end
      table.insert(extra, string.format('"%s": %d', name, total))
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, ' ..
      '"status": %d, "timeout": %d}, "latency_ms": {"p50": %.3f, "p95": %.3f, "p99": %.3f, "max": %.3f, ' ..
      '"mean": %.3f}, "counters": {%s}}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, latency.mean / 1000, table.concat(extra, ", ")))
end

return M
