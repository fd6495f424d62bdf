# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""A small, bounded HTTP load: clients that GET URLs in a loop.

Each client is a thread with a connection of its own (kept alive, as a
real client's), sharing one token. Every loop ends at a deadline, after a
number of requests, or when told to stop, whichever comes first.
"""

import dataclasses
import statistics
import threading
import time

import requests


@dataclasses.dataclass
class Answer:
    url: str
    started: float  # seconds since the load started
    seconds: float
    status: int | None  # None: no answer (connection failed, timeout)
    body: object = None  # the JSON body of an error, else None


class Load:
    """``clients`` threads taking the URLs in turn.

    :param headers: sent with every request (the token, a microversion).
    :param seconds: the longest the load runs.
    :param max_requests: the most requests a client makes.
    :param timeout: seconds a request may take before it is given up.
    """

    def __init__(self, urls, headers, clients, seconds, max_requests=100000,
                 timeout=30):
        self.urls = list(urls)
        self.headers = dict(headers)
        self.clients = clients
        self.seconds = seconds
        self.max_requests = max_requests
        self.timeout = timeout
        self.answers = []
        self._stop = threading.Event()
        self._threads = []
        self.started = None
        self.elapsed = None

    def start(self):
        self.started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, args=(i,),
                                          daemon=True)
                         for i in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 5)
        self.elapsed = time.monotonic() - self.started
        return self.answers

    def run(self):
        """Run for ``seconds`` (or ``max_requests``); return the answers."""
        self.start()
        for thread in self._threads:
            thread.join(self.seconds + self.timeout + 5)
        return self.stop()

    def now(self):
        return time.monotonic() - self.started

    def _client(self, index):
        session = requests.Session()
        deadline = self.started + self.seconds
        for n in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() >= deadline:
                break
            url = self.urls[(index + n) % len(self.urls)]
            began = time.monotonic()
            try:
                response = session.get(url, headers=self.headers,
                                       timeout=self.timeout)
                status = response.status_code
                body = None
                if status >= 400:
                    try:
                        body = response.json()
                    except ValueError:
                        body = response.text[:200]
            except requests.RequestException as exc:
                status, body = None, repr(exc)
            self.answers.append(Answer(url, began - self.started,
                                       time.monotonic() - began, status,
                                       body))
        session.close()


def percentile(values, fraction):
    """The value below which ``fraction`` of ``values`` fall (nearest)."""
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def summary(answers, seconds):
    """req/s, p50 and p99 in ms, and answers by status."""
    times = [a.seconds * 1000 for a in answers]
    statuses = {}
    for answer in answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    return {
        'requests': len(answers),
        'per_second': len(answers) / seconds if seconds else 0.0,
        'p50_ms': statistics.median(times) if times else None,
        'p99_ms': percentile(times, 0.99),
        'statuses': statuses,
    }
