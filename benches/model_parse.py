#!/usr/bin/env python3
"""Parsing and tables for benches/model.sh.

  model_parse.py row  --out CSV --label L --scenario S [--key value ...]
                      --stdout FILE --time FILE --run-dir DIR [--log-lateness]
      Appends one CSV row with the figures of one run: what the run printed
      (summary table, `mesh connected in`, `messages:`), the `stop` lines of
      its logs, and /usr/bin/time -v (CPU seconds, peak RSS).
  model_parse.py table CSV [--md FILE] [--cols a,b,c]
      Groups rows by label and prints the median and the spread (min..max)
      of each column, as a markdown table; also writes it to FILE.
  model_parse.py strace --out CSV --label L --summary FILE --stdout FILE ...
      Appends a row of write-syscall counts from `strace -c` output.
  model_parse.py perftrace --out CSV --label L --summary FILE --stdout FILE ...
      Appends a row of per-thread syscall counts from `perf trace -s`.

Only the standard library is used.
"""
import argparse
import csv
import glob
import os
import re
import statistics
import sys
from datetime import datetime

KV = re.compile(r"(\w+): ([^,]*)")


_SECONDS = {}


def parse_line(line):
    """(time_us, message, {key: value}) of one log line, or None."""
    parts = line.rstrip("\n").split(" ", 3)
    if len(parts) < 3:
        return None
    ts, _level, rest = parts[0], parts[1], " ".join(parts[2:])
    msg, _, kvs = rest.partition(", ")
    # 2026-11-27T01:36:28.636576Z: the whole seconds repeat, parse them once.
    head, _, frac = ts.partition(".")
    secs = _SECONDS.get(head)
    if secs is None:
        try:
            t = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
        secs = _SECONDS[head] = int((t - datetime(1970, 1, 1)).total_seconds())
    try:
        us = secs * 1_000_000 + int(frac.rstrip("Z").ljust(6, "0")[:6])
    except ValueError:
        return None
    return us, msg.rstrip(","), dict(KV.findall(kvs))


def quantile(sorted_vals, q):
    if not sorted_vals:
        return 0
    rank = max(1, min(len(sorted_vals), int(-(-q * len(sorted_vals) // 1))))
    return sorted_vals[rank - 1]


def parse_time(path):
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("User time (seconds):"):
                out["user_s"] = float(line.split(":")[-1])
            elif line.startswith("System time (seconds):"):
                out["sys_s"] = float(line.split(":")[-1])
            elif line.startswith("Maximum resident set size (kbytes):"):
                out["rss_mb"] = round(int(line.split(":")[-1]) / 1024, 1)
            elif line.startswith("Elapsed (wall clock) time"):
                v = line.split("):")[-1].strip()
                secs = 0.0
                for p in v.split(":"):
                    secs = secs * 60 + float(p)
                out["wall_s"] = secs
            elif line.startswith("Exit status:"):
                out["exit"] = int(line.split(":")[-1])
            elif line.startswith("Voluntary context switches:"):
                out["vcsw"] = int(line.split(":")[-1])
            elif line.startswith("Involuntary context switches:"):
                out["ivcsw"] = int(line.split(":")[-1])
    if "user_s" in out:
        out["cpu_s"] = round(out["user_s"] + out["sys_s"], 2)
        if out.get("wall_s"):
            out["cpu_pct"] = round(100 * out["cpu_s"] / out["wall_s"], 2)
    return out


NUM = r"([0-9.]+)"


def parse_stdout(path):
    out = {}
    if not path or not os.path.exists(path):
        return out
    text = open(path).read()
    m = re.search(r"mesh connected in " + NUM + " ms", text)
    if m:
        out["mesh_ms"] = float(m.group(1))
    m = re.search(r"p50 " + NUM + r" ms, p99 " + NUM + r" ms, max " + NUM + " ms", text)
    if m:
        out["transit_p50_ms"], out["transit_p99_ms"], out["transit_max_ms"] = map(
            float, m.groups()
        )
    m = re.search(
        r"messages: (\d+) sent = (\d+) received \+ (\d+) left in queues \+ (\d+) dropped",
        text,
    )
    if m:
        out["msgs_sent"], out["msgs_received"], out["msgs_left"], out["msgs_dropped"] = map(
            int, m.groups()
        )
        out["balanced"] = 0 if "DOES NOT BALANCE" in text else 1
    m = re.search(r"run directory: (\S+)", text)
    if m:
        out["run_dir"] = m.group(1)
    return out


def parse_run_dir(run_dir, runtime, log_lateness):
    """Figures from the run's logs: stop lines, and optionally lateness
    recomputed from the tick lines' own timestamps."""
    out = {}
    files = sorted(glob.glob(os.path.join(run_dir, "vm-*.log")))
    if not files:
        return out
    vms = []
    pooled = []
    lines = 0
    for path in files:
        rate = None
        stop = None
        tick_times = []
        with open(path) as f:
            for line in f:
                lines += 1
                if log_lateness:
                    p = parse_line(line)
                    if not p:
                        continue
                    t, msg, kv = p
                else:
                    if " INFO start" not in line and " INFO stop" not in line:
                        continue
                    t, msg, kv = parse_line(line)
                if msg == "start":
                    rate = int(kv["rate"])
                elif msg == "stop":
                    stop = kv
                elif msg in ("send", "receive", "internal"):
                    tick_times.append(t)
        if stop is None:
            continue
        vm = {k: int(v) for k, v in stop.items() if v.isdigit()}
        vm["rate"] = rate
        vm["expected"] = int(rate * runtime + 1e-9) if rate else 0
        if log_lateness and tick_times and rate:
            period_us = 1_000_000 / rate
            offs = [t - k * period_us for k, t in enumerate(tick_times)]
            base = min(offs)
            late = sorted(o - base for o in offs)
            pooled.extend(late)
            vm["log_late_p50_us"] = quantile(late, 0.5)
            vm["log_late_p99_us"] = quantile(late, 0.99)
            vm["log_late_max_us"] = late[-1]
            # Drift: the fitted schedule at the first and last tick.
            if len(tick_times) > 1:
                span = tick_times[-1] - tick_times[0]
                ideal = (len(tick_times) - 1) * period_us
                vm["log_span_err_us"] = span - ideal
        vms.append(vm)
    out["log_lines"] = lines
    out["log_mb"] = round(sum(os.path.getsize(p) for p in files) / 1e6, 2)
    out["vms_stopped"] = len(vms)
    if not vms:
        # No VM logged its stop (a failed or strangled run): nothing more.
        return out
    ticks = [v.get("ticks", 0) for v in vms]
    out["events"] = sum(ticks)
    errs = [v.get("ticks", 0) - v["expected"] for v in vms]
    out["count_err_max"] = max(errs, key=abs) if errs else 0
    out["count_err_sum"] = sum(errs)
    for key in ("late_p50_us", "late_p99_us", "late_max_us", "transit_p99_us"):
        vals = sorted(v.get(key, 0) for v in vms)
        out[key + "_med"] = statistics.median(vals)
        out[key + "_worst"] = vals[-1]
    out["late_max_us"] = out.pop("late_max_us_worst")
    # The stop lines' histogram ends at 20 ms: a quantile beyond it is
    # reported as the VM's maximum. Count the VMs where that happened.
    out["vms_p99_over_20ms"] = sum(1 for v in vms if v.get("late_p99_us", 0) > 20_000)
    out.pop("late_max_us_med")
    if log_lateness and vms and "log_late_p50_us" in vms[0]:
        for key in ("log_late_p50_us", "log_late_p99_us", "log_late_max_us"):
            vals = sorted(v.get(key, 0) for v in vms)
            out[key + "_worst"] = round(vals[-1])
        pooled.sort()
        out["log_late_p50_us_all"] = round(quantile(pooled, 0.5))
        out["log_late_p99_us_all"] = round(quantile(pooled, 0.99))
        out["log_late_over_2ms_pct"] = round(100 * sum(1 for x in pooled if x > 2000) / len(pooled), 2)
        out["log_span_err_us_worst"] = round(
            max((v.get("log_span_err_us", 0) for v in vms), key=abs)
        )
    out["queue_left"] = sum(v.get("queue", 0) for v in vms)
    return out


def append_row(csv_path, row):
    exists = os.path.exists(csv_path) and os.path.getsize(csv_path) > 0
    if exists:
        with open(csv_path) as f:
            header = next(csv.reader(f))
        for k in row:
            if k not in header:
                header.append(k)
        # Rewrite with the widened header if new columns appeared.
        with open(csv_path) as f:
            old = list(csv.DictReader(f))
        with open(csv_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header)
            w.writeheader()
            for r in old:
                w.writerow(r)
            w.writerow(row)
    else:
        with open(csv_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            w.writeheader()
            w.writerow(row)


def cmd_row(args, extra):
    row = {"scenario": args.scenario, "label": args.label}
    it = iter(extra)
    for k in it:
        row[k.lstrip("-")] = next(it)
    runtime = float(row.get("runtime", 0))
    row.update(parse_time(args.time))
    so = parse_stdout(args.stdout)
    run_dir = args.run_dir or so.get("run_dir")
    so.pop("run_dir", None)
    row.update(so)
    if run_dir and os.path.isdir(run_dir):
        row.update(parse_run_dir(run_dir, runtime, args.log_lateness))
    if "events" in row:
        if row.get("virtual") == "1" and row.get("wall_s"):
            row["events_per_s"] = round(row["events"] / row["wall_s"])
        elif runtime:
            row["events_per_s"] = round(row["events"] / runtime)
        if row.get("cpu_s") and row["events"]:
            row["cpu_us_per_event"] = round(1e6 * row["cpu_s"] / row["events"], 2)
    append_row(args.out, row)
    show = {k: row[k] for k in args.show.split(",") if k in row} if args.show else row
    print("   " + "  ".join(f"{k}={v}" for k, v in show.items()), flush=True)


def fmt(v):
    if isinstance(v, float):
        if v == int(v):
            return str(int(v))
        if abs(v) >= 100:
            return f"{v:.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
    return str(v)


def cmd_table(args):
    with open(args.csv) as f:
        rows = list(csv.DictReader(f))
    if args.scenario:
        rows = [r for r in rows if r["scenario"] == args.scenario]
    groups = {}
    for r in rows:
        groups.setdefault(r["label"], []).append(r)
    cols = args.cols.split(",")
    lines = ["| run | n | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for label, rs in groups.items():
        cells = []
        for c in cols:
            vals = []
            for r in rs:
                try:
                    vals.append(float(r.get(c, "")))
                except ValueError:
                    pass
            if not vals:
                cells.append("")
            elif len(vals) == 1 or min(vals) == max(vals):
                cells.append(fmt(vals[0]))
            else:
                cells.append(
                    f"{fmt(statistics.median(vals))} ({fmt(min(vals))}..{fmt(max(vals))})"
                )
        lines.append(f"| {label} | {len(rs)} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write(text)


def cmd_strace(args, extra):
    """A row of syscall counts from `strace -c` output."""
    row = {"scenario": args.scenario, "label": args.label}
    it = iter(extra)
    for k in it:
        row[k.lstrip("-")] = next(it)
    counts = {}
    with open(args.summary) as f:
        for line in f:
            p = line.split()
            # % time, seconds, usecs/call, calls, [errors], syscall
            if len(p) >= 5 and p[-1].isidentifier() and p[0][0].isdigit():
                try:
                    calls = int(p[3])
                except ValueError:
                    continue
                counts[p[-1]] = calls
    for name in ("write", "writev", "sendto", "sendmsg"):
        row[name] = counts.get(name, 0)
    row.update(parse_stdout(args.stdout))
    row.pop("run_dir", None)
    so_run = parse_stdout(args.stdout).get("run_dir")
    runtime = float(row.get("runtime", 0))
    if so_run and os.path.isdir(so_run):
        row.update(parse_run_dir(so_run, runtime, False))
    if args.fds and os.path.exists(args.fds):
        # Per-kind counts from a `strace -y` trace: log files vs sockets.
        logw = sockw = wake = other = 0
        pat = re.compile(r"(write|writev|sendto|sendmsg)\(\d+<([^>]*)>")
        with open(args.fds) as f:
            for line in f:
                m = pat.search(line)
                if not m:
                    continue
                target = m.group(2)
                if target.endswith(".log"):
                    logw += 1
                elif target.startswith("TCP") or "socket" in target:
                    sockw += 1
                elif "anon_inode" in target or "eventfd" in target:
                    # The runtime's eventfd: one thread waking the other.
                    wake += 1
                else:
                    other += 1
        row["log_writes"], row["socket_writes"] = logw, sockw
        row["eventfd_writes"], row["other_writes"] = wake, other
    lines = int(row.get("log_lines", 0) or 0)
    sent = int(row.get("msgs_sent", 0) or 0)
    if "log_writes" in row:
        if lines:
            row["lines_per_log_write"] = round(lines / max(1, row["log_writes"]), 1)
        if sent:
            row["socket_writes_per_frame"] = round(row["socket_writes"] / sent, 3)
    append_row(args.out, row)
    print("   " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


def parse_perf_trace(path):
    """{thread name: {syscall: calls}} from `perf trace -s`, threads of the
    same name summed; the busiest `logical-clocks` thread is the actor
    thread (the actix System thread, where every VM and bridge runs)."""
    threads = []
    cur = None
    head = re.compile(r"^ (\S.*) \((\d+)\), (\d+) events")
    row = re.compile(r"^\s+(\w+)\s+(\d+)\s+(\d+)\s+[0-9.]+")
    with open(path) as f:
        for line in f:
            m = head.match(line)
            if m:
                cur = {"name": m.group(1), "events": int(m.group(3)), "calls": {}}
                threads.append(cur)
                continue
            m = row.match(line)
            if m and cur is not None:
                cur["calls"][m.group(1)] = int(m.group(2))
    return threads


def cmd_perftrace(args, extra):
    row = {"scenario": args.scenario, "label": args.label}
    it = iter(extra)
    for k in it:
        row[k.lstrip("-")] = next(it)
    threads = parse_perf_trace(args.summary)
    total = {}
    for t in threads:
        for k, v in t["calls"].items():
            total[k] = total.get(k, 0) + v
    actor = max(
        (t for t in threads if t["name"] == "logical-clocks"),
        key=lambda t: t["events"],
        default={"calls": {}},
    )["calls"]
    writer = {}
    for t in threads:
        if t["name"] == "log-writer":
            for k, v in t["calls"].items():
                writer[k] = writer.get(k, 0) + v
    for name in ("write", "writev", "sendto"):
        row[name] = total.get(name, 0)
    row["log_writes"] = writer.get("write", 0)
    row["socket_writes"] = total.get("writev", 0) + total.get("sendto", 0)
    # The actor thread writes no log file: its writes are the runtime's
    # eventfd wake-ups (and a handful of stdout lines at the end).
    row["eventfd_writes"] = actor.get("write", 0)
    row["actor_syscalls"] = sum(actor.values())
    row["actor_reads"] = sum(actor.get(k, 0) for k in ("read", "recvfrom", "recvmsg", "readv"))
    row["actor_epoll"] = sum(actor.get(k, 0) for k in ("epoll_wait", "epoll_pwait", "epoll_pwait2"))
    row["actor_futex"] = actor.get("futex", 0)
    row["writer_futex"] = writer.get("futex", 0)
    row["all_syscalls"] = sum(total.values())
    so = parse_stdout(args.stdout)
    run_dir = so.pop("run_dir", None)
    row.update(so)
    runtime = float(row.get("runtime", 0))
    if run_dir and os.path.isdir(run_dir):
        row.update(parse_run_dir(run_dir, runtime, False))
    lines = int(row.get("log_lines", 0) or 0)
    sent = int(row.get("msgs_sent", 0) or 0)
    if lines:
        row["lines_per_log_write"] = round(lines / max(1, row["log_writes"]), 1)
    if sent:
        row["socket_writes_per_frame"] = round(row["socket_writes"] / sent, 3)
        row["actor_reads_per_frame"] = round(row["actor_reads"] / sent, 3)
    append_row(args.out, row)
    print("   " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("row", allow_abbrev=False)
    r.add_argument("--out", required=True)
    r.add_argument("--label", required=True)
    r.add_argument("--scenario", required=True)
    r.add_argument("--stdout")
    r.add_argument("--time")
    r.add_argument("--run-dir")
    r.add_argument("--log-lateness", action="store_true")
    r.add_argument("--show", default="")
    t = sub.add_parser("table", allow_abbrev=False)
    t.add_argument("csv")
    t.add_argument("--md")
    t.add_argument("--cols", required=True)
    t.add_argument("--scenario")
    s = sub.add_parser("strace", allow_abbrev=False)
    s.add_argument("--out", required=True)
    s.add_argument("--label", required=True)
    s.add_argument("--scenario", required=True)
    s.add_argument("--summary", required=True)
    s.add_argument("--stdout", required=True)
    s.add_argument("--fds")
    pt = sub.add_parser("perftrace", allow_abbrev=False)
    pt.add_argument("--out", required=True)
    pt.add_argument("--label", required=True)
    pt.add_argument("--scenario", required=True)
    pt.add_argument("--summary", required=True)
    pt.add_argument("--stdout", required=True)
    args, extra = ap.parse_known_args()
    if args.cmd == "row":
        cmd_row(args, extra)
    elif args.cmd == "table":
        cmd_table(args)
    elif args.cmd == "perftrace":
        cmd_perftrace(args, extra)
    else:
        cmd_strace(args, extra)


if __name__ == "__main__":
    sys.exit(main())
