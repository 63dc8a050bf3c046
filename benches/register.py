"""Registers services bench-FROM … bench-(TO-1) over a few keep-alive connections (stdlib only)."""
import http.client
import json
import sys
import threading

host, port = sys.argv[1].split(":")
start, end = int(sys.argv[2]), int(sys.argv[3])
workers = 4
failures = []


def work(worker):
    conn = http.client.HTTPConnection(host, int(port))
    for i in range(start + worker, end, workers):
        body = json.dumps({"service_id": f"bench-{i}", "service_name": f"bench service {i}", "metadata": {"team": "bench", "index": i}})
        conn.request("POST", "/api/services", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)


threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    sys.exit(f"{len(failures)} registrations failed: {failures[:5]}")
