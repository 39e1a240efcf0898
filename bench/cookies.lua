-- wrk script: every request carries the next session cookie of the list in the file given after
-- `--` (one `name=value` a line), in turn, so that 64 logged-in sessions share the load evenly;
-- with one cookie in the file, every connection writes the same session. An empty file sends no
-- cookie. When wrk is done it prints one line of JSON, the figures run.js reads.

local requests = {}
local count = 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      requests[#requests + 1] = wrk.format(nil, nil, { ["Cookie"] = line })
    end
  end
  if #requests == 0 then
    requests[1] = wrk.format()
  end
end

function request()
  count = count + 1
  return requests[(count % #requests) + 1]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,' ..
      '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
