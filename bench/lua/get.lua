-- GET the URL's path, or a random path from BENCH_PATHS_FILE, with an optional bearer token.
package.path = package.path .. ";" .. (os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/?.lua"
local common = require("common")
local paths, token, count = nil, os.getenv("BENCH_TOKEN"), 0

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
   if count >= common.max_requests then wrk.thread:stop() end
end

function done(summary, latency, requests)
   common.done(summary, latency, requests)
end
