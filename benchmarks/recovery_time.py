#!/usr/bin/env python3
"""Time to recover: from the death of the service process inside its container to the
first healthy answer through dockmaster, with the restart command run by exec, and in
the same run the same failure repaired by restarting the container (autoheal's way).

Both modes use a 500 ms probe interval and unhealthy_after 2 (and with --fast-interval a
shorter interval between states; the benchmark's client polls through dockmaster, so a
failed request brings the next probe forward), so both include the same detection time. Needs a running Docker engine (DOCKER_HOST) and the test image
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


def config_for(mode, port, proxy_port, fast_interval_ms=0):
    mode = mode.split("/")[0]
    restart = {"backoff": {"initial": "100ms", "max": "1s"}, "max_restarts": 1000, "window": "1h",
               "compose_project": "dmrecovery"}
    if mode == "exec":
        restart["exec"] = ["/restart.sh"]
    else:
        restart["action"] = "restart_container"
        restart["escalate"] = {"restart_container_after": 1, "stop_timeout": "10s"}
    health = {"http": "/health", "interval": "500ms", "timeout": "400ms",
              "unhealthy_after": 2, "healthy_after": 1}
    if fast_interval_ms:
        health["fast_interval"] = f"{fast_interval_ms}ms"
    return {
        "listen": f"127.0.0.1:{proxy_port}",
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fast-interval", type=int, default=0, metavar="MS",
                        help="health.fast_interval in ms (default: none, i.e. the 500 ms interval)")
    parser.add_argument("--dockmaster", default="build-release/dockmaster")
    parser.add_argument("--results", default="benchmarks/results")
    args = parser.parse_args()
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
        for mode, kind in modes:
            name, port = containers[kind]
            results[mode] = measure(mode, args, name, port)
    finally:
        for name, _ in containers.values():
            docker("rm", "-f", name, check=False)
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
