-- Pipelining depth 16: each write carries 16 GETs back to back.
-- wrk counts each response, so req/s are requests, not batches.
init = function(args)
  local batch = {}
  for i = 1, 16 do
    batch[i] = wrk.format(nil, "/")
  end
  pipelined = table.concat(batch)
end

request = function()
  return pipelined
end
