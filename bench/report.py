#!/usr/bin/env python3
"""Turns bench/run's measurements into the Markdown report.

  report.py record ...        one wrk run -> one JSON line (stdout)
  report.py brief             one JSON line (stdin) -> a one-line summary
  report.py render --raw F    every JSON line -> the Markdown report
"""
import argparse
import json
import statistics
import sys

# The peers each Palisade system is compared with (the first is its
# like-for-like peer).
PEERS = {
    "palisade-cookie": ["tower-cookies-private", "tower-cookies-signed"],
    "palisade-memory": ["tower-sessions-memory"],
    "palisade-sqlite": ["tower-sessions-sqlite"],
    "palisade-postgres": ["tower-sessions-postgres"],
    "palisade-redis": ["tower-sessions-redis"],
    "palisade-stack": ["peers-stack"],
}

# The ceiling each system's "× bare" is taken against.
def ceiling(system):
    return "bare-stack" if system.endswith("-stack") else "bare"

RETURNING = ("returning:counter", "returning:read", "new:counter")

# Issue 15's targets: (scenarios, system, against, median at least, lowest
# repetition at least). A target is met only when both hold.
TARGETS = (
    [(RETURNING, system, peers[0], 1.00, 0.95) for system, peers in PEERS.items() if system != "palisade-stack"]
    + [
        (("returning:page",), "palisade-stack", "peers-stack", 1.10, 0.95),
        (("returning:read",), "palisade-cookie", "tower-cookies-signed", 0.95, 0.90),
        (("returning:read",), "palisade-memory", "bare", 0.85, 0.80),
        (("returning:counter",), "palisade-memory", "bare", 0.75, 0.70),
        (("returning:counter",), "palisade-sqlite", "bare", 0.25, 0.20),
        (("returning:read",), "palisade-sqlite", "bare", 0.35, 0.30),
    ]
)
# Every Palisade p99 at most this many times its peer's; the SQLite p99 (ms).
P99_RATIO = 1.5
SQLITE_P99_MS = 20.0


def parse_wrk(line):
    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    return {k: int(v) for k, v in fields.items()}


def parse_calls(text):
    return {k: int(v) for k, v in (kv.split("=", 1) for kv in text.split())}


def record(args):
    wrk = parse_wrk(args.wrk)
    before, after = json.loads(args.before), json.loads(args.after)
    requests = max(wrk["requests"], 1)
    row = {
        "kind": args.kind,
        "scenario": args.scenario,
        "system": args.system,
        "rep": args.rep,
        "requests": wrk["requests"],
        "rps": wrk["requests"] / (wrk["duration_us"] / 1e6),
        "p50_ms": wrk["p50_us"] / 1000,
        "p99_ms": wrk["p99_us"] / 1000,
        "max_ms": wrk["max_us"] / 1000,
        "errors": wrk["connect"] + wrk["read"] + wrk["write"] + wrk["timeout"],
        "non_2xx": wrk["status"],
        "rss_end": after.get("rss_bytes"),
    }
    if after.get("cpu_us") is not None and before.get("cpu_us") is not None:
        # Server CPU time per request (user + system, 10 ms ticks: over a
        # 10 s run the rounding is under 0.1%).
        row["cpu_us_per_req"] = (after["cpu_us"] - before["cpu_us"]) / requests
    if after.get("store") and before.get("store"):
        b, a = before["store"], after["store"]
        row["store_calls"] = {
            k: (a[k] - b[k]) / requests for k in a if k != "sessions" and isinstance(a[k], int) and k in b
        }
        row["sessions_end"] = a.get("sessions")
    if args.redis_after:
        b, a = parse_calls(args.redis_before), parse_calls(args.redis_after)
        row["redis_cmds"] = {k: (v - b.get(k, 0)) / requests for k, v in a.items() if v - b.get(k, 0) > 0}
    if args.read_sets_cookie:
        row["read_sets_cookie"] = args.read_sets_cookie == "yes"
    if args.samples:
        rss = [before.get("rss_bytes") or 0]
        with open(args.samples) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rss.append(json.loads(line)["rss_bytes"])
                    except (ValueError, KeyError):
                        pass
        row["rss_samples"] = rss + [after.get("rss_bytes") or 0]
    print(json.dumps(row))


def brief(_args):
    row = json.loads(sys.stdin.readline())
    extra = ""
    if "store_calls" in row:
        extra += f", store calls/req {row['store_calls'].get('total', 0):.2f}"
    if "redis_cmds" in row:
        extra += f", redis cmds/req {sum(row['redis_cmds'].values()):.2f}"
    bad = f", {row['errors']} errors, {row['non_2xx']} non-2xx" if row["errors"] or row["non_2xx"] else ""
    print(f"{row['rps']:.0f} req/s, p99 {row['p99_ms']:.2f} ms{extra}{bad}")


def paired(medians, scenario, system, against):
    """Per-repetition ratios of `system`'s req/s to `against`'s."""
    a = medians.get((scenario, system))
    b = medians.get((scenario, against))
    if not a or not b:
        return []
    by_rep = {r["rep"]: r["rps"] for r in b["runs"]}
    return [r["rps"] / by_rep[r["rep"]] for r in a["runs"] if by_rep.get(r["rep"])]


def fmt_paired(ratios):
    """`0.81× (0.78–0.84)`: the median and the range of paired ratios."""
    if not ratios:
        return "—"
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}×"
    return f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"


def fmt_calls(calls, skip=("total", "writes")):
    """`1.00 (load 1.00)`: the total per request, then each kind that occurred."""
    if not calls:
        return "—"
    total = calls["total"] if "total" in calls else sum(calls.values())
    parts = [f"{k} {v:.2f}" for k, v in sorted(calls.items()) if k not in skip and v >= 0.005]
    return f"{total:.2f}" + (f" ({', '.join(parts)})" if parts else "")


def mib(n):
    return "—" if n is None else f"{n / 2**20:.1f}"


def render(args):
    rows = []
    with open(args.raw) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    notes = []
    if args.notes:
        with open(args.notes) as f:
            notes = [n.strip() for n in f if n.strip()]
    out = []
    w = out.append
    w("# Palisade benchmark report")
    w("")
    w(
        f"Setup: {args.setup}. Medians over the repetitions. Ratios are *paired*: each repetition "
        "runs every system back to back (A B C … A B C), the ratio is taken within each repetition "
        "and the median of those is reported, with the lowest and highest in brackets — the machine's "
        "speed drifts between repetitions far more than within one. *CPU µs/req*: the server "
        "process's CPU time (user + system, its share of the kernel's TCP work included) per request."
    )
    w("")
    w(
        "*store calls/req*: calls the session layer made to its store per request, counted in the app "
        "(each call is one round trip). *Redis cmds/req*: `INFO commandstats` delta on the private "
        "redis-server, per request; commands run inside a Lua script (`EVALSHA`) are counted too, so it "
        "can exceed the round trips."
    )
    w("")

    throughput = [r for r in rows if r["kind"] == "throughput"]
    scenarios = list(dict.fromkeys(r["scenario"] for r in throughput))
    medians = {}
    for scenario in scenarios:
        systems = list(dict.fromkeys(r["system"] for r in throughput if r["scenario"] == scenario))
        for system in systems:
            runs = [r for r in throughput if r["scenario"] == scenario and r["system"] == system]
            medians[(scenario, system)] = {
                "rps": statistics.median(r["rps"] for r in runs),
                "p99": statistics.median(r["p99_ms"] for r in runs),
                "runs": runs,
            }
        visitor, route = scenario.split(":")
        w(f"## {visitor} visitor, `/{route}`")
        w("")
        w(
            "| system | req/s | p99 ms | CPU µs/req | × bare | × peer | store calls/req | Redis cmds/req "
            "| errors | Set-Cookie on read |"
        )
        w("|---|---:|---:|---:|---:|---:|---|---|---:|---|")
        for system in systems:
            m = medians[(scenario, system)]
            bare = ceiling(system)
            last = m["runs"][-1]
            calls = fmt_calls(statistics_of(m["runs"], "store_calls"))
            redis = fmt_calls(statistics_of(m["runs"], "redis_cmds"), skip=())
            errors = sum(r["errors"] + r["non_2xx"] for r in m["runs"])
            cookie = {True: "**yes**", False: "no"}.get(last.get("read_sets_cookie"), "—")
            peer_cells = [
                f"{fmt_paired(paired(medians, scenario, system, peer))} ({peer})"
                for peer in PEERS.get(system, [])
                if (scenario, peer) in medians
            ]
            peer_cell = "<br>".join(peer_cells) or "—"
            bare_cell = fmt_paired(paired(medians, scenario, system, bare)) if (scenario, bare) in medians else "—"
            cpu = [r["cpu_us_per_req"] for r in m["runs"] if r.get("cpu_us_per_req")]
            cpu_cell = f"{statistics.median(cpu):.1f}" if cpu else "—"
            w(
                f"| {system} | {m['rps']:.0f} | {m['p99']:.2f} | {cpu_cell} | {bare_cell} "
                f"| {peer_cell} | {calls} | {redis} | {errors} | {cookie} |"
            )
        w("")

    if medians:
        w("## Targets (issue 15)")
        w("")
        w(
            "*met*: the whole bracket clears the target (every repetition's paired ratio, p99 "
            "ratio or p99). *median only*: the median reaches it, the bracket does not — not met. "
            "The floor is the issue's lowest-repetition bound, shown for reference."
        )
        w("")
        w("| system | against | route | target (floor) | measured | |")
        w("|---|---|---|---:|---:|---|")
        for scenarios_of, system, against, goal, floor in TARGETS:
            for scenario in scenarios_of:
                if (scenario, system) not in medians or (scenario, against) not in medians:
                    continue
                ratios = paired(medians, scenario, system, against)
                if not ratios:
                    continue
                verdict = bracket_verdict(min(ratios) >= goal, statistics.median(ratios) >= goal)
                w(
                    f"| {system} | {against} | {scenario} | {goal:.2f}× ({floor:.2f}×) "
                    f"| {fmt_paired(ratios)} | {verdict} |"
                )
        for system, peers in PEERS.items():
            for scenario in scenarios:
                a, b = medians.get((scenario, system)), medians.get((scenario, peers[0]))
                if not a or not b or scenario == "returning:none":
                    continue
                ratio = a["p99"] / b["p99"] if b["p99"] else float("inf")
                by_rep = {r["rep"]: r["p99_ms"] for r in b["runs"]}
                per_rep = [r["p99_ms"] / by_rep[r["rep"]] for r in a["runs"] if by_rep.get(r["rep"])]
                worst = max(per_rep, default=ratio)
                verdict = bracket_verdict(worst <= P99_RATIO, ratio <= P99_RATIO)
                w(
                    f"| {system} p99 | {peers[0]} p99 | {scenario} | ≤ {P99_RATIO:.1f}× "
                    f"| {a['p99']:.2f} / {b['p99']:.2f} ms = {ratio:.2f}× (worst repetition {worst:.2f}×) "
                    f"| {verdict} |"
                )
        for scenario in scenarios:
            a = medians.get((scenario, "palisade-sqlite"))
            if a and scenario != "returning:none":
                worst = max(r["p99_ms"] for r in a["runs"])
                verdict = bracket_verdict(worst < SQLITE_P99_MS, a["p99"] < SQLITE_P99_MS)
                w(
                    f"| palisade-sqlite p99 | — | {scenario} | < {SQLITE_P99_MS:.0f} ms "
                    f"| {a['p99']:.2f} ms (worst repetition {worst:.2f} ms) | {verdict} |"
                )
        w("")

    flood = [r for r in rows if r["kind"] == "flood"]
    if flood:
        w("## Flood of new visitors (`/counter`, no cookie: one new session per request)")
        w("")
        w("| system | req/s | p99 ms | max ms | RSS start MiB | RSS peak MiB | RSS end MiB | sessions held |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in flood:
            samples = r.get("rss_samples") or [r.get("rss_end") or 0]
            held = r.get("sessions_end")
            w(
                f"| {r['system']} | {r['rps']:.0f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | {mib(samples[0])} "
                f"| {mib(max(samples))} | {mib(r.get('rss_end'))} | {'—' if held is None else held} |"
            )
        w("")

    memory = [r["line"] for r in rows if r["kind"] == "memory"]
    if memory:
        w("## Memory per session (in-process fill through `/login`)")
        w("")
        w("| system | sessions | process RSS bytes/session | Redis used_memory bytes/session |")
        w("|---|---:|---:|---:|")
        for m in memory:
            redis = m.get("redis_bytes_per_session")
            w(
                f"| {m['system']} | {m['sessions']} | {m['rss_bytes_per_session']:.0f} "
                f"| {'—' if redis is None else f'{redis:.0f}'} |"
            )
        w("")

    if notes:
        w("## Notes")
        w("")
        for n in notes:
            w(f"- {n}")
        w("")
    print("\n".join(out))


def bracket_verdict(whole_bracket, median):
    """Met only when every repetition clears the target."""
    if whole_bracket:
        return "met"
    return "**median only**" if median else "**missed**"


def statistics_of(runs, key):
    """Per-field median of a dict-valued measurement over the runs."""
    dicts = [r[key] for r in runs if r.get(key)]
    if not dicts:
        return None
    fields = set().union(*dicts)
    return {k: statistics.median(d.get(k, 0) or 0 for d in dicts) for k in fields}


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    for name in ("kind", "scenario", "system", "wrk", "before", "after"):
        rec.add_argument(f"--{name}", required=True)
    rec.add_argument("--rep", type=int, required=True)
    for name in ("redis-before", "redis-after", "read-sets-cookie", "samples"):
        rec.add_argument(f"--{name}", default="")
    sub.add_parser("brief")
    ren = sub.add_parser("render")
    ren.add_argument("--raw", required=True)
    ren.add_argument("--notes", default="")
    ren.add_argument("--setup", default="")
    args = parser.parse_args()
    {"record": record, "brief": brief, "render": render}[args.command](args)


if __name__ == "__main__":
    main()
