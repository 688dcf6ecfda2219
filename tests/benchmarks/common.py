"""What every part of `make bench` shares: targets, the report, statistics and French formatting,
the machine's description, the gunicorn servers it starts and stops."""
from __future__ import annotations

import datetime as dt
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402


PY = sys.executable
CHROMIUM = os.environ.get("ATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
OUT = REPO / "docs" / "benchmarks.md"
TARGET_BYTES = 1_000_000       # issue 3: all-France QPV layer under 1 MB
# Issue 9 (per case: demo, one région of the synthetic France, all of it)
TARGET_FIRST_RENDER = {"demo": 1.3, "region": 2.0, "france": 2.0}
TARGET_RESTYLE = {"demo": 0.2, "region": 0.2, "france": 0.3}
TARGET_RATIO = {"demo": 1.2, "france": 2.0}                 # naive / Atlas, first render and indicator change
TARGET_CPU_UNCACHED = {"demo": 0.010, "france": 0.030}      # server CPU per restyle, view not memoized
TARGET_CPU_CACHED = 0.002
TARGET_LOAD_P95 = {"demo": 0.3, "region": 0.6}              # 50 users: callback p95
TARGET_DEV_P95 = 0.5                                        # 20 identical restyles on one dev-server process
TARGET_CHANGE_BYTES = 40_000                                # France scale, decoded
START_INDICATOR = "taux_pauvrete_60"
CHANGE_INDICATOR = "revenu_median_uc"
# The three indicator changes of a session (browser, and replayed by the simulated users).
CHANGES = ["revenu_median_uc", "part_c2s", "taux_emploi_15_64"]
WORKERS = 4                    # as `make serve` (Makefile WORKERS)


# ------------------------------------------------------------------------------ statistics
def percentile(values, p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between order statistics
    (numpy's default); None when there is no value."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    return float(np.percentile(vals, p))


def median(values) -> float | None:
    return percentile(values, 50)


@dataclass
class Row:
    section: str
    measure: str
    values: list
    unit: str                  # "s", "o" (bytes), "Mo" (RSS), "n", "%", "x", "txt"
    target: str = ""
    ok: bool | None = None     # None: no target
    note: str = ""

    @property
    def value(self):
        if self.unit == "txt":
            return self.values[0] if self.values else ""
        return median(self.values)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def add(self, *a, **kw) -> Row:
        r = Row(*a, **kw)
        self.rows.append(r)
        print(f"  {r.section} | {r.measure}: {fmt_value(r.value, r.unit)} (n={len(r.values)})"
              + (f" [{'OK' if r.ok else 'MANQUÉ'} {r.target}]" if r.ok is not None else ""), flush=True)
        return r


# ------------------------------------------------------------------------------ formatting (French)
def fr(x: float, decimals: int = 0) -> str:
    s = f"{x:,.{decimals}f}"
    return s.replace(",", "\u202f").replace(".", ",")


def fmt_bytes(n: float) -> str:
    if n >= 1_000_000:
        return f"{fr(n)} o ({fr(n / 1_000_000, 2)} Mo)"
    if n >= 10_000:
        return f"{fr(n)} o ({fr(n / 1000, 1)} ko)"
    return f"{fr(n)} o"


_UNIT_FORMATS = {
    "s": lambda v: f"{fr(v, 2 if v < 10 else 1)} s",
    "ms": lambda v: f"{fr(v, 1 if v < 10 else 0)} ms",
    "o": lambda v: fmt_bytes(v),
    "Mo": lambda v: f"{fr(v, 0)} Mo",
    "x": lambda v: f"× {fr(v, 1)}",
    "%": lambda v: f"{fr(v, 1)} %",
    "txt": str,
}


def fmt_value(v, unit: str) -> str:
    if v is None:
        return "n.d."
    return _UNIT_FORMATS.get(unit, lambda x: fr(x, 0))(v)


# ------------------------------------------------------------------------------ machine
def machine_info() -> dict:
    info = {"date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
        info["ram_gib"] = round(int(mem) / 1024 / 1024, 1)
    except (OSError, IndexError, ValueError):
        info["ram_gib"] = None
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "n.d."
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout
        info["chromium"] = out.strip() or "n.d."
    except (OSError, subprocess.SubprocessError):
        info["chromium"] = "absent"
    try:
        import duckdb
        info["duckdb"] = duckdb.__version__
    except ImportError:
        info["duckdb"] = "n.d."
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                        text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["commit"] = "n.d."
    info["load_start"] = os.getloadavg()
    return info


# ------------------------------------------------------------------------------ servers
def free_port(preferred: int = 0) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on 127.0.0.1, as `make serve` starts it; stopped by its own pid."""

    def __init__(self, module: str, db: Path, port: int, workers: int, log: Path):
        self.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, ATLAS_DB=str(db), PYTHONPATH=str(REPO))
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [str(Path(PY).with_name("gunicorn")), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
             "--timeout", "120", "--no-control-socket", module], cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, path: str = "/", timeout: float = 300) -> None:
        import requests

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log.name}")
            try:
                if requests.get(self.base + path, timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn not ready after {timeout} s ({self.base})")

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker (children of the gunicorn master), from /proc."""
        out = []
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return out
        for pid in kids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
