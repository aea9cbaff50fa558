"""Locust user for bench.loadtest's fallback (where wrk is not installed).

    BENCH_PATH=/review/ BENCH_SESSION=<sessionid> locust -f bench/locustfile.py --headless \
        -u 8 -r 8 -t 20s --host http://127.0.0.1:8765

One page, as fast as it answers (no think time), with the session cookie of the bench
attorney; a response other than 200 counts as a failure.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, task


class BenchUser(FastHttpUser):
    path = os.environ.get("BENCH_PATH", "/")

    def on_start(self) -> None:
        self.headers = {"Cookie": f"sessionid={os.environ['BENCH_SESSION']}"}

    @task
    def page(self) -> None:
        with self.client.get(self.path, headers=self.headers, allow_redirects=False,
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
