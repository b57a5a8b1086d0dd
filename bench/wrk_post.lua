-- POST JSON bodies from a file (one per line), cycling through them, with an optional bearer token, and print
-- one machine-readable line at the end: WRKJSON {...} (latencies in microseconds).
--   WRK_BODIES=bodies.jsonl WRK_TOKEN=my_... wrk -t2 -c8 -d5s --latency -s wrk_post.lua http://127.0.0.1:8080/v1/models/iris/predict
local bodies_file = os.getenv("WRK_BODIES")
local token = os.getenv("WRK_TOKEN")
local requests = {}
local counter = 0
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  local headers = { ["Content-Type"] = "application/json" }
  if token and #token > 0 then headers["Authorization"] = "Bearer " .. token end
  local f = assert(io.open(bodies_file, "r"))
  for line in f:lines() do
    if #line > 0 then requests[#requests + 1] = wrk.format("POST", nil, headers, line) end
  end
  f:close()
  counter = ((tid or 0) * 7) % #requests
end

function request()
  counter = counter % #requests + 1
  return requests[counter]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"lat_p50_us":%d,"lat_p99_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
