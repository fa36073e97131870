-- wrk: count each response (load_test.py prepends wrk.method, wrk.body and `expected`, the
-- text a correct 200 must hold); done() sums the threads' counts into one RESULT line.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, mismatch, r429, other = 0, 0, 0, 0
end

function response(status, headers, body)
  if status == 200 then
    if string.find(body, expected, 1, true) then ok = ok + 1 else mismatch = mismatch + 1 end
  elseif status == 429 then
    r429 = r429 + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local o, m, r, x = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); m = m + t:get("mismatch"); r = r + t:get("r429"); x = x + t:get("other")
  end
  io.write(string.format("RESULT ok=%d mismatch=%d r429=%d other=%d\n", o, m, r, x))
end
