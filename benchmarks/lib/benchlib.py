#!/usr/bin/env python3
"""Helpers for the benchmark shell scripts: ports, config generation, wrk parsing, reports.

Only the standard library is used. Each subcommand prints its result on stdout and exits
non-zero with a one-line reason on stderr when it cannot do its job.
"""

import argparse
import datetime
import glob
import json
import os
import re
import socket
import statistics
import sys
import time

# The actor_system part of the config that run_throughput.sh uses when no --configs is given.
DEFAULT_ACTOR_SYSTEM = {"io_threads": 1, "scheduler": {"max_threads": 1}}


def fail(message):
    print(f"benchlib: {message}", file=sys.stderr)
    sys.exit(1)


# --------------------------------------------------------------------------- ports


def cmd_free_ports(args):
    """Binds N sockets at once (so the ports are distinct), then releases them."""
    sockets = []
    try:
        for _ in range(args.count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        print(" ".join(str(s.getsockname()[1]) for s in sockets))
    finally:
        for s in sockets:
            s.close()


# --------------------------------------------------------------------------- configs


def deep_merge(base, overlay):
    """Returns base with overlay merged in: objects merge key by key, anything else replaces."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        fail(f"cannot read JSON from {path}: {e}")


def cmd_dockmaster_config(args):
    document = {
        "listen": f"127.0.0.1:{args.port}",
        "routes": [{"prefix": "/", "service": "upstream"}],
        "services": {"upstream": {"instances": [f"127.0.0.1:{args.upstream_port}"]}},
        "log": {"level": "warn", "access_log": False},
        "actor_system": DEFAULT_ACTOR_SYSTEM,
    }
    if args.fragment:
        fragment = load_json(args.fragment)
        if not isinstance(fragment, dict):
            fail(f"{args.fragment}: the fragment must be a JSON object")
        document = deep_merge(document, fragment)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")


def cmd_expand_configs(args):
    """Prints the config files a glob names, one a line, sorted.

    A relative glob that matches nothing from the current directory is tried again from the
    benchmarks directory, so `--configs 'configs/*.json'` works from anywhere.
    """
    matches = sorted(glob.glob(args.pattern))
    if not matches and not os.path.isabs(args.pattern):
        matches = sorted(glob.glob(os.path.join(args.bench_dir, args.pattern)))
    matches = [m for m in matches if os.path.isfile(m)]
    if not matches:
        fail(f"--configs {args.pattern!r} matches no file")
    for m in matches:
        fragment = load_json(m)
        if not isinstance(fragment, dict):
            fail(f"{m}: the fragment must be a JSON object")
        print(m)


# --------------------------------------------------------------------------- wrk

_UNIT_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _duration_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"unparsable wrk duration {text!r}")
    return float(m.group(1)) * _UNIT_TO_MS[m.group(2)]


def parse_wrk(text):
    """Extracts the figures of one `wrk --latency` run."""
    result = {}
    m = re.search(r"^Requests/sec:\s*([0-9.]+)", text, re.M)
    if not m:
        raise ValueError("no 'Requests/sec' line in the wrk output")
    result["rps"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+),", text, re.M)
    if m:
        result["requests"] = int(m.group(1))
        result["elapsed_ms"] = _duration_ms(m.group(2))
    latency = {}
    distribution = text.split("Latency Distribution", 1)
    if len(distribution) == 2:
        for pct, value in re.findall(r"^\s*(\d+)%\s+([0-9.]+\w+)\s*$", distribution[1], re.M):
            latency[int(pct)] = _duration_ms(value)
    if 50 not in latency or 99 not in latency:
        raise ValueError("no p50/p99 in the wrk output (was --latency given?)")
    result["p50_ms"] = latency[50]
    result["p75_ms"] = latency.get(75)
    result["p90_ms"] = latency.get(90)
    for key in ("p50_ms", "p75_ms", "p90_ms", "p99_ms", "elapsed_ms"):
        if result.get(key) is not None:
            result[key] = round(result[key], 4)
    result["p99_ms"] = latency[99]
    socket_errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        socket_errors = dict(zip(socket_errors, map(int, m.groups())))
    result["socket_errors"] = socket_errors
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    result["non_2xx"] = int(m.group(1)) if m else 0
    result["errors"] = result["non_2xx"] + sum(socket_errors.values())
    return result


def cmd_parse_wrk(args):
    with open(args.file, encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        run = parse_wrk(text)
    except ValueError as e:
        fail(f"{args.file}: {e}")
    run.update(target=args.target, round=args.round, position=args.position,
               loadavg=_loadavg(), finished_at=_now_iso())
    print(json.dumps(run))


def cmd_describe_run(args):
    r = json.loads(args.run)
    print(f"{r['target']:<28} {r['rps']:>10,.0f} rps  p50 {r['p50_ms']:.2f} ms  "
          f"p99 {r['p99_ms']:.2f} ms  errors {r['errors']}")


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return [float(x) for x in f.read().split()[:3]]
    except OSError:
        return None


def _now_iso():
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


# --------------------------------------------------------------------------- report


def _fmt(value, spec):
    return "n/a" if value is None else format(value, spec)


def summarize(runs, targets):
    summary = {}
    for target in targets:
        mine = [r for r in runs if r["target"] == target]
        if not mine:
            continue
        rps = [r["rps"] for r in mine]
        median_rps = statistics.median(rps)
        summary[target] = {
            "rounds": len(mine),
            "rps_median": median_rps,
            "rps_min": min(rps),
            "rps_max": max(rps),
            "rps_spread_pct": (max(rps) - min(rps)) / median_rps * 100 if median_rps and len(rps) > 1 else None,
            "p50_ms_median": statistics.median(r["p50_ms"] for r in mine),
            "p99_ms_median": statistics.median(r["p99_ms"] for r in mine),
            "errors_total": sum(r["errors"] for r in mine),
            "non_2xx_total": sum(r["non_2xx"] for r in mine),
            "socket_errors_total": sum(sum(r["socket_errors"].values()) for r in mine),
        }
    return summary


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def ratios(summary):
    """For every dockmaster target: its rps over each reference's rps, and p99 over nginx's."""
    def rps(name):
        return summary.get(name, {}).get("rps_median")

    out = {}
    for target, s in summary.items():
        if not target.startswith("dockmaster"):
            continue
        out[target] = {
            "rps_vs_nginx": _ratio(s["rps_median"], rps("nginx")),
            "rps_vs_haproxy": _ratio(s["rps_median"], rps("haproxy")),
            "rps_vs_direct": _ratio(s["rps_median"], rps("direct")),
            "p99_vs_nginx": _ratio(s["p99_ms_median"], summary.get("nginx", {}).get("p99_ms_median")),
        }
    return out


def render(meta, summary, ratio_table):
    lines = []
    p = meta["parameters"]
    lines.append(f"dockmaster {meta['suite']}  {meta['started_at']}  (git {meta.get('git_commit') or '?'})")
    lines.append(f"wrk -t1 -c{p['connections']} -d{p['duration_s']}s --latency, {p['rounds']} round(s), "
                 f"order rotated per round; figures are medians over rounds, errors are totals")
    lines.append("")
    width = max([len("target")] + [len(t) for t in summary])
    lines.append(f"{'target':<{width}}  {'rps':>10}  {'spread':>7}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>7}")
    for target, s in summary.items():
        lines.append(f"{target:<{width}}  {s['rps_median']:>10,.0f}  {_fmt(s['rps_spread_pct'], '.1f') + ('%' if s['rps_spread_pct'] is not None else ''):>7}  "
                     f"{s['p50_ms_median']:>8.2f}  {s['p99_ms_median']:>8.2f}  {s['errors_total']:>7d}")
    lines.append("(spread = (max - min) / median of rps over the rounds; n/a with one round)")
    for target, reason in meta.get("skipped", {}).items():
        lines.append(f"{target}: SKIPPED: {reason}")
    lines.append("")
    if ratio_table:
        lines.append("ratios (dockmaster rps / reference rps: 1.00 = as fast, < 1 slower; "
                     "p99 ratio < 1 = lower tail latency than nginx)")
        with_haproxy = "haproxy" in summary
        lines.append(f"{'target':<{width}}  {'rps':>10}  {'p99 ms':>8}  {'/nginx':>7}  "
                     + (f"{'/haproxy':>8}  " if with_haproxy else "")
                     + f"{'/direct':>7}  {'p99/nginx':>9}")
        for target, r in ratio_table.items():
            s = summary[target]
            lines.append(f"{target:<{width}}  {s['rps_median']:>10,.0f}  {s['p99_ms_median']:>8.2f}  "
                         f"{_fmt(r['rps_vs_nginx'], '7.2f'):>7}  "
                         + (f"{_fmt(r['rps_vs_haproxy'], '8.2f'):>8}  " if with_haproxy else "")
                         + f"{_fmt(r['rps_vs_direct'], '7.2f'):>7}  {_fmt(r['p99_vs_nginx'], '9.2f'):>9}")
    elif not any(t.startswith("dockmaster") for t in meta["parameters"]["targets"]):
        lines.append("ratios: dockmaster was not among the targets")
    else:
        lines.append("ratios: n/a (dockmaster was not measured)")
    return "\n".join(lines) + "\n"


def cmd_report(args):
    meta = load_json(args.meta)
    runs = []
    if os.path.exists(args.runs):
        with open(args.runs, encoding="utf-8") as f:
            runs = [json.loads(line) for line in f if line.strip()]
    summary = summarize(runs, meta["parameters"]["targets_measured"])
    ratio_table = ratios(summary)
    meta["finished_at"] = _now_iso()
    meta["loadavg_end"] = _loadavg()
    text = render(meta, summary, ratio_table)
    document = dict(meta, summary=summary, ratios=ratio_table, runs=runs)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    with open(args.txt, "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)


# --------------------------------------------------------------------------- processes


def group_pids(pgid):
    """The pids of the processes whose process group is pgid (read from /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        # fields[0] is field 3 (state), so field 5 (pgrp) is fields[2].
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry))
    return sorted(pids)


def _cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def _title(pid):
    """The process title with every path cut to its last component (no machine paths in results)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            words = f.read().replace(b"\0", b" ").decode(errors="replace").split()
    except OSError:
        return "?"
    return " ".join(os.path.basename(w.rstrip("/")) if "/" in w else w for w in words)


def cmd_idle_cpu(args):
    """Prints `name percent` for each name=pgid: CPU used by the group while nobody loads it."""
    groups = [item.split("=", 1) for item in args.groups]
    hz = os.sysconf("SC_CLK_TCK")
    before = {name: sum(_cpu_ticks(p) for p in group_pids(int(pg))) for name, pg in groups}
    time.sleep(args.interval)
    for name, pg in groups:
        after = sum(_cpu_ticks(p) for p in group_pids(int(pg)))
        print(f"{name} {(after - before[name]) / hz / args.interval * 100:.1f}")


def cmd_memory(args):
    """Prints JSON: VmRSS/VmHWM and open fds of every process in the group, and their sums."""
    processes = []
    for pid in group_pids(args.pgid):
        processes.append({
            "pid": pid,
            "title": _title(pid),
            "vm_rss_kib": _status_kib(pid, "VmRSS"),
            "vm_hwm_kib": _status_kib(pid, "VmHWM"),
            "threads": _status_kib(pid, "Threads"),
            "fds": _fd_count(pid),
        })
    if not processes:
        fail(f"no process left in group {args.pgid}")
    print(json.dumps({
        "rss_kib": sum(p["vm_rss_kib"] or 0 for p in processes),
        "fds": sum(p["fds"] or 0 for p in processes),
        "processes": processes,
    }))


def cmd_rss_report(args):
    """Assembles measure_rss.sh's per-target files (DIR/TARGET/{idle,loaded,holder}.json)."""
    meta = load_json(args.meta)
    results = []
    for target in meta["parameters"]["targets_measured"]:
        d = os.path.join(args.dir, target)
        holder_lines = []
        with open(os.path.join(d, "holder.json"), encoding="utf-8") as f:
            holder_lines = [json.loads(line) for line in f if line.strip()]
        holder = dict(holder_lines[0])
        for line in holder_lines[1:]:
            holder.update(line)
        idle, loaded = load_json(os.path.join(d, "idle.json")), load_json(os.path.join(d, "loaded.json"))
        held = holder["held"]
        results.append({
            "target": target,
            "idle": idle,
            "loaded": loaded,
            "held": held,
            "failed": holder["failed"],
            "errors": holder["errors"],
            "still_open": holder.get("still_open"),
            "connect_seconds": holder["seconds"],
            "bytes_per_connection": (loaded["rss_kib"] - idle["rss_kib"]) * 1024 / held if held else None,
        })
    connections = meta["parameters"]["connections"]
    lines = [f"dockmaster memory  {meta['started_at']}  (git {meta.get('git_commit') or '?'})",
             f"{connections} keep-alive client connections, each idle after one GET / answered; "
             f"RSS = sum of VmRSS over the target's processes", ""]
    lines.append(f"{'target':<12}  {'idle RSS':>10}  {'loaded RSS':>10}  {'per conn':>9}  "
                 f"{'held':>6}  {'failed':>6}  {'open':>6}  {'fds':>6}")
    for r in results:
        lines.append(f"{r['target']:<12}  {r['idle']['rss_kib'] / 1024:>6.1f} MiB  "
                     f"{r['loaded']['rss_kib'] / 1024:>6.1f} MiB  "
                     f"{_fmt(r['bytes_per_connection'], ',.0f') + ' B':>9}  "
                     f"{r['held']:>6d}  {r['failed']:>6d}  {_fmt(r['still_open'], 'd'):>6}  "
                     f"{r['loaded']['fds']:>6d}")
        for reason, count in r["errors"].items():
            lines.append(f"    {count} x {reason}")
    for target, reason in meta.get("skipped", {}).items():
        lines.append(f"{target}: SKIPPED: {reason}")
    lines.append("(per conn = (loaded - idle) / held; open = still open when RSS was read; "
                 "fds = the target's open descriptors then)")
    text = "\n".join(lines) + "\n"
    meta["finished_at"] = _now_iso()
    document = dict(meta, results=results)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    with open(args.txt, "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)


# --------------------------------------------------------------------------- metadata


def _run(argv):
    import subprocess
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0] if (out.stdout + out.stderr).strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def _pairs(items):
    result = {}
    for item in items or []:
        key, _, value = item.partition("=")
        result[key] = value
    return result


def cmd_meta(args):
    parameters = {}
    for key, value in _pairs(args.set).items():
        try:
            parameters[key] = int(value)
        except ValueError:
            parameters[key] = value
    parameters["targets"] = [t for t in args.targets.split(",") if t]
    parameters["targets_measured"] = [t for t in args.measured.split(",") if t]
    fragments = {}
    for target, path in _pairs(args.fragment).items():
        fragments[target] = {"file": os.path.relpath(path, args.repo_root) if path else None,
                             "actor_system_fragment": load_json(path) if path else DEFAULT_ACTOR_SYSTEM}
    commit = _run(["git", "-C", args.repo_root, "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "-C", args.repo_root, "status", "--porcelain", "--untracked-files=no"])
    document = {
        "suite": args.suite,
        "started_at": _now_iso(),
        "git_commit": commit + ("+dirty" if dirty else "") if commit else None,
        "parameters": parameters,
        "skipped": _pairs(args.skipped),
        "dockmaster": {
            "binary": os.path.relpath(args.dockmaster_bin, args.repo_root) if args.dockmaster_bin else None,
            "configs": fragments,
        },
        "machine": {
            "nproc": os.cpu_count(),
            "kernel": os.uname().release,
            "loadavg_start": _loadavg(),
        },
        "tools": {
            "wrk": _run(["wrk", "-v"]),
            "nginx": _run(["nginx", "-v"]),
            "haproxy": _run(["haproxy", "-v"]),
            "python": sys.version.split()[0],
        },
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")


# --------------------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("free-ports")
    p.add_argument("count", type=int)
    p.set_defaults(func=cmd_free_ports)

    p = sub.add_parser("dockmaster-config")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream-port", type=int, required=True)
    p.add_argument("--fragment")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_dockmaster_config)

    p = sub.add_parser("expand-configs")
    p.add_argument("pattern")
    p.add_argument("--bench-dir", required=True)
    p.set_defaults(func=cmd_expand_configs)

    p = sub.add_parser("parse-wrk")
    p.add_argument("file")
    p.add_argument("--target", required=True)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--position", type=int, required=True)
    p.set_defaults(func=cmd_parse_wrk)

    p = sub.add_parser("describe-run")
    p.add_argument("run", help="one line of parse-wrk output")
    p.set_defaults(func=cmd_describe_run)

    p = sub.add_parser("report")
    p.add_argument("--meta", required=True)
    p.add_argument("--runs", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--txt", required=True)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("idle-cpu")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("groups", nargs="+", metavar="NAME=PGID")
    p.set_defaults(func=cmd_idle_cpu)

    p = sub.add_parser("memory")
    p.add_argument("pgid", type=int)
    p.set_defaults(func=cmd_memory)

    p = sub.add_parser("rss-report")
    p.add_argument("--meta", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--txt", required=True)
    p.set_defaults(func=cmd_rss_report)

    p = sub.add_parser("meta")
    p.add_argument("--suite", required=True)
    p.add_argument("--repo-root", required=True)
    p.add_argument("--set", action="append", metavar="KEY=VALUE")
    p.add_argument("--targets", required=True)
    p.add_argument("--measured", required=True)
    p.add_argument("--skipped", action="append", metavar="TARGET=REASON")
    p.add_argument("--fragment", action="append", metavar="TARGET=FILE",
                   help="the actor_system fragment a dockmaster target uses (empty: the default)")
    p.add_argument("--dockmaster-bin")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_meta)

    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
