-- POST /api/chat as many users, for a load study by hand through the gateway:
--
--   wrk -t2 -c500 -d15s --latency --timeout 10s -s bench/wrk/chat.lua http://127.0.0.1:8080/api/chat
--
-- Each request carries a random X-User-Id, as requests from many users would. Sent from one
-- client without a user key, the load would meet the gateway's per-client rate limit (50 r/s in
-- gateway/routes.toml): most answers would be 429. QUESTION in the environment replaces the
-- question.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("number", threads)
end

function init(args)
  -- Each thread its own sequence of users (a thread's Lua state is its own).
  math.randomseed(os.time() * 1000 + (number or 0))
end

local question = os.getenv("QUESTION") or "How do I get a refund?"
local body = string.format('{"question": "%s", "k": 1}', question:gsub('[\\"]', "\\%0"))
local headers = { ["Content-Type"] = "application/json" }

function request()
  headers["X-User-Id"] = "load-" .. math.random(1, 1000000)
  return wrk.format("POST", nil, headers, body)
end
