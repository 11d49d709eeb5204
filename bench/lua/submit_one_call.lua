-- The one-call submit: POST /attempts with the answer in the body starts and grades in one request.
-- Same shape as submit.lua (-tN -cN, one player's token per thread) so the two compare directly.
package.path = package.path .. ";" .. (os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/?.lua"
local common = require("common")
local challenges = {}
local count, submits, bad = 0, 0, 0

setup = common.setup

function init(args)
   challenges = common.player()
end

function request()
   local challenge = challenges[math.random(#challenges)]
   return wrk.format("POST", "/api/v1/attempts", nil, '{"challenge_id": "' .. challenge .. '", "score": 85}')
end

function response(status, headers, body)
   count = count + 1
   -- 201 and graded (submitted_at set): a 201 still "started" would mean the answer was ignored.
   if status == 201 and body:find('"submitted_at":"', 1, true) then submits = submits + 1 else bad = bad + 1 end
   wrk.thread:set("submits", submits)
   wrk.thread:set("bad", bad)
   if count >= common.max_requests then wrk.thread:stop() end
end

function done(summary, latency, requests)
   common.done(summary, latency, requests, {"submits", "bad"})
end
