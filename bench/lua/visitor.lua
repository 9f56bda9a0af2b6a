-- wrk script for bench/run.
--
--   wrk ... -s visitor.lua URL -- new THREADS USER_AGENT
--       new visitor: no cookie on any request.
--   wrk ... -s visitor.lua URL -- COOKIE_FILE THREADS USER_AGENT
--       returning visitor: every request carries one of the pre-created
--       sessions' cookies in COOKIE_FILE (one `Cookie` value a line).
--
-- Every request carries USER_AGENT, as a browser's does (Palisade binds a
-- signed-in session to it).
--
-- wrk's Lua API has no per-connection hook, so each thread cycles through
-- its own slice of the file (line i goes to thread i mod threads); with at
-- least as many cookies as connections, concurrent requests rarely share a
-- session. Requests are formatted once in init(), so the script costs wrk
-- nothing per request beyond an index.
--
-- done() prints one machine-readable line, read by bench/run.

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

local requests = {}
local next_request = 1

function init(args)
  local mode = args[1] or "new"
  local headers = { ["User-Agent"] = args[3] }
  if mode == "new" then
    requests[1] = wrk.format("GET", nil, headers)
    return
  end
  local thread_count = tonumber(args[2]) or 1
  local line_number = 0
  for line in io.lines(mode) do
    if line ~= "" then
      if line_number % thread_count == thread_index then
        requests[#requests + 1] = wrk.format("GET", nil, { ["Cookie"] = line, ["User-Agent"] = args[3] })
      end
      line_number = line_number + 1
    end
  end
  if #requests == 0 then
    error("no cookies for thread " .. thread_index .. " in " .. mode)
  end
end

function request()
  local r = requests[next_request]
  next_request = next_request + 1
  if next_request > #requests then
    next_request = 1
  end
  return r
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d "
      .. "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
