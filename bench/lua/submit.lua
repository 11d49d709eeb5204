-- Start + submit, the way a player does it: POST /attempts, then POST /attempts/{id}/submit.
-- Run with as many threads as connections (-tN -cN): wrk 4.1 keeps Lua state per thread, so one
-- connection per thread lets each thread chain its own start -> submit with its own player's token.
package.path = package.path .. ";" .. (os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/?.lua"
local common = require("common")
local challenges, pending = {}, nil
local count, starts, submits, bad = 0, 0, 0, 0

setup = common.setup

function init(args)
   challenges = common.player()
end

function request()
   if pending then
      return wrk.format("POST", "/api/v1/attempts/" .. pending .. "/submit", nil, '{"score": 85}')
   end
   local challenge = challenges[math.random(#challenges)]
   return wrk.format("POST", "/api/v1/attempts", nil, '{"challenge_id": "' .. challenge .. '"}')
end

function response(status, headers, body)
   count = count + 1
   if pending then
      pending = nil
      if status == 200 then submits = submits + 1 else bad = bad + 1 end
   elseif status == 201 then
      starts = starts + 1
      pending = body:match('"id":"([0-9a-f%-]+)"')
   else
      bad = bad + 1
   end
   wrk.thread:set("starts", starts)
   wrk.thread:set("submits", submits)
   wrk.thread:set("bad", bad)
   if count >= common.max_requests and pending == nil then wrk.thread:stop() end
end

function done(summary, latency, requests)
   common.done(summary, latency, requests, {"starts", "submits", "bad"})
end
