-- wrk script for bench/web_ingest.sh: POSTs one response per request, each with a unique
-- idempotency key (thread id + counter), or the same body to the echo route. Prints one summary line.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tid
  api_key = os.getenv("MINYI_BENCH_KEY") or ""
  period = os.getenv("MINYI_BENCH_PERIOD") or "2025"
  run_id = os.getenv("MINYI_BENCH_RUN") or "run"
end

local towns = {"320812007", "320102002", "320312118", "320612002", "320813105", "321084108"}

function request()
  counter = counter + 1
  local body = string.format(
    '{"survey":"jiangsu-safety","period":%s,"town":"%s","idempotency_key":"%s-%d-%d",' ..
    '"answers":{"security":"%d","grid":"%d","sex":"%d","age_band":"60+"}}',
    period, towns[(counter % #towns) + 1], run_id, thread_id, counter, (counter % 5) + 1, (counter % 3) + 1,
    (counter % 2) + 1)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. api_key}, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write +
              summary.errors.timeout
  io.write(string.format("RESULT ok_per_s=%.0f requests=%d non2xx_or_errors=%d p50_ms=%.2f p99_ms=%.2f\n",
    (summary.requests - bad) / seconds, summary.requests, bad, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
