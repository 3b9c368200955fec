"""A bounded, steady HTTP load for the healing benchmarks (recovery_time.py --traffic,
soak_heal.py), standard library only.

`Load(port, rate=50)` sends `rate` requests per second to 127.0.0.1:port, GETs and small
POSTs mixed (`mix=(4, 1)`: four GETs, then one POST), open loop: request i is due at
start + i / rate whatever the answers before it took, so a held or hanging request does
not slow the load down. Each due request goes to an idle worker thread with its own
keep-alive connection (http.client); when every worker is busy another is started, up
to `max_workers`, after which requests wait for a worker (their latency, measured from
the time they were due, then includes that wait, and `max_lag_ms` shows it).

Every request becomes a Record: when it was due, sent and done (time.monotonic()), its
method, and its outcome: the HTTP status, or the name of the error for a request that
got none (a connection error, or "timeout" when no answer came within `timeout`). A
connection that failed is closed, and the worker's next request opens a new one.
"""
import http.client
import queue
import socket
import threading
import time

CONNECTION_ERROR = "connection_error"


class Record:
    __slots__ = ("due", "sent", "done", "method", "outcome")

    def __init__(self, due, sent, done, method, outcome):
        self.due, self.sent, self.done, self.method, self.outcome = due, sent, done, method, outcome

    @property
    def ok(self):
        return isinstance(self.outcome, int) and 200 <= self.outcome < 300

    @property
    def latency_ms(self):
        return (self.done - self.due) * 1000


def kind(outcome):
    """The failure class of an outcome: "ok", "502", "503", "504", "other" (any other
    status) or "connection_error" (no status: refused, reset, closed, client timeout)."""
    if isinstance(outcome, int):
        if 200 <= outcome < 300:
            return "ok"
        return str(outcome) if outcome in (502, 503, 504) else "other"
    return CONNECTION_ERROR


FAILURE_KINDS = ("502", "503", "504", "other", CONNECTION_ERROR)


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def summarize(records):
    """Counts by failure kind, other statuses and error names, and latency percentiles."""
    failed = {k: 0 for k in FAILURE_KINDS}
    other_statuses, errors = {}, {}
    ok = 0
    for r in records:
        k = kind(r.outcome)
        if k == "ok":
            ok += 1
            continue
        failed[k] += 1
        if k == "other":
            other_statuses[str(r.outcome)] = other_statuses.get(str(r.outcome), 0) + 1
        elif k == CONNECTION_ERROR:
            errors[r.outcome] = errors.get(r.outcome, 0) + 1
    latencies = sorted(r.latency_ms for r in records)
    return {
        "requests": len(records),
        "ok": ok,
        "failed": sum(failed.values()),
        "failed_by_kind": failed,
        "other_statuses": other_statuses,
        "connection_errors": errors,
        "latency_ms": {
            "p50": rounded(percentile(latencies, 50)),
            "p99": rounded(percentile(latencies, 99)),
            "max": rounded(latencies[-1] if latencies else None),
        },
    }


def statuses(records):
    """How many records had each outcome, as {"200": n, "502": n, "ConnectionResetError": n}."""
    counts = {}
    for r in records:
        counts[str(r.outcome)] = counts.get(str(r.outcome), 0) + 1
    return dict(sorted(counts.items()))


def rounded(value, digits=1):
    return None if value is None else round(value, digits)


class Load:
    def __init__(self, port, rate=50.0, mix=(4, 1), get_path="/", post_path="/",
                 timeout=35.0, max_workers=256, host="127.0.0.1"):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.host, self.port, self.rate, self.mix = host, port, float(rate), mix
        self.get_path, self.post_path, self.timeout = get_path, post_path, timeout
        self.max_workers = max_workers
        self.records = []  # in the order the requests ended; list.append is atomic
        self._queue = queue.Queue()
        self._lock = threading.Lock()
        self._idle = 0  # workers waiting for a request that none has been promised
        self._owed = 0  # requests queued while every worker was busy
        self._workers = []
        self._stop = threading.Event()
        self._pacer = None
        self.started = None
        self.max_lag_ms = 0.0

    # ------------------------------------------------------------------ control

    def start(self):
        self.started = time.monotonic()
        self._pacer = threading.Thread(target=self._pace, name="load-pacer", daemon=True)
        self._pacer.start()
        return self

    def stop(self):
        """Stops issuing requests, waits for those in flight (each ends within `timeout`)
        and ends the workers. Returns the records."""
        self._stop.set()
        if self._pacer:
            self._pacer.join()
        for _ in self._workers:
            self._queue.put(None)
        for w in self._workers:
            w.join()
        return self.records

    @property
    def workers(self):
        return len(self._workers)

    # ------------------------------------------------------------------ threads

    def _pace(self):
        gets, posts = self.mix
        period = gets + posts
        i = 0
        while not self._stop.is_set():
            due = self.started + i / self.rate
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            method = "POST" if period and i % period >= gets else "GET"
            # Each request is promised to a worker: an idle one, else a new one, else (at
            # max_workers) the next to finish.
            with self._lock:
                spawn = False
                if self._idle > 0:
                    self._idle -= 1
                elif len(self._workers) < self.max_workers:
                    spawn = True
                else:
                    self._owed += 1
            self._queue.put((due, method, i))
            if spawn:
                w = threading.Thread(target=self._work, name=f"load-{len(self._workers)}", daemon=True)
                self._workers.append(w)
                w.start()
            i += 1

    def _work(self):
        conn = None
        while True:
            item = self._queue.get()
            if item is None:
                break
            due, method, n = item
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            sent = time.monotonic()
            self.max_lag_ms = max(self.max_lag_ms, (sent - due) * 1000)
            try:
                if method == "GET":
                    conn.request("GET", self.get_path)
                else:
                    body = b'{"n": %d, "note": "recovery benchmark"}' % n
                    conn.request("POST", self.post_path, body=body,
                                 headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                outcome = response.status
                if response.will_close:
                    conn.close()
                    conn = None
            except socket.timeout:
                outcome = "timeout"
            except (OSError, http.client.HTTPException) as e:
                outcome = type(e).__name__
            if not isinstance(outcome, int) and conn is not None:
                conn.close()
                conn = None
            self.records.append(Record(due, sent, time.monotonic(), method, outcome))
            with self._lock:
                if self._owed:
                    self._owed -= 1
                else:
                    self._idle += 1
        if conn is not None:
            conn.close()
