#!/usr/bin/env python3
"""Soak of the healing path: two instances of a small loopback service behind
dockmaster, one of them killed (SIGKILL) every --kill-every seconds, healed by the local
executor, under a steady client load; counts restarts per kill and failed requests.

The service is benchmarks/lib/soak_upstream.py (python3 -S, socket and threading only,
to start quickly), one process per instance, each on a free port of 127.0.0.1. The restart command (the same one that starts them at first) is a
shell that takes the port from DOCKMASTER_INSTANCE, starts that one instance in the
background and exits at once. Health: interval 500 ms, fast_interval 100 ms, timeout
200 ms, unhealthy_after 2, healthy_after 1, no start_period. The kills alternate
between the two instances. Restarts are the restart_started events of dockmaster's JSON
log. Results to benchmarks/results/soak-*.json and a printed summary.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import traffic  # noqa: E402

UPSTREAM = os.path.join(HERE, "lib", "soak_upstream.py")


def free_ports(n):
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def http_status(port, path, timeout=0.5):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return -1


def wait_for(predicate, timeout, what, poll=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise SystemExit(f"soak_heal: timed out after {timeout} s waiting for {what}")


def status(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_dockmaster/status", timeout=1) as r:
            return json.load(r)
    except Exception:
        return None


def all_healthy(port):
    s = status(port)
    if not s:
        return False
    instances = s["services"]["app"].get("instances", [])
    return len(instances) == 2 and all(i.get("health") == "healthy" for i in instances)


class Instances:
    """The upstream processes, found through their pid files; only a process whose
    command line is soak_upstream.py with this run's pid file is ever signalled."""

    def __init__(self, folder, ports, boot_ms=0):
        self.folder, self.ports, self.boot_ms = folder, ports, boot_ms

    def pidfile(self, port):
        return os.path.join(self.folder, f"{port}.pid")

    def restart_command(self):
        log = os.path.join(self.folder, "upstream-$port.log")
        pid = os.path.join(self.folder, "$port.pid")
        script = (f'port=${{DOCKMASTER_INSTANCE##*:}}; '
                  f'"{sys.executable}" -S "{UPSTREAM}" "$port" "{pid}"'
                  f'{" " + str(self.boot_ms) if self.boot_ms else ""} >>"{log}" 2>&1 </dev/null &')
        return ["sh", "-c", script]

    def start(self, port):
        env = dict(os.environ, DOCKMASTER_INSTANCE=f"127.0.0.1:{port}")
        subprocess.run(self.restart_command(), env=env, check=True)

    def pid(self, port):
        """The pid serving port, if it is one of ours and alive."""
        try:
            with open(self.pidfile(port)) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
        except (OSError, ValueError):
            return None
        if UPSTREAM.encode() in cmdline and self.pidfile(port).encode() in cmdline:
            return pid
        return None

    def kill(self, port):
        pid = self.pid(port)
        if pid is None:
            return None
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop_all(self):
        for port in self.ports:
            pid = self.pid(port)
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


def config(listen_port, ports, instances):
    return {
        "listen": f"127.0.0.1:{listen_port}",
        # The status on the public port (the admin listener is off: one port to manage).
        "admin": {"listen": "", "status_path": "/_dockmaster/status"},
        "routes": [{"prefix": "/", "service": "app"}],
        "services": {"app": {
            "instances": [f"127.0.0.1:{p}" for p in ports],
            "health": {"http": "/health", "interval": "500ms", "fast_interval": "100ms",
                       "timeout": "200ms", "unhealthy_after": 2, "healthy_after": 1},
            "restart": {"executor": "local", "exec": instances.restart_command(), "timeout": "5s",
                        "backoff": {"initial": "100ms", "max": "1s"},
                        "max_restarts": 1000, "window": "1h"}}},
        "log": {"level": "info", "format": "json", "access_log": False},
    }


def log_events(path):
    events = []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
    return events


def parse_time(text):
    """dockmaster's log time (UTC, 2026-01-02T03:04:05.678Z) as seconds since the epoch."""
    import calendar
    seconds, _, ms = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(seconds, "%Y-%m-%dT%H:%M:%S")) + int(ms or 0) / 1000


def by_method(records):
    out = {}
    for method in ("GET", "POST"):
        rs = [r for r in records if r.method == method]
        s = traffic.summarize(rs)
        out[method] = {"requests": s["requests"], "ok": s["ok"], "failed": s["failed"],
                       "statuses": traffic.statuses(rs), "latency_ms": s["latency_ms"]}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300, help="seconds of load (default 300)")
    parser.add_argument("--kill-every", type=float, default=30, help="seconds between kills (default 30)")
    parser.add_argument("--rate", type=float, default=200, help="requests per second (default 200)")
    parser.add_argument("--mix", default="4:1", help="GETs:POSTs (default 4:1)")
    parser.add_argument("--boot-ms", type=int, default=0,
                        help="each instance waits this long before it binds its port (a slow starter)")
    parser.add_argument("--dockmaster", default=os.environ.get("DOCKMASTER_BIN", "build-release/dockmaster"))
    parser.add_argument("--results", default="benchmarks/results")
    args = parser.parse_args()
    gets, posts = (int(x) for x in args.mix.split(":"))
    if not os.access(args.dockmaster, os.X_OK):
        sys.exit(f"soak_heal: no dockmaster binary at {args.dockmaster} (scripts/build.sh release)")
    os.makedirs(args.results, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = tempfile.mkdtemp(prefix="dm-soak-")
    listen_port, *ports = free_ports(3)
    instances = Instances(folder, ports, args.boot_ms)
    config_path = os.path.join(folder, "config.json")
    with open(config_path, "w") as f:
        json.dump(config(listen_port, ports, instances), f, indent=2)
    log_path = os.path.join(args.results, f"soak-{stamp}-dockmaster.log")
    proc = None
    load = None
    kills = []
    try:
        # How long an instance takes from its start command to a bound port, here and now
        # (the restart has to wait that long, whatever dockmaster does).
        start_ms = []
        for port in ports:
            began = time.monotonic()
            instances.start(port)
            wait_for(lambda: instances.pid(port), 15, f"the instance on port {port} to bind", poll=0.005)
            start_ms.append(round((time.monotonic() - began) * 1000))
            wait_for(lambda: http_status(port, "/health") == 200, 15, f"the instance on port {port}")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([args.dockmaster, "--config", config_path], stdout=log, stderr=log)
        wait_for(lambda: proc.poll() is None and all_healthy(listen_port), 15,
                 "dockmaster to see both instances healthy")
        print(f"soak: {args.duration:.0f} s at {args.rate:.0f} req/s ({args.mix} GET:POST), "
              f"a SIGKILL every {args.kill_every:.0f} s, instances on ports {ports[0]} and {ports[1]}",
              file=sys.stderr)
        load = traffic.Load(listen_port, rate=args.rate, mix=(gets, posts), timeout=35.0).start()
        started = load.started
        k = 1
        while started + k * args.kill_every < started + args.duration:
            due = started + k * args.kill_every
            time.sleep(max(0.0, due - time.monotonic()))  # the kill schedule
            if proc.poll() is not None:
                raise SystemExit(f"soak_heal: dockmaster exited ({proc.returncode}); see {log_path}")
            port = ports[(k - 1) % 2]
            wall = time.time()
            pid = instances.kill(port)
            kills.append({"at_s": round(time.monotonic() - started, 3), "wall": wall, "port": port,
                          "instance": f"127.0.0.1:{port}", "pid": pid})
            print(f"  {time.monotonic() - started:6.1f} s: killed 127.0.0.1:{port}"
                  f" ({'pid %d' % pid if pid else 'nothing to kill: not running'})", file=sys.stderr)
            k += 1
        time.sleep(max(0.0, started + args.duration - time.monotonic()))  # the end of the run
        records = load.stop()
        load = None
        final_status = status(listen_port)
    finally:
        if load is not None:
            load.stop()
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        instances.stop_all()
        shutil.rmtree(folder, ignore_errors=True)

    events = log_events(log_path)
    started_events = [e for e in events if e.get("event") == "restart_started"]
    outcome_events = [e for e in events if e.get("event") in ("restart_done", "restart_failed",
                                                             "restart_skipped", "restart_given_up")]
    # Restarts of the killed instance from one kill to the next (by the log's wall clock).
    for i, kill in enumerate(kills):
        until = kills[i + 1]["wall"] if i + 1 < len(kills) else float("inf")
        mine = [e for e in started_events if e.get("instance") == kill["instance"]
                and kill["wall"] - 0.01 <= parse_time(e["time"]) < until]
        kill["restarts"] = len(mine)
        kill["first_restart_after_ms"] = round((parse_time(mine[0]["time"]) - kill["wall"]) * 1000) if mine else None
        healthy = [e for e in events if e.get("event") == "health_changed" and e.get("to") == "healthy"
                   and e.get("instance") == kill["instance"] and kill["wall"] - 0.01 <= parse_time(e["time"]) < until]
        kill["healthy_again_after_ms"] = round((parse_time(healthy[0]["time"]) - kill["wall"]) * 1000) if healthy else None
        del kill["wall"]
    methods = by_method(records)
    overall = traffic.summarize(records)
    summary = {
        "benchmark": "soak_heal",
        "duration_s": args.duration, "kill_every_s": args.kill_every, "rate": args.rate, "mix": args.mix,
        "executor": "local",
        "upstream_start_ms": start_ms,
        "health": config(listen_port, ports, instances)["services"]["app"]["health"],
        "kills": len(kills),
        "restarts": len(started_events),
        "restarts_per_kill": round(len(started_events) / len(kills), 2) if kills else None,
        "restart_outcomes": {name: sum(1 for e in outcome_events if e["event"] == name)
                             for name in sorted({e["event"] for e in outcome_events})},
        "requests": {"GET": methods["GET"], "POST": methods["POST"],
                     "latency_ms": overall["latency_ms"], "max_client_lag_ms": round(load_lag(records), 1)},
        "kill_log": kills,
        "status_restarts": {i["instance"]: i.get("restarts") for i in
                            ((final_status or {}).get("services", {}).get("app", {}).get("instances", []))},
        "status_restart_history": [h for h in (final_status or {}).get("history", [])
                                   if str(h.get("event", "")).startswith("restart")],
        "dockmaster_log": log_path,
        "load_average": list(os.getloadavg()),
    }
    out = os.path.join(args.results, f"soak-{stamp}.json")
    with open(out, "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\nsoak: {args.duration:.0f} s, {args.rate:.0f} req/s, kill every {args.kill_every:.0f} s"
          f" (local executor, interval 500 ms, fast_interval 100 ms, unhealthy_after 2, no start_period)")
    print(f"  an instance takes {' and '.join(map(str, start_ms))} ms from its start command to a bound port")
    print(f"  kills {len(kills)}, restarts {len(started_events)}, restarts per kill "
          f"{summary['restarts_per_kill']}  (per kill: {', '.join(str(k['restarts']) for k in kills)};"
          f" healthy again after {', '.join(str(k['healthy_again_after_ms']) for k in kills)} ms)")
    for method in ("GET", "POST"):
        m = methods[method]
        failed = {s: n for s, n in m["statuses"].items() if not (s.isdigit() and 200 <= int(s) < 300)}
        print(f"  {method:5s} {m['ok']:,} of {m['requests']:,} ok, {m['failed']:,} failed"
              + (f" ({', '.join(f'{s}: {n}' for s, n in failed.items())})" if failed else "")
              + f"; p50 {m['latency_ms']['p50']} ms, p99 {m['latency_ms']['p99']} ms, max {m['latency_ms']['max']} ms")
    print(f"results in {out}")


def load_lag(records):
    return max(((r.sent - r.due) * 1000 for r in records), default=0.0)


if __name__ == "__main__":
    main()
