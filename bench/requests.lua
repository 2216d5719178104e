-- wrk script: cycle through pre-signed WeChat requests read from a file (one "path?query<TAB>body" a line).
-- Usage: wrk ... -s bench/requests.lua URL -- <requests file> <wrk threads>
-- Thread k of n takes lines k, k+n, k+2n... so no two threads send the same MsgId; a thread that runs out
-- starts again from its first line and counts a wrap (the server then sees retries: its dedupe path).
-- done() prints one line "BENCH_JSON {...}" with the figures bench/webhook.py reads.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   local path, nthreads = args[1], tonumber(args[2] or "1")
   local headers = { ["Content-Type"] = "text/xml" }
   reqs, pos, wraps = {}, 0, 0
   local i = 0
   for line in io.lines(path) do
      if i % nthreads == id then
         local target, body = line:match("^([^\t]*)\t(.*)$")
         reqs[#reqs + 1] = wrk.format("POST", target, headers, body)
      end
      i = i + 1
   end
   if #reqs == 0 then
      error("no requests for thread " .. id .. " in " .. path)
   end
end

function request()
   pos = pos + 1
   if pos > #reqs then
      pos, wraps = 1, wraps + 1
   end
   return reqs[pos]
end

function done(summary, latency, requests)
   local wrapped = 0
   for _, thread in ipairs(threads) do
      wrapped = wrapped + (thread:get("wraps") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"wraps":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
      summary.requests, summary.duration, summary.bytes, wrapped,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9), latency.max))
end
