#!/usr/bin/env python3
"""Time to recover: from the death of the service process inside its container to the
first healthy answer through dockmaster, with the restart command run by exec, and in
the same run the same failure repaired by restarting the container (autoheal's way).

Both modes use a 500 ms probe interval and unhealthy_after 2 (and with --fast-interval a
shorter interval between states; the benchmark's client polls through dockmaster, so a
failed request brings the next probe forward), so both include the same detection time.

--traffic: instead of the polling client, a steady load (benchmarks/lib/traffic.py:
--rate requests/s, GETs and POSTs --mix, open loop, keep-alive) runs through dockmaster
for the whole of each round, and each mode is measured for two failures: "dead" (the
service process killed, `killall httpd`) and "hung" (stopped, SIGSTOP). Per mode and
failure: the time to recover (from the kill to the first 2xx answer to a request due
after it, median over the rounds), the failed requests of the rounds by kind (502, 503,
504, other status, connection error) and the latency of the requests due during the
heal (from the kill to the recovery): p50, p99, max over all rounds. Health: interval
500 ms, fast_interval 100 ms (default here), timeout 200 ms, unhealthy_after 2,
healthy_after 1. A round: 1 s of load, the kill, the load until 1 s after the recovery.

Needs a running Docker engine (DOCKER_HOST) and the test image
(scripts/docker_engine.sh start && scripts/docker_engine.sh images).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import traffic  # noqa: E402

DOCKER = ["/usr/bin/docker"] if os.path.exists("/usr/bin/docker") else ["docker"]
IMAGE = os.environ.get("DOCKMASTER_TEST_IMAGE", "dockmaster-test/busybox-service:latest")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker(*args, check=True):
    return subprocess.run(DOCKER + list(args), check=check, capture_output=True, text=True).stdout.strip()


def http_status(port, path, timeout=0.3):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return -1


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    sys.exit(f"recovery_time: timed out waiting for {what}")


def service_state(proxy_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{proxy_port}/_dockmaster/status", timeout=1) as r:
            return json.load(r)["services"]["web"]["state"]
    except Exception:
        return "?"


def config_for(mode, port, proxy_port, fast_interval_ms=0, probe_timeout="400ms"):
    mode = mode.split("/")[0]
    restart = {"backoff": {"initial": "100ms", "max": "1s"}, "max_restarts": 1000, "window": "1h",
               "compose_project": "dmrecovery"}
    if mode == "exec":
        restart["exec"] = ["/restart.sh"]
    else:
        restart["action"] = "restart_container"
        restart["escalate"] = {"restart_container_after": 1, "stop_timeout": "10s"}
    health = {"http": "/health", "interval": "500ms", "timeout": probe_timeout,
              "unhealthy_after": 2, "healthy_after": 1}
    if fast_interval_ms:
        health["fast_interval"] = f"{fast_interval_ms}ms"
    return {
        "listen": f"127.0.0.1:{proxy_port}",
        # The status on the public port (the admin listener is off: one port to manage).
        "admin": {"listen": "", "status_path": "/_dockmaster/status"},
        "routes": [{"prefix": "/", "service": "web"}],
        "services": {"web": {
            "instances": [f"127.0.0.1:{port}"],
            "health": health,
            "restart": restart}},
        "log": {"level": "warn", "access_log": False},
    }


def measure(mode, args, container, port):
    proxy_port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config_for(mode, port, proxy_port, args.fast_interval), f)
        config_path = f.name
    log = open(os.path.join(args.results, f"recovery-{mode.replace('/', '-')}-dockmaster.log"), "w")
    proc = subprocess.Popen([args.dockmaster, "--config", config_path], stderr=log, stdout=log)
    times = []
    try:
        wait_for(lambda: service_state(proxy_port) == "healthy", 30, "dockmaster to see the service healthy")
        for round_ in range(args.rounds):
            wait_for(lambda: service_state(proxy_port) == "healthy" and http_status(proxy_port, "/health") == 200,
                     60, "a healthy service before the round")
            started_before = docker("inspect", "-f", "{{.State.StartedAt}}", container)
            docker("exec", container, "killall", "httpd")
            died = time.monotonic()
            # It must go down first, or there was nothing to recover from.
            wait_for(lambda: http_status(proxy_port, "/health", 0.2) != 200, 10, "the service to go down")
            while http_status(proxy_port, "/health", 0.2) != 200:
                if time.monotonic() - died > 120:
                    sys.exit("recovery_time: no recovery within 120 s")
                time.sleep(0.005)
            recovered = time.monotonic() - died
            started_after = docker("inspect", "-f", "{{.State.StartedAt}}", container)
            same_container = started_before == started_after
            times.append(recovered)
            print(f"  {mode:17s} round {round_ + 1}: {recovered * 1000:7.0f} ms"
                  f" (container {'kept' if same_container else 'restarted'})", file=sys.stderr)
            if mode == "exec" and not same_container:
                sys.exit("recovery_time: the exec mode restarted the container")
            time.sleep(1.0)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        os.unlink(config_path)
    return times


# How each failure is caused inside the container: the service process killed, as
# today, or stopped (SIGSTOP), so that it keeps its port but answers nothing.
FAILURES = {"dead": ["killall", "httpd"],
            "hung": ["sh", "-c", "kill -STOP $(cat /tmp/service.pid)"]}
PROBE_TIMEOUT_TRAFFIC = "200ms"


def generation(container):
    return docker("exec", container, "cat", "/tmp/service.generation", check=False)


def log_events(path, offset):
    """The JSON lines of dockmaster's log from offset on."""
    events = []
    with open(path, errors="replace") as f:
        f.seek(offset)
        for line in f:
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except ValueError:
                    pass
    return events


def measure_traffic(mode, args, container, port):
    """Each failure of FAILURES for args.rounds rounds, under load; a list of round
    records per failure."""
    proxy_port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        config = config_for(mode, port, proxy_port, args.fast_interval, PROBE_TIMEOUT_TRAFFIC)
        # Every restart, backoff and health change in the log, one JSON object a line.
        config["log"].update({"level": "info", "format": "json"})
        json.dump(config, f)
        config_path = f.name
    log_path = os.path.join(args.results, f"recovery-traffic-{mode.replace('/', '-')}-dockmaster.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([args.dockmaster, "--config", config_path], stderr=log, stdout=log)
    gets, posts = args.mix
    results = {}
    try:
        wait_for(lambda: service_state(proxy_port) == "healthy", 30, "dockmaster to see the service healthy")
        for failure, command in FAILURES.items():
            runs = []
            for round_ in range(args.rounds):
                wait_for(lambda: service_state(proxy_port) == "healthy" and http_status(proxy_port, "/health") == 200,
                         60, "a healthy service before the round")
                generation_before = generation(container)
                log_offset = os.path.getsize(log_path)
                started_before = docker("inspect", "-f", "{{.State.StartedAt}}", container)
                load = traffic.Load(proxy_port, rate=args.rate, mix=(gets, posts), get_path="/",
                                    post_path="/cgi-bin/post", timeout=args.client_timeout).start()
                try:
                    time.sleep(max(0.0, load.started + args.lead - time.monotonic()))  # the kill schedule
                    exec_started = time.monotonic()
                    docker("exec", container, *command)
                    killed = time.monotonic()
                    # Recovered: the first 2xx answer to a request due after the kill.
                    recovered_at, seen = None, 0
                    while recovered_at is None:
                        records = load.records
                        while seen < len(records) and recovered_at is None:
                            r = records[seen]
                            seen += 1
                            if r.due >= killed and r.ok:
                                recovered_at = r.done
                        if recovered_at is None:
                            if time.monotonic() - killed > args.max_recovery:
                                sys.exit(f"recovery_time: {mode}/{failure}: no 2xx through dockmaster within "
                                         f"{args.max_recovery:.0f} s of the kill")
                            time.sleep(0.005)
                    time.sleep(max(0.0, recovered_at + args.tail - time.monotonic()))  # the end of the round
                finally:
                    records = load.stop()
                events = log_events(log_path, log_offset)
                recovered = recovered_at - killed
                same_container = started_before == docker("inspect", "-f", "{{.State.StartedAt}}", container)
                restarted = generation(container) != generation_before
                if not restarted:
                    sys.exit(f"recovery_time: {mode}/{failure}: answered again, but the service was not "
                             "started again (generation unchanged): not a recovery")
                if mode == "exec" and not same_container:
                    sys.exit("recovery_time: the exec mode restarted the container")
                window = [r for r in records if killed <= r.due <= recovered_at]
                round_summary = traffic.summarize(records)
                run = {
                    "recover_ms": round(recovered * 1000),
                    "kill_exec_ms": round((killed - exec_started) * 1000),
                    "container": "kept" if same_container else "restarted",
                    "requests": round_summary["requests"],
                    "failed": round_summary["failed"],
                    "failed_by_kind": round_summary["failed_by_kind"],
                    "other_statuses": round_summary["other_statuses"],
                    "connection_errors": round_summary["connection_errors"],
                    "statuses": traffic.statuses(records),
                    "heal_window_requests": len(window),
                    "heal_latency_ms": traffic.summarize(window)["latency_ms"],
                    "max_client_lag_ms": round(max((r.sent - r.due) * 1000 for r in records), 1),
                    "client_workers": load.workers,
                    "restarts": sum(1 for e in events if e.get("event") == "restart_started"),
                    "restart_ms": [e.get("duration_ms") for e in events if e.get("event") in ("restart_done", "restart_failed")],
                }
                runs.append((run, window))
                failed_text = ", ".join(f"{k} {n}" for k, n in run["failed_by_kind"].items() if n) or "none"
                print(f"  {mode:30s} {failure:4s} round {round_ + 1}: {run['recover_ms']:6d} ms, "
                      f"{run['restarts']} restart(s) {run['restart_ms']} ms, "
                      f"{run['requests']} requests, failed: {failed_text}; heal-window max "
                      f"{run['heal_latency_ms']['max']} ms (container {run['container']})", file=sys.stderr)
            results[failure] = runs
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        os.unlink(config_path)
    return results


def traffic_report(args, results):
    """The JSON summary and the table of a --traffic run."""
    summary = {
        "benchmark": "recovery_time --traffic",
        "health": {"interval_ms": 500, "fast_interval_ms": args.fast_interval or 500,
                   "timeout_ms": int(PROBE_TIMEOUT_TRAFFIC[:-2]), "unhealthy_after": 2, "healthy_after": 1},
        "load": {"rate": args.rate, "mix": f"{args.mix[0]}:{args.mix[1]}", "lead_s": args.lead,
                 "tail_s": args.tail, "client_timeout_s": args.client_timeout},
        "rounds": args.rounds,
        "results": {},
        "load_average": list(os.getloadavg()),
    }
    for mode, by_failure in results.items():
        summary["results"][mode] = {}
        for failure, runs in by_failure.items():
            failed = {k: sum(run["failed_by_kind"][k] for run, _ in runs) for k in traffic.FAILURE_KINDS}
            window = [r for _, w in runs for r in w]
            summary["results"][mode][failure] = {
                "recover_ms_median": round(statistics.median(run["recover_ms"] for run, _ in runs)),
                "recover_ms": [run["recover_ms"] for run, _ in runs],
                "requests": sum(run["requests"] for run, _ in runs),
                "restarts": sum(run["restarts"] for run, _ in runs),
                "failed": sum(failed.values()),
                "failed_by_kind": failed,
                "heal_window_requests": len(window),
                "heal_latency_ms": traffic.summarize(window)["latency_ms"],
                "runs": [run for run, _ in runs],
            }
    for failure in FAILURES:
        exec_ms = summary["results"].get("exec", {}).get(failure, {}).get("recover_ms_median")
        for mode in summary["results"]:
            entry = summary["results"][mode][failure]
            entry["over_exec"] = round(entry["recover_ms_median"] / exec_ms, 2) if exec_ms else None
    labels = {"exec": "exec restart in the container",
              "restart_container": "container restart, PID 1 stops",
              "restart_container/ignores_term": "container restart, PID 1 ignores TERM"}
    lines = [f"recovery under load: {args.rate:g} req/s ({args.mix[0]}:{args.mix[1]} GET:POST) through dockmaster; "
             f"probe every 500 ms, fast interval {args.fast_interval or 500} ms, timeout "
             f"{PROBE_TIMEOUT_TRAFFIC[:-2]} ms, unhealthy after 2; {args.rounds} round(s)",
             f"{'':39s} {'':4s} {'recover':>8s} {'':>5s} {'':>4s} {'':>6s} {'failed requests':^35s} "
             f"{'heal-window latency ms':^23s}",
             f"{'mode':39s} {'fail':4s} {'ms med':>8s} {'xexec':>5s} {'rst':>4s} {'reqs':>6s} "
             f"{'all':>5s} {'502':>5s} {'503':>5s} {'504':>5s} {'other':>5s} {'conn':>5s} "
             f"{'p50':>7s} {'p99':>7s} {'max':>7s}"]
    for mode, by_failure in summary["results"].items():
        for failure, e in by_failure.items():
            k, lat = e["failed_by_kind"], e["heal_latency_ms"]
            ratio = f"{e['over_exec']:.1f}" if e["over_exec"] else "-"
            lines.append(f"{labels[mode]:39s} {failure:4s} {e['recover_ms_median']:8,d} {ratio:>5s} {e['restarts']:4d} {e['requests']:6,d} "
                         f"{e['failed']:5d} {k['502']:5d} {k['503']:5d} {k['504']:5d} {k['other']:5d} "
                         f"{k[traffic.CONNECTION_ERROR]:5d} {fmt(lat['p50'])} {fmt(lat['p99'])} {fmt(lat['max'])}")
    return summary, "\n".join(lines)


def fmt(ms):
    return f"{'-':>7s}" if ms is None else f"{ms:7.0f}" if ms >= 100 else f"{ms:7.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=None, help="rounds per mode (default 5; 3 with --traffic)")
    parser.add_argument("--fast-interval", type=int, default=None, metavar="MS",
                        help="health.fast_interval in ms (default: none, i.e. the 500 ms interval; "
                             "100 with --traffic; 0 for none)")
    parser.add_argument("--traffic", action="store_true",
                        help="under a steady load, dead and hung services (see above)")
    parser.add_argument("--rate", type=float, default=50, help="--traffic: requests per second (default 50)")
    parser.add_argument("--mix", default="4:1", help="--traffic: GETs:POSTs (default 4:1)")
    parser.add_argument("--lead", type=float, default=1.0, help="--traffic: seconds of load before the kill (1)")
    parser.add_argument("--tail", type=float, default=1.0, help="--traffic: seconds of load after the recovery (1)")
    parser.add_argument("--client-timeout", type=float, default=35.0,
                        help="--traffic: the client's timeout per request, s (35: past dockmaster's 30 s)")
    parser.add_argument("--max-recovery", type=float, default=120.0,
                        help="--traffic: give up when a round has not recovered after this many s (120)")
    parser.add_argument("--dockmaster", default="build-release/dockmaster")
    parser.add_argument("--results", default="benchmarks/results")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 3 if args.traffic else 5
    if args.fast_interval is None:
        args.fast_interval = 100 if args.traffic else 0
    try:
        args.mix = tuple(int(x) for x in args.mix.split(":"))
        assert len(args.mix) == 2 and min(args.mix) >= 0 and sum(args.mix) > 0
    except (ValueError, AssertionError):
        parser.error("--mix wants GETS:POSTS, such as 4:1")
    os.makedirs(args.results, exist_ok=True)
    port = free_port()
    container = f"dmrecovery-web-{os.getpid()}"
    # Two containers of the same service image: one whose PID 1 stops at SIGTERM (the
    # best case for a container restart), one whose PID 1 ignores it, as node or python
    # servers run as PID 1 often do (docker then waits its 10 s stop timeout).
    containers = {}
    modes = [("exec", "handles_term"), ("restart_container", "handles_term"),
             ("restart_container/ignores_term", "ignores_term")]
    results = {}
    try:
        for kind, env in (("handles_term", []), ("ignores_term", ["-e", "IGNORE_TERM=1"])):
            port = free_port()
            name = f"dmrecovery-{kind}-{os.getpid()}"
            docker("run", "-d", "--network", "host", "--name", name, "-e", f"PORT={port}", *env,
                   "-l", "dockmaster.test=recovery", "-l", "com.docker.compose.project=dmrecovery",
                   "-l", f"com.docker.compose.service=web", "-l", f"dockmaster.instance=127.0.0.1:{port}", IMAGE)
            containers[kind] = (name, port)
            wait_for(lambda: http_status(port, "/health") == 200, 30, "the container's service")
            if args.traffic and docker("exec", name, "grep", "-c", "kill -CONT", "/supervise.sh", check=False) in ("", "0"):
                sys.exit(f"recovery_time: {IMAGE} cannot restart a stopped service (an older build): "
                         "run scripts/docker_engine.sh images")
        for mode, kind in modes:
            name, port = containers[kind]
            results[mode] = (measure_traffic if args.traffic else measure)(mode, args, name, port)
    finally:
        for name, _ in containers.values():
            docker("rm", "-f", name, check=False)
    if args.traffic:
        summary, table = traffic_report(args, results)
        out = os.path.join(args.results, time.strftime("recovery-traffic-%Y%m%d-%H%M%S.json"))
        summary["table"] = table.splitlines()
        with open(out, "w") as f:
            json.dump(summary, f, indent=2)
        print("\n" + table)
        print(f"results in {out}")
        return
    medians = {mode: statistics.median(times) * 1000 for mode, times in results.items()}
    summary = {
        "probe_interval_ms": 500, "fast_interval_ms": args.fast_interval or 500,
        "unhealthy_after": 2, "rounds": args.rounds,
        "runs_ms": {mode: [round(t * 1000) for t in times] for mode, times in results.items()},
        "median_ms": {mode: round(ms) for mode, ms in medians.items()},
        "container_restart_over_exec": {mode: round(ms / medians["exec"], 2) for mode, ms in medians.items()},
    }
    out = os.path.join(args.results, time.strftime("recovery-%Y%m%d-%H%M%S.json"))
    with open(out, "w") as f:
        json.dump(summary, f, indent=2)
    fast = f", fast interval {args.fast_interval} ms" if args.fast_interval else ""
    print(f"\ntime to recover (median of {args.rounds}, probe every 500 ms{fast}, unhealthy after 2):")
    labels = {"exec": "exec restart inside the container",
              "restart_container": "container restart, PID 1 stops on SIGTERM",
              "restart_container/ignores_term": "container restart, PID 1 ignores SIGTERM"}
    for mode, ms in medians.items():
        print(f"  {labels[mode]:45s} {ms:7.0f} ms  ({ms / medians['exec']:.1f}x exec)")
    print(f"results in {out}")


if __name__ == "__main__":
    main()
