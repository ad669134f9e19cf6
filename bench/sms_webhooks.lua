-- wrk script for bench/sms_webhooks.sh: POSTs one Aliyun webhook message per request, each from a
-- different phone of the seeded roster (thread t sends from phones MINYI_BENCH_PHONE_BASE + (t - 1) *
-- MINYI_BENCH_PER_THREAD + counter, wrapping within its range) with a fresh sequence_id, and the reply
-- "1" (the first option of the conversation's current question): every message advances an open
-- conversation. setup() and the summary line (done) are bench/web_ingest.lua's (run from the repository).
dofile("bench/web_ingest.lua")
local sent = 0

function init(args)
  base = tonumber(os.getenv("MINYI_BENCH_PHONE_BASE") or "13800000000")
  per_thread = tonumber(os.getenv("MINYI_BENCH_PER_THREAD") or "50000")
  run_id = os.getenv("MINYI_BENCH_RUN") or "run"
end

function request()
  local phone = base + (tid - 1) * per_thread + (sent % per_thread)
  sent = sent + 1
  local body = string.format(
    '[{"phone_number":"%d","send_time":"2025-03-01 10:00:00","content":"1","sign_name":"bench",' ..
    '"dest_code":"1","sequence_id":"%s-%d-%d"}]', phone, run_id, tid, sent)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
