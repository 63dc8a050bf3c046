-- wrk script: GET /api/services/{id} spread over SERVICES registered services:
-- the same reply as a heartbeat's (the record with its inline events), no write.
local services = tonumber(os.getenv("SERVICES") or "1000")
local counter = 0

function setup(thread)
  thread:set("offset", math.random(0, services - 1))
end

function request()
  counter = counter + 1
  local id = (offset + counter * 7919) % services
  return wrk.format("GET", "/api/services/bench-" .. id)
end
