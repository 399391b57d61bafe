-- decide.lua: a wrk script that posts decision requests to /v1/decide.
--
--   BODIES=bodies.jsonl wrk -t1 -c8 -d10s -s bench/wrk/decide.lua http://127.0.0.1:8080
--
-- BODIES names a file of events, one a line without "id", as written by
-- `load -dump`. Each request sends the next line with a fresh id in front,
-- so the engine decides every request instead of answering a redelivery
-- from its dedupe memory. Events carry no time: the engine stamps its own
-- receive time, so counters see traffic at the rate wrk sends it.

local path = os.getenv("BODIES")
if not path then
  error("set BODIES to a file written by `load -dump`")
end

local bodies = {}
for line in io.lines(path) do
  if #line > 2 then
    bodies[#bodies + 1] = line:sub(2) -- without its opening brace
  end
end
if #bodies == 0 then
  error(path .. ": no request bodies")
end

-- wrk runs this script once per thread; a per-thread tag keeps ids apart.
local tag = string.format("wrk-%d-%d", os.time(), math.random(1, 1e9))
local n = 0

wrk.method = "POST"
wrk.path = "/v1/decide"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  thread:set("seed", math.random(1, 1e9))
end

function init(args)
  math.randomseed(seed or os.time())
  tag = string.format("wrk-%d-%d", os.time(), math.random(1, 1e9))
end

function request()
  n = n + 1
  local body = '{"id":"' .. tag .. '-' .. n .. '",' .. bodies[(n % #bodies) + 1]
  return wrk.format(nil, nil, nil, body)
end

-- No response() hook: wrk counts non-2xx answers itself, and the hook would
-- make it read every body into Lua.
