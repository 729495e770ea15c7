"""Dependency audit: every pinned package of the lock files against known vulnerabilities.

Run as ``.ci/audit`` (``.ci/run`` does, before the tests). Standard library only.

What it checks, and fails on (exit 1, loudly):

* every dependency in pyproject.toml (runtime and extras) is pinned with ``==`` and has the same
  version in the lock files ``.ci/requirements*.lock`` (which pin every transitive package too,
  with hashes);
* no pinned version has a known vulnerability (unless its id is listed, with a reason, in
  ``.ci/advisories/accepted.txt``);
* every pin was actually audited: a pin no source could speak for fails as "not audited"
  instead of passing silently (pip-audit, by contrast, reports "No known vulnerabilities found"
  and exits 0 when PyPI answers 404 for every package). The exceptions are the exact pins listed,
  with the reason, in ``.ci/advisories/unaudited.txt``: they are named as not audited on every
  run, and fail again as soon as their version changes.

Where the advisories come from, per pin, the first that answers:

1. online, OSV (``api.osv.dev``): vulnerabilities of any version;
2. online, PyPI's JSON API for the version (``/pypi/NAME/VERSION/json``, pip-audit's default);
3. online, PyPI's JSON API for the project (``/pypi/NAME/json``): its ``vulnerabilities`` are
   those of the latest release, so it speaks for a pin only when the pin *is* the latest release;
4. offline (no network, ``--offline``, or a pin the online sources could not speak for): the
   committed snapshot ``.ci/advisories/pypi.json``. It is only as new as its date, which is
   printed: an advisory published after it is unknown to an offline audit.

``.ci/audit --refresh`` asks the online sources for every pin and rewrites the snapshot (run it
after changing a lock file, and now and then). A pin they cannot speak for any more (PyPI's
project JSON covers the latest release only, and a newer one is out) keeps its previous entry,
with the day it was checked, and is named on every refresh. The lock files come from pyproject.toml with
pip-tools; the command is in each lock file's header.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CI = Path(os.environ.get("ANKOMMEN_AUDIT_DIR") or ROOT / ".ci")  # another directory: for the tests
SNAPSHOT = CI / "advisories" / "pypi.json"
ACCEPTED = CI / "advisories" / "accepted.txt"
UNAUDITED = CI / "advisories" / "unaudited.txt"
PYPI = os.environ.get("ANKOMMEN_AUDIT_PYPI_URL", "https://pypi.org/pypi")
OSV = os.environ.get("ANKOMMEN_AUDIT_OSV_URL", "https://api.osv.dev/v1")
TIMEOUT = 15
STALE_DAYS = 30

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def say(msg: str) -> None:
    print(f"audit: {msg}", file=sys.stderr, flush=True)


# --- what is pinned ---------------------------------------------------------------------------


def lock_files() -> list[Path]:
    return sorted(CI.glob("requirements*.lock"))


def read_lock(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = PIN.match(line)
        if m:
            pins[norm(m.group(1))] = m.group(2)
    return pins


def check_pyproject(locks: dict[Path, dict[str, str]]) -> list[str]:
    """Problems: a dependency not pinned with ==, or pinned differently from the lock files."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"": project.get("dependencies", [])} | project.get("optional-dependencies", {})
    problems = []
    for extra, deps in groups.items():
        lock = CI / f"requirements{'-' + extra if extra else ''}.lock"
        pins = locks.get(lock)
        if pins is None:
            problems.append(f"{lock.relative_to(ROOT)} is missing (the lock for {extra or 'the runtime'})")
            continue
        for dep in deps:
            m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*==\s*([^\s;,]+)\s*$", dep)
            if not m:
                problems.append(f"pyproject.toml: {dep!r} is not pinned with ==")
                continue
            name, version = norm(m.group(1)), m.group(3)
            if pins.get(name) != version:
                problems.append(
                    f"pyproject.toml pins {name}=={version}, {lock.relative_to(ROOT)} has "
                    f"{name + '==' + pins[name] if name in pins else 'nothing'}: re-lock (see the lock's header)"
                )
    return problems


# --- the online sources ----------------------------------------------------------------------


def _get(url: str, data: bytes | None = None) -> dict | None:
    """The JSON at url; None on 404 (or any HTTP error); raises OSError when unreachable."""
    req = urllib.request.Request(url, data=data, headers={"Accept": "application/json"})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError:
        return None


def _vuln(v: dict) -> dict:
    text = (v.get("summary") or v.get("details") or "").strip().replace("\n", " ")
    return {
        "id": v.get("id"),
        "aliases": sorted(v.get("aliases") or []),
        "summary": text[:300],
        "fixed_in": v.get("fixed_in") or [],
        "link": v.get("link") or f"https://osv.dev/vulnerability/{v.get('id')}",
        "withdrawn": v.get("withdrawn"),
    }


def osv_query(pins: dict[str, str]) -> dict[str, dict]:
    """OSV: {name: entry} for every pin, or {} when OSV is unreachable."""
    queries = [{"package": {"name": n, "ecosystem": "PyPI"}, "version": v} for n, v in pins.items()]
    try:
        answer = _get(f"{OSV}/querybatch", json.dumps({"queries": queries}).encode())
    except OSError:
        return {}
    if not answer or len(answer.get("results", [])) != len(queries):
        return {}
    out = {}
    for (name, version), res in zip(pins.items(), answer["results"], strict=True):
        vulns = []
        for ref in res.get("vulns") or []:
            try:
                full = _get(f"{OSV}/vulns/{ref['id']}") or ref
            except OSError:
                full = ref
            fixed = sorted(
                {
                    e["fixed"]
                    for a in full.get("affected", [])
                    if norm(a.get("package", {}).get("name", "")) == name
                    for r in a.get("ranges", [])
                    for e in r.get("events", [])
                    if "fixed" in e
                }
            )
            vulns.append(_vuln(full | {"fixed_in": fixed}))
        out[name] = {"version": version, "source": "osv", "vulnerabilities": vulns}
    return out


def pypi_one(name: str, version: str) -> dict | None:
    """PyPI: the entry for name==version, or None when PyPI cannot speak for it."""
    try:
        data = _get(f"{PYPI}/{name}/{version}/json")
        if data is not None and "vulnerabilities" in data:
            return {"version": version, "source": "pypi-version", "vulnerabilities": [_vuln(v) for v in data["vulnerabilities"]]}  # fmt: skip
        data = _get(f"{PYPI}/{name}/json")
    except OSError:
        return None
    if data is None or "vulnerabilities" not in data:
        return None
    latest = data.get("info", {}).get("version")
    if latest != version:
        return None  # the project's vulnerabilities are those of its latest release only
    return {"version": version, "source": "pypi-latest", "vulnerabilities": [_vuln(v) for v in data["vulnerabilities"]]}  # fmt: skip


def reachable() -> bool:
    try:
        urllib.request.urlopen(f"{PYPI}/pip/json", timeout=5).close()
        return True
    except (OSError, ValueError):
        try:
            urllib.request.urlopen(f"{OSV}/vulns/PYSEC-0000-0", timeout=5).close()
        except urllib.error.HTTPError:
            return True  # OSV answered (404)
        except (OSError, ValueError):
            return False
        return True


def online(pins: dict[str, str]) -> dict[str, dict]:
    found = osv_query(pins)
    rest = {n: v for n, v in pins.items() if n not in found}
    with ThreadPoolExecutor(max_workers=8) as pool:
        for name, entry in zip(rest, pool.map(lambda nv: pypi_one(*nv), rest.items()), strict=True):
            if entry:
                found[name] = entry
    today = date.today().isoformat()
    for entry in found.values():
        entry["checked"] = today
    return found


# --- the check -------------------------------------------------------------------------------


def load_snapshot() -> dict:
    if not SNAPSHOT.exists():
        return {"generated": None, "packages": {}}
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def carried_over(snapshot: dict, pins: dict[str, str], found: dict[str, dict]) -> dict[str, dict]:
    """The previous snapshot's entries for pins the online sources could not speak for now (PyPI's
    project JSON speaks for the latest release only, and a newer one came out): what was known on
    the day each was checked stays known, with that date, instead of the pin going unaudited."""
    kept = {}
    for name, version in pins.items():
        entry = snapshot["packages"].get(f"{name}=={version}")
        if name not in found and entry is not None:
            kept[name] = {"checked": (snapshot.get("generated") or "")[:10] or None} | entry
    return kept


def listed(path: Path) -> dict[str, str]:
    """{first word: the rest} of every line of path, without comments."""
    out = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                key, _, reason = line.partition(" ")
                out[key] = reason.strip()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--offline", action="store_true", help="use only the committed snapshot")
    ap.add_argument("--refresh", action="store_true", help="ask the online sources and rewrite the snapshot")
    args = ap.parse_args()
    offline = args.offline or os.environ.get("ANKOMMEN_AUDIT_OFFLINE") == "1"

    locks = {path: read_lock(path) for path in lock_files()}
    failures = check_pyproject(locks)
    pins: dict[str, str] = {}
    for lp in locks.values():
        for name, version in lp.items():
            if pins.get(name, version) != version:
                failures.append(
                    f"{name} is pinned to two versions in the lock files ({pins[name]}, {version})"
                )
            pins[name] = version
    say(f"{len(pins)} pinned packages in {', '.join(p.name for p in locks)}")

    snapshot = load_snapshot()
    found: dict[str, dict] = {}
    if args.refresh:
        if offline or not reachable():
            say("ERROR: --refresh needs PyPI's JSON API or OSV, and neither is reachable")
            return 1
        found = online(pins)
        kept = carried_over(snapshot, pins, found)
        snapshot = {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "note": "Known vulnerabilities of exactly these pins, from the sources named per package "
            "(osv: OSV; pypi-version: PyPI's JSON API for the version; pypi-latest: PyPI's JSON API "
            "for the project, whose vulnerabilities are those of its latest release, which the pin was "
            "on the day 'checked'). Written by .ci/audit --refresh; only as new as each 'checked'.",
            "packages": {f"{n}=={pins[n]}": (found | kept)[n] for n in sorted(found | kept)},
        }
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        say(f"wrote {SNAPSHOT} ({len(found)} of {len(pins)} pins checked now)")
        for name, entry in sorted(kept.items()):
            say(
                f"kept {name}=={pins[name]} as checked on {entry['checked']}: no online source speaks "
                "for it now (a newer release is out); upgrade it, or list it in unaudited.txt"
            )
    elif not offline and reachable():
        found = online(pins)
    else:
        say("offline: " + ("--offline" if offline else "neither PyPI's JSON API nor OSV is reachable"))

    generated = snapshot.get("generated")
    age = (date.today() - date.fromisoformat(generated[:10])).days if generated else None
    sources: dict[str, int] = {}
    unaudited = []
    results: dict[str, dict] = {}
    for name, version in sorted(pins.items()):
        entry = found.get(name)
        if entry is None:
            entry = snapshot["packages"].get(f"{name}=={version}")
            if entry is not None:
                entry = entry | {"source": f"snapshot ({entry['source']}, {entry.get('checked', generated)})"}
        if entry is None:
            unaudited.append(f"{name}=={version}")
            continue
        results[name] = entry
        key = entry["source"].split(" ")[0]
        sources[key] = sources.get(key, 0) + 1
    said = ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
    say(f"sources: {said or 'none'}")
    if sources.get("snapshot"):
        say(
            f"the snapshot is of {generated} ({age} days old): advisories published since are not known "
            f"to this audit{'; refresh it: .ci/audit --refresh' if age is not None and age > STALE_DAYS else ''}"
        )

    accepted = listed(ACCEPTED)
    vulnerable = []
    for name, entry in results.items():
        seen: set[str] = set()  # one advisory is often listed under two ids (PYSEC, GHSA)
        for v in entry["vulnerabilities"]:
            ids = {v["id"], *v.get("aliases", [])}
            if v.get("withdrawn") or ids & seen:
                continue
            seen |= ids
            line = (
                f"{name}=={entry['version']}: {v['id']} ({', '.join(v.get('aliases', [])) or 'no alias'}), "
                f"fixed in {', '.join(v.get('fixed_in') or []) or 'no release yet'}; {v.get('summary', '')[:160]} "
                f"{v.get('link', '')} [{entry['source']}]"
            )
            if ids & accepted.keys():
                say(f"accepted (.ci/advisories/accepted.txt): {line}")
            else:
                vulnerable.append(line)
    for line in vulnerable:
        say(f"VULNERABLE {line}")
    known_gaps = {
        norm(k.split("==")[0]) + "==" + k.split("==", 1)[-1]: r for k, r in listed(UNAUDITED).items()
    }
    for pin in [p for p in unaudited if p in known_gaps]:
        say(f"NOT AUDITED (listed in .ci/advisories/unaudited.txt): {pin}: {known_gaps[pin]}")
        unaudited.remove(pin)
    for pin in sorted(known_gaps.keys() & {f"{n}=={e['version']}" for n, e in results.items()}):
        say(f"note: {pin} is listed in unaudited.txt but was audited now; the line can go")
    if unaudited:
        failures.append(
            f"not audited (no online source and not in the snapshot): {', '.join(unaudited)}; "
            "run .ci/audit --refresh where PyPI's JSON API or OSV is reachable"
        )
    if vulnerable:
        failures.append(f"{len(vulnerable)} known vulnerabilities in pinned versions (listed above)")
    for f in failures:
        say(f"ERROR: {f}")
    if failures:
        return 1
    say(f"no known vulnerability in {len(results)} pinned packages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
