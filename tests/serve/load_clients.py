"""Run as a child process by tests/serve/test_load.py, so the clients do not share the daemon's
interpreter (and its GIL), as real clients would not: ``python load_clients.py PORT CLIENTS
SECONDS IMAGE`` prints one JSON list of [status, seconds] for every answer."""

from __future__ import annotations

import base64
import http.client
import json
import sys
import threading
import time


def main() -> None:
    port, clients, seconds, image = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    with open(image, "rb") as f:
        body = base64.b64encode(f.read())
    answers: list[tuple[int, float]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request("POST", "/det/1", body, {"Content-Type": "text/plain"})
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                status = 0
            with lock:
                answers.append((status, time.perf_counter() - started))
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
