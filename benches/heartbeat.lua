-- wrk script: heartbeats spread over SERVICES registered services (ids bench-0 …).
local services = tonumber(os.getenv("SERVICES") or "1000")
local counter = 0
local body = '{"status": "healthy", "message": "bench", "metadata": {"load": 1}}'
local headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  thread:set("offset", math.random(0, services - 1))
end

function request()
  counter = counter + 1
  local id = (offset + counter * 7919) % services
  return wrk.format("POST", "/api/services/bench-" .. id .. "/heartbeat", headers, body)
end
