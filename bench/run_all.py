"""The benchmark suite: every benchmark in bench/, one after the other, in one report.

Each benchmark runs as its own process (``python bench/<name>.py …``) and prints one JSON object;
this script collects them, with the command, wall time and exit status of each and a description
of the machine (CPU, cores, memory, OS, Python, PostgreSQL server, git commit, date), into one
JSON document, and writes a Markdown summary with the headline figures against their targets:

    bench/results/latest.json, bench/results/latest.md   (or --out DIR)

The full suite takes 10 to 12 minutes on 2 shared cores: 6 to 8 for the others (the parameters
below are chosen for that), and about 3.5 for the soak's 2-minute run (seeding 10,000 subscribers
and 30,000 staff, starting the bot, 2 minutes of load, stopping). ``--quick`` uses small sizes and
one round: a smoke test, not figures. The machine, the date and the load average are printed
first (on stderr) and head the report; the load average at the end closes it.

    python bench/run_all.py [--out DIR] [--quick] [--only NAME[,NAME…]] [--no-postgres]

Names: search, updates, reminders, broadcast-sqlite, broadcast-postgres ("broadcast" selects
both), instances, soak. The PostgreSQL variants use TEST_DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/test): the status-loop benchmark and the soak make and drop
their own databases there (so do the instances, three `ankommen run` on one budget), and the broadcast benchmark gets a database made for this run and
dropped after it. Without a reachable server they are skipped, and the report says so.

Exit status: 0 when every selected benchmark ran and printed its JSON, 1 otherwise (the report is
written all the same, after every benchmark, so a failure or a kill keeps what was measured).
Whether a figure meets its target never changes the exit status: the machine is shared and noisy,
so speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Bench:
    name: str
    script: str
    full: list[str]
    quick: list[str]
    summary: Callable[[dict], list[tuple[str, str, str, bool | None]]]
    postgres: bool = False  # needs the PostgreSQL server
    timeout_s: int = 420
    extra: dict = field(default_factory=dict)


# --- headline figures: (measurement, figure, target, met or None) -----------------------------


def _ok(value: bool | None) -> str:
    return {True: "met", False: "**not met**", None: ""}[value]


def search_summary(r: dict) -> list[tuple[str, str, str, bool | None]]:
    real, syn = r["real_content"], r["with_synthetic_offers"]
    rows = [
        (
            f"p50 / p99 per query, real content ({real['documents']} documents), cold",
            f"{real['cold']['p50_ms']} / {real['cold']['p99_ms']} ms (warm {real['warm']['p50_ms']} / {real['warm']['p99_ms']})",
            "p99 ≤ 5 ms",
            real["cold"]["p99_ms"] <= 5,
        ),
        (
            f"p50 / p99 per query, with {syn['extra_offers']:,} synthetic offers ({syn['documents']:,} documents), cold",
            f"{syn['cold']['p50_ms']} / {syn['cold']['p99_ms']} ms",
            "p99 ≤ 25 ms",
            syn["cold"]["p99_ms"] <= 25,
        ),
        (
            "RSS: imports / catalog loaded / with the synthetic index",
            "{interpreter_and_imports} / {catalog_loaded} / {with_synthetic_index} MB".format(**r["rss_mb"]),
            "",
            None,
        ),
    ]
    for size in r.get("sizes", []):
        base = size.get("baseline")
        speed = (
            f"; old index {base['cold']['p99_ms']} ms, {size['speedup_cold']['p99_ms']}× faster"
            if base
            else ""
        )
        rows.append(
            (
                f"p50 / p99 at {size['extra_offers']:,} synthetic offers ({size['vocabulary']:,} words); build; index RSS",
                f"{size['cold']['p50_ms']} / {size['cold']['p99_ms']} ms{speed}; {size['index_build_s']} s; {size['index_rss_mb']} MB",
                {0: "p99 ≤ 1 ms", 10000: "p99 ≤ 10 ms", 50000: "p99 ≤ 25 ms"}.get(size["extra_offers"], ""),
                r["targets_met"].get(str(size["extra_offers"])),
            )
        )
    if r.get("sizes"):
        rows.append(
            (
                "hits of the new and the old index identical at every size",
                str(r.get("hits_identical_at_every_size")),
                "True",
                r.get("hits_identical_at_every_size"),
            )
        )
    for name, per_lang in r["accuracy"].items():
        a = per_lang["all"]
        rows.append(
            (
                f"accuracy, {name}: top-1 / top-3 ({a['questions']} questions); out of scope unanswered",
                f"{a['top1']} / {a['top3']}; {round((a['out_of_scope_empty'] or 0) * a['out_of_scope'])} of {a['out_of_scope']}",
                "",
                None,
            )
        )
    return rows


def updates_summary(r: dict) -> list[tuple[str, str, str, bool | None]]:
    e, a, t = r["echo"], r["ankommen"], r["targets"]
    per_round = ", ".join(str(x) for x in r["throughput_ratio_per_round"])
    return [
        ("echo bot: updates/s; p50 / p99 update to reply; CPU per update", f"{e['updates_per_s']}; {e['latency_ms_p50']} / {e['latency_ms_p99']} ms; {e['cpu_ms_per_update']} ms", "", None),
        ("Ankommen: CPU per update (all threads, user + system)", f"{a['cpu_ms_per_update']} ms", "", None),
        ("Ankommen: updates/s; p50 / p99 update to reply", f"{a['updates_per_s']}; {a['latency_ms_p50']} / {a['latency_ms_p99']} ms", f"p99 ≤ {t['latency_ms_p99_max']} ms", a["latency_ms_p99"] <= t["latency_ms_p99_max"]),
        ("throughput ratio Ankommen / echo bot, median (rounds)", f"{r['throughput_ratio_median']} ({per_round})", f"≥ {t['throughput_ratio_min']}", r["throughput_ratio_median"] >= t["throughput_ratio_min"]),
        ("Ankommen RSS (all ten languages loaded)", f"{r['ankommen_rss_mb']} MB", f"≤ {t['rss_mb_max']} MB", r["ankommen_rss_mb"] <= t["rss_mb_max"]),
    ]  # fmt: skip


def reminders_summary(r: dict) -> list[tuple[str, str, str, bool | None]]:
    rows = []
    for backend in ("sqlite", "postgres"):
        if backend not in r:
            continue
        b = r[backend]
        rounds = ", ".join(f"{x:.2f}" for x in b["rounds_due_scan_s"])
        rows += [
            (f"{backend}: due scan, {r['measures']:,} measures, median (rounds)", f"{b['due_scan_s']:.2f} s ({rounds})", f"≤ {r['target_due_scan_s']} s", b["due_scan_s"] <= r["target_due_scan_s"]),
            (f"{backend}: whole first tick ({b['prompts_sent']} requests sent); sends/s; next tick's scan", f"{b['tick_s']:.2f} s; {b['sends_per_s']:.0f}; {b['steady_scan_s']:.2f} s", "", None),
        ]  # fmt: skip
    return rows


def broadcast_summary(r: dict) -> list[tuple[str, str, str, bool | None]]:
    m, met = r["median"], r["targets_met"]
    per_round = ", ".join(str(x["rate_ratio"]) for x in r["rounds"])
    return [
        (f"rate / L (L = {r['limit_per_second']}/s, sender {r['sender_rate']}/s), median (rounds)", f"{m['rate_ratio']} ({per_round})", "≥ 0.9 in every round", met["rate_ratio>=0.9"]),
        ("duplicates / lost, worst round", f"{max(x['duplicates'] for x in r['rounds'])} / {max(x['lost'] for x in r['rounds'])}", "0 / 0", met["duplicates==0"] and met["lost==0"]),
        ("share of requests answered 429, worst round", f"{max(x['share_429'] for x in r['rounds'])}", "≤ 0.01", met["share_429<=0.01"]),
        (f"{r['subscribers']:,} messages delivered in, median", f"{m['seconds']} s", "", None),
    ]  # fmt: skip


def instances_summary(r: dict) -> list[tuple[str, str, str, bool | None]]:
    m, met = r["median"], r["targets_met"]

    def per_round(case: str, key: str) -> str:
        return ", ".join(str(x[key]) for x in r["rounds"][case])

    k = m["three_kill"]
    return [
        (f"one instance: rate / L (L = {r['limit_per_second']}/s), median (rounds)", f"{m['one']['rate_ratio']} ({per_round('one', 'rate_ratio')})", "≥ 0.97", met["one: rate_ratio>=0.97"]),
        ("three instances, one budget: rate / L, median (rounds)", f"{m['three']['rate_ratio']} ({per_round('three', 'rate_ratio')})", "≥ 0.95", met["three: rate_ratio>=0.95"]),
        ("share answered 429 / duplicates / lost, every round", f"{max(x['share_429'] for c in r['rounds'].values() for x in c)} / {max(x['duplicates'] for c in r['rounds'].values() for x in c)} / {max(x['lost'] for c in r['rounds'].values() for x in c)}", "≤ 0.01 / 0 / 0", met["share_429<=0.01"] and met["duplicates==0"] and met["lost==0"]),
        ("kill -9 of one of three: unknown rows (its rows in flight or marked at the kill), per round", f"{per_round('three_kill', 'unknown')} ({per_round('three_kill', 'killed_in_flight_or_marked')})", "unknown ≤ in flight ≤ 16", met["unknown<=in_flight_at_kill<=concurrency"]),
        ("kill -9: its rows released after; rate / L before and in the 2 s after", f"{k['released_after_seconds']} s (bound {r['leader_check_seconds'] + r['lease_seconds']} s); {k['rate_ratio_before_kill']} / {k['rate_ratio_first_2s_after_kill']}", "≤ leader check + lease", met["released<=leader_check+lease"]),
    ]  # fmt: skip


def soak_summary(r: dict) -> list[tuple[str, str, str, bool | None]]:
    rows, t, met, d = r["per_minute"], r["totals"], r["targets_met"], r["delivery"]
    p99s = ", ".join(str(x["p99_ms"]) for x in rows)
    rss = ", ".join(str(x["rss_mb"]) for x in rows)
    e = r["errors"]
    out = d["store_at_end"]["deliveries"]
    return [
        (f"p99 update to reply per minute ({r['rate_per_s']:g} updates/s for {r['minutes']:g} min); p50 overall", f"{p99s} ms; {t['p50_ms']} ms", f"≤ {r['targets']['p99_ms_max_every_minute']} ms in every minute", met["p99_every_minute"]),
        ("RSS per minute; growth from minute 2 to the end", f"{rss} MB; {t['rss_growth_from_minute_2'] * 100:.1f} %", "< 10 %", met["rss_growth"]),
        ("unhandled errors (log ERROR lines and tracebacks, unanswered updates, refused requests)", f"{e['unhandled']} ({e['log']['error_lines']} + {e['log']['tracebacks']}, {e['unanswered_updates']}, {sum(e['refused_by_server'].values())})", "0", met["no_unhandled_errors"]),
        (f"newsletter to {d['subscribers']:,}: delivered / duplicates / outbox pending / unknown at the end; rate", f"{d['delivered']:,} / {d['duplicates']} / {out.get('pending', 0):,} / {out.get('unknown', 0)}; {d['achieved_per_s']}/s (sender {d['sender_rate_per_s']}/s)", "", None),
        (f"status prompts sent ({r['measures']:,} measures, {r['staff']:,} staff); duplicates", f"{t['prompts_sent']:,}; {t['prompts_duplicates']}", "", None),
    ]  # fmt: skip


BENCHMARKS = [
    Bench(
        "search",
        "search.py",
        [
            "--sizes",
            "0,1000,10000,50000",
            "--baseline",
            "--repeat",
            "3",
            "--passes",
            "3",
            "--plot",
            "{out}/search-sizes.png",
        ],
        ["--repeat", "1", "--passes", "1", "--synthetic", "1000"],
        search_summary,
        timeout_s=1500,  # four sizes, the old index beside the new, 50,000 offers built twice
    ),
    Bench(
        "updates",
        "updates.py",
        ["--repeat", "5"],
        ["--repeat", "1", "--burst", "100", "--sequential", "20"],
        updates_summary,
    ),
    Bench(
        "reminders",
        "reminders.py",
        ["--repeat", "3"],
        ["--repeat", "1", "--measures", "300"],
        reminders_summary,
    ),
    Bench(
        "broadcast-sqlite",
        "broadcast.py",
        ["--repeat", "3"],
        ["--repeat", "1", "--subscribers", "300"],
        broadcast_summary,
    ),
    Bench(
        "broadcast-postgres",
        "broadcast.py",
        ["--repeat", "3"],
        ["--repeat", "1", "--subscribers", "300"],
        broadcast_summary,
        postgres=True,
    ),
    Bench(
        "instances",
        "instances.py",
        ["--repeat", "3"],
        ["--repeat", "1", "--seconds", "5", "--cases", "one,three,three_kill"],
        instances_summary,
        postgres=True,
        timeout_s=900,
    ),
    Bench(
        "soak",
        "soak.py",
        ["--minutes", "2"],
        ["--minutes", "0.2", "--subscribers", "300", "--measures", "300", "--chats", "300"],
        soak_summary,
        postgres=True,
        timeout_s=600,
    ),
]


# --- the machine ----------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _pg_connect(url: str = PG_URL, dbname: str | None = None):
    import psycopg  # the project's own driver

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    kwargs = {"connect_timeout": 5, "autocommit": True}
    if dbname:
        kwargs["dbname"] = dbname
    return psycopg.connect(conninfo, **kwargs)


def postgres_version() -> str | None:
    try:
        with _pg_connect() as conn:
            return conn.execute("SELECT version()").fetchone()[0]
    except Exception:  # noqa: BLE001 - unreachable or no driver: reported as none
        return None


def machine() -> dict:
    cpuinfo = _read("/proc/cpuinfo")
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), ""
    )
    mem_kb = next(
        (int(ln.split()[1]) for ln in _read("/proc/meminfo").splitlines() if ln.startswith("MemTotal:")), 0
    )
    os_release = dict(
        ln.split("=", 1)
        for ln in _read("/etc/os-release").splitlines()
        if "=" in ln and not ln.startswith("#")
    )
    commit = _run(["git", "rev-parse", "HEAD"])
    dirty = bool(_run(["git", "status", "--porcelain", "--untracked-files=no"]))
    return {
        "cpu_model": model or platform.processor(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": os_release.get("PRETTY_NAME", "").strip('"') or platform.system(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": postgres_version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


# --- running --------------------------------------------------------------------------------


def run_one(bench: Bench, args: argparse.Namespace) -> dict:
    argv = [a.replace("{out}", str(args.out)) for a in (bench.quick if args.quick else bench.full)]
    drop = None
    if bench.name == "reminders" and args.no_postgres_effective:
        argv += ["--backends", "sqlite"]
    if bench.name == "broadcast-postgres":
        dbname = f"ankommen_bench_{uuid.uuid4().hex[:10]}"
        with _pg_connect() as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        base = PG_URL.rsplit("/", 1)[0]
        argv += ["--database-url", f"{base}/{dbname}"]

        def drop():
            with _pg_connect() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    cmd = [sys.executable, f"bench/{bench.script}", *argv]
    entry: dict = {"name": bench.name, "command": " ".join(["python", f"bench/{bench.script}", *argv])}
    print(f"run_all: {bench.name}: {entry['command']}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=bench.timeout_s)
        entry["exit_status"] = proc.returncode
        stdout, stderr = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        entry["exit_status"] = None
        entry["error"] = f"timed out after {bench.timeout_s} s"
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    finally:
        if drop:
            try:
                drop()
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                print(f"run_all: could not drop the broadcast database: {exc}", file=sys.stderr)
    entry["wall_s"] = round(time.perf_counter() - t0, 1)
    result = None
    if entry["exit_status"] == 0:
        try:
            result = json.loads(stdout)
        except json.JSONDecodeError as exc:
            entry["error"] = f"its output is not JSON: {exc}"
    elif "error" not in entry:
        entry["error"] = f"exit status {entry['exit_status']}"
    if result is not None:
        try:
            entry["headline"] = [
                {"measurement": m, "figure": f, "target": t, "met": ok}
                for m, f, t, ok in bench.summary(result)
            ]
        except (KeyError, TypeError, ValueError) as exc:
            entry["error"] = f"its JSON lacks a headline figure: {exc!r}"
    entry["status"] = "ok" if result is not None and "error" not in entry else "failed"
    if entry["status"] != "ok":
        entry["stderr_tail"] = stderr[-3000:]
    entry["result"] = result
    print(f"run_all: {bench.name}: {entry['status']} in {entry['wall_s']} s", file=sys.stderr, flush=True)
    return entry


def markdown(doc: dict) -> str:
    m = doc["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"Run on {doc['started'][:10]} ({doc['started']}), {'quick sizes (smoke test, not figures)' if doc['quick'] else 'full sizes'}; "
        f"whole suite {doc['wall_s']} s; status **{doc['status']}**.",
        "",
        f"- Machine: {m['cpu_model']}, {m['cores']} cores ({m['cores_usable']} usable), {m['memory_gb']} GB, "
        f"{m['os']} (kernel {m['kernel']}); load average at start "
        f"{', '.join(str(x) for x in m['load_average_at_start'])}"
        + (f", at the end {', '.join(str(x) for x in m['load_average_at_end'])}" if m.get("load_average_at_end") else "")
        + ".",
        f"- Python {m['python']}; PostgreSQL: {m['postgresql'] or 'not reachable'}.",
        f"- Commit {m['git_commit'][:12]}{' (with uncommitted changes)' if m['git_dirty'] else ''}.",
        "",
        "Figures are medians of the rounds each benchmark ran (ratios and rounds as each benchmark "
        "reports them); a missed target is reported, never a failure. Full JSON: `latest.json`.",
    ]  # fmt: skip
    for e in doc["benchmarks"]:
        lines += ["", f"## {e['name']}", "", f"`{e['command']}`: {e['status']}, {e.get('wall_s', 0)} s wall."]
        if e.get("error"):
            lines.append(f"Error: {e['error']}.")
        if e.get("headline"):
            lines += ["", "| measurement | figure | target | |", "| --- | --- | --- | --- |"]
            for h in e["headline"]:
                lines.append(f"| {h['measurement']} | {h['figure']} | {h['target']} | {_ok(h['met'])} |")
    for s in doc["skipped"]:
        lines += ["", f"## {s['name']}", "", f"Skipped: {s['reason']}."]
    return "\n".join(lines) + "\n"


def write(doc: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "latest.md").write_text(markdown(doc), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where latest.json/.md go")
    ap.add_argument("--quick", action="store_true", help="small sizes and one round: a smoke test")
    ap.add_argument("--only", help="comma-separated names (or prefixes, e.g. broadcast)")
    ap.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL variants")
    args = ap.parse_args()

    selected = BENCHMARKS
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = [w for w in wanted if not any(b.name.startswith(w) for b in BENCHMARKS)]
        if unknown:
            ap.error(
                f"unknown benchmark {', '.join(unknown)}; names: {', '.join(b.name for b in BENCHMARKS)}"
            )
        selected = [b for b in BENCHMARKS if any(b.name.startswith(w) for w in wanted)]

    started = datetime.now(UTC)
    doc = {
        "suite": "ankommen benchmarks",
        "started": started.isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "benchmarks": [],
        "skipped": [],
        "status": "running",
        "wall_s": 0,
    }
    m = doc["machine"]
    print(
        f"run_all: {doc['started']} on {m['cpu_model']} ({m['cores']} cores, {m['cores_usable']} usable, "
        f"{m['memory_gb']} GB), {m['os']}, Python {m['python']}, commit {m['git_commit'][:12]}; "
        f"load average {', '.join(str(x) for x in m['load_average_at_start'])}",
        file=sys.stderr,
        flush=True,
    )
    pg_reason = None
    if args.no_postgres:
        pg_reason = "--no-postgres"
    elif doc["machine"]["postgresql"] is None:
        pg_reason = f"PostgreSQL not reachable at {PG_URL}"
    args.no_postgres_effective = pg_reason is not None
    if pg_reason and any(b.name == "reminders" for b in selected):
        doc["skipped"].append({"name": "reminders (PostgreSQL)", "reason": pg_reason})
    t0 = time.perf_counter()
    failed = False
    for bench in selected:
        if bench.postgres and pg_reason:
            doc["skipped"].append({"name": bench.name, "reason": pg_reason})
            continue
        entry = run_one(bench, args)
        failed |= entry["status"] != "ok"
        doc["benchmarks"].append(entry)
        doc["wall_s"] = round(time.perf_counter() - t0, 1)
        write(doc, args.out)
    doc["wall_s"] = round(time.perf_counter() - t0, 1)
    doc["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    doc["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    doc["status"] = "failed" if failed else "ok"
    write(doc, args.out)
    for s in doc["skipped"]:
        print(f"run_all: skipped {s['name']}: {s['reason']}", file=sys.stderr)
    print(
        f"run_all: {doc['status']} in {doc['wall_s']} s (load average at the end "
        f"{', '.join(str(x) for x in doc['machine']['load_average_at_end'])}); "
        f"wrote {args.out}/latest.json and latest.md",
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
