-- Shared by the bench scripts: a request cap per thread, a load player per thread and one JSON line
-- of results from done().
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

-- One load player per thread (-tN -cN): the thread's token from BENCH_TOKENS_FILE ("user_id token"
-- lines) as its bearer, JSON bodies and a random seed of its own; returns BENCH_CHALLENGES' ids.
-- For init(), where wrk.thread is the thread's own.
function M.player()
   local tid = tonumber(wrk.thread:get("tid")) or 0
   local tokens = M.lines(os.getenv("BENCH_TOKENS_FILE"))
   local token = tokens[(tid % #tokens) + 1]:match("%S+%s+(%S+)")
   local challenges = {}
   for id in string.gmatch(os.getenv("BENCH_CHALLENGES"), "[^,]+") do table.insert(challenges, id) end
   math.randomseed(os.time() + tid)
   wrk.headers["Authorization"] = "Bearer " .. token
   wrk.headers["Content-Type"] = "application/json"
   return challenges
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
