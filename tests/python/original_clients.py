"""Sends exactly the requests the original LaneSwap Python clients send
(wire-api.md §10 and §13) and checks the answers the way those clients do:
exact status codes, JSON content types aiohttp accepts, the keys they read.

Usage: python original_clients.py http://127.0.0.1:PORT
Only aiohttp and requests are used, as the original clients do.
"""

import asyncio
import datetime
import re
import sys
import traceback

import aiohttp
import requests

API = sys.argv[1].rstrip("/") + "/api"
RESULTS = {"passed": 0, "failed": 0}
ISO_FRACTION = re.compile(r"\.\d{1,6}(?:Z|[+-]\d\d:\d\d)?$")


def check(name, condition, detail=""):
    if condition:
        RESULTS["passed"] += 1
    else:
        RESULTS["failed"] += 1
        print(f"FAIL {name} {detail}")


def parse_time(text):
    # The terminal monitor and CLI replace Z before fromisoformat.
    check("timestamp has at most 6 fractional digits", ISO_FRACTION.search(text) is not None, text)
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


async def async_client_session():
    # aiohttp's defaults, as LaneswapAsyncClient: json= uses json.dumps with its default separators.
    async with aiohttp.ClientSession() as session:
        # connect(): register with service_name only.
        async with session.post(f"{API}/services", json={"service_name": "async-svc", "metadata": {}}) as r:
            check("register -> 200", r.status == 200, r.status)
            data = await r.json()  # raises unless the content type is JSON
            service_id = data.get("service_id")
            check("register returns a non-empty service_id", bool(service_id), data)

        # register_service() after connect(): re-sends the id (an overwrite).
        body = {"service_id": service_id, "service_name": "simple", "metadata": {"version": "1.0.0"}}
        async with session.post(f"{API}/services", json=body) as r:
            check("re-register -> 200", r.status == 200, r.status)
            check("re-register keeps the id", (await r.json())["service_id"] == service_id)

        # send_heartbeat() variants.
        hb_url = f"{API}/services/{service_id}/heartbeat"
        for body in (
            {"status": "healthy", "metadata": {}},
            {"status": "warning", "message": "hello", "metadata": {"k": 1}},
            {
                "status": "busy",
                "message": "Progress update: step 1",
                "metadata": {"execution_id": "e1", "progress": {"step": "step 1", "progress": 50.0, "timestamp": "2026-11-28T12:00:00"}},
            },
        ):
            async with session.post(hb_url, json=body) as r:
                check("heartbeat -> 200", r.status == 200, r.status)
                data = await r.json()
                check("heartbeat answers the id", data["id"] == service_id, data)
                check("heartbeat answers the status", data["status"] == body["status"], data)
                check("heartbeat answers the message", data["message"] == body.get("message"), data)
                for key in ("id", "name", "status", "message", "metadata", "created_at", "last_heartbeat", "events"):
                    check(f"projection has {key}", key in data, list(data))
                parse_time(data["last_heartbeat"])
        check("metadata merged", data["metadata"]["version"] == "1.0.0" and data["metadata"]["k"] == 1, data["metadata"])

        # A heartbeat with no body, and with a JSON null body, means healthy.
        async with session.post(hb_url) as r:
            check("empty heartbeat -> 200", r.status == 200, r.status)
            check("empty heartbeat is healthy", (await r.json())["status"] == "healthy")
        async with session.post(hb_url, data="null", headers={"Content-Type": "application/json"}) as r:
            check("null heartbeat -> 200", r.status == 200, r.status)

        # get_service(): 200, and 404 for unknown ids (ServiceNotFoundError).
        async with session.get(f"{API}/services/{service_id}") as r:
            check("get -> 200", r.status == 200, r.status)
            data = await r.json()
            check("get has events", len(data["events"]) == 5, len(data["events"]))
            parse_time(data["created_at"])
        async with session.get(f"{API}/services/no-such-service") as r:
            check("get unknown -> 404", r.status == 404, r.status)
            check("404 detail", (await r.json()) == {"detail": "Service not found: no-such-service"})

        # get_all_services(): services keyed by id.
        async with session.get(f"{API}/services") as r:
            check("list -> 200", r.status == 200, r.status)
            data = await r.json()
            check("services is a dict", isinstance(data["services"], dict))
            check("services keyed by id", service_id in data["services"])
            counts = data["summary"]["status_counts"]
            check("all seven status keys", list(counts) == ["healthy", "warning", "degraded", "error", "busy", "stale", "unknown"], counts)
            for sid, record in data["services"].items():
                check("record id matches key", record["id"] == sid)
                if record["last_heartbeat"]:
                    parse_time(record["last_heartbeat"])

        # start_progress / update_progress / complete_progress.
        body = {"service_id": service_id, "task_name": "T", "total_steps": 10, "description": None, "metadata": {}}
        async with session.post(f"{API}/progress", json=body) as r:
            check("start_progress -> 201", r.status == 201, r.status)
            task_id = (await r.json()).get("task_id")
            check("start_progress returns task_id", bool(task_id))
        body = {"service_id": service_id, "task_id": task_id, "current_step": 5, "status": "running", "message": None, "metadata": {}}
        async with session.put(f"{API}/progress/{task_id}", json=body) as r:
            check("update_progress -> 200", r.status == 200, r.status)
            check("percent", (await r.json())["percent_complete"] == 50.0)
        body = {"service_id": service_id, "task_id": task_id, "status": "completed", "message": "done", "metadata": {}}
        async with session.put(f"{API}/progress/{task_id}/complete", json=body) as r:
            check("complete_progress -> 200", r.status == 200, r.status)
            check("completed", (await r.json())["status"] == "completed")

        # Errors: unknown id 404; a bad status is 422 even for an unknown id.
        async with session.post(f"{API}/services/ghost/heartbeat", json={"status": "healthy", "metadata": {}}) as r:
            check("heartbeat unknown -> 404", r.status == 404, r.status)
            check("heartbeat 404 detail", (await r.json())["detail"] == "Service not found: ghost")
        async with session.post(f"{API}/services/ghost/heartbeat", json={"status": "critical"}) as r:
            check("bad status -> 422 before 404", r.status == 422, r.status)
            detail = (await r.json())["detail"]
            check("422 is a FastAPI list", isinstance(detail, list) and detail[0]["type"] == "enum", detail)

        # Health, as tests and check-servers call it.
        async with session.get(f"{API}/health") as r:
            data = await r.json()
            check("health", r.status == 200 and data["status"] == "ok" and data["service"] == "LaneSwap API", data)
            parse_time(data["timestamp"])
    return service_id


def sync_consumers(service_id):
    # The terminal monitor polls GET /api/services; the old dashboard used CORS.
    r = requests.get(f"{API}/services", headers={"Accept": "application/json", "Origin": "http://localhost:8080"})
    check("requests list -> 200", r.status_code == 200, r.status_code)
    check("requests JSON content type", r.headers["content-type"].startswith("application/json"))
    check("CORS allow-origin *", r.headers.get("access-control-allow-origin") == "*", dict(r.headers))
    services = r.json()["services"]
    record = services[service_id]
    for key in ("status_message", "message", "last_heartbeat", "name", "status"):
        check(f"monitor reads {key}", key in record)
    # A sync client created with a service_id sends heartbeats directly.
    r = requests.post(f"{API}/services/{service_id}/heartbeat", json={"status": "healthy", "metadata": {}})
    check("requests heartbeat -> 200", r.status_code == 200, r.status_code)
    r = requests.get(f"{API}/services/")
    check("trailing slash redirect followed", r.status_code == 200 and r.history and r.history[0].status_code == 307)


def main():
    try:
        service_id = asyncio.run(async_client_session())
        sync_consumers(service_id)
    except Exception:  # a crash is a failure, with its traceback shown
        traceback.print_exc()
        RESULTS["failed"] += 1
    print(f"python clients: {RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


if __name__ == "__main__":
    main()
