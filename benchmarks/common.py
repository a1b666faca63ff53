"""What every benchmark records beside its figures: the command, the commit, the machine."""

import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")


def portable_command() -> str:
    """The command as run from the repository root: relative paths, $VAE_TF_DATA_DIR."""
    root_var = os.environ.get("VAE_TF_DATA_DIR")
    words = ["python", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT)]
    for arg in sys.argv[1:]:
        name, eq, value = arg.partition("=")
        if eq and os.path.exists(value):
            path = os.path.abspath(value)
            if root_var and path.startswith(os.path.abspath(root_var)):
                value = "$VAE_TF_DATA_DIR" + path[len(os.path.abspath(root_var)):]
            else:
                value = os.path.relpath(path, ROOT)
        words.append(name + eq + value)
    return " ".join(words)


def git_commit() -> str:
    """The short commit, "+dirty" when vae_tf/ or benchmarks/ have uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout
    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--", "vae_tf/", "benchmarks/*.py").strip()
    return commit + ("+dirty" if dirty else "")


def machine() -> str:
    """Cores, processor and the load average now (1, 5, 15 min)."""
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}); load {load}"


def cpu_features() -> str:
    """The CPU's vector and matrix extensions that decide float32 and bfloat16 speed (from
    /proc/cpuinfo's flags; "unknown" elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return "unknown"
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
    have = [w for w in wanted if w in flags]
    return ", ".join(have) if have else "none of " + ", ".join(wanted)


def results_folder(name: str, quick: bool, out_dir: Optional[str]) -> Optional[str]:
    """Where benchmark `name` writes its table: `out_dir`, else benchmarks/results, or
    with `quick` None (write_results then makes a new temporary folder, so a run that
    stops early leaves none behind). A quick run pointed into benchmarks/results exits
    with one line before any work: a quick run never writes over committed results."""
    results = os.path.realpath(RESULTS)
    if quick and out_dir and os.path.commonpath([results, os.path.realpath(out_dir)]) == results:
        sys.exit(f"{name}: --quick never writes into benchmarks/results/; drop --out_dir or "
                 "pass a folder outside it")
    return out_dir or (None if quick else RESULTS)


def write_results(folder: Optional[str], name: str, text: str) -> str:
    """`text` into folder/<name>.md (folder None: a new temporary folder), whole or not at
    all (a temporary file, then a rename); prints and returns the path."""
    folder = folder or tempfile.mkdtemp(prefix=f"{name}-")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.md")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print(f"written: {path}")
    return path


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def status_kb(field: str) -> int:
    """A field of /proc/self/status in kB (VmHWM: this process's peak resident set)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def median_ms(fn, repeats: int, warmup: int = 1) -> float:
    """Median milliseconds of `repeats` calls of fn, after `warmup` untimed calls (tracing)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)
