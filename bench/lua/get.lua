-- GET the URL's path, or a random path from BENCH_PATHS_FILE, with an optional bearer token.
package.path = package.path .. ";" .. (os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/?.lua"
local common = require("common")
local paths, token, count, bad = nil, os.getenv("BENCH_TOKEN"), 0, 0

setup = common.setup

function init(args)
   paths = common.lines(os.getenv("BENCH_PATHS_FILE"))
   math.randomseed(os.time() + (tonumber(wrk.thread:get("tid")) or 0))
   if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
end

function request()
   if #paths > 0 then
      return wrk.format("GET", paths[math.random(#paths)])
   end
   return wrk.format("GET")
end

function response(status, headers, body)
   count = count + 1
   -- wrk itself only counts 4xx/5xx as errors: a redirect (e.g. to HTTPS) must not pass as a success.
   if status ~= 200 then
      bad = bad + 1
      wrk.thread:set("bad", bad)
   end
   if count >= common.max_requests then wrk.thread:stop() end
end

function done(summary, latency, requests)
   common.done(summary, latency, requests, {"bad"})
end
