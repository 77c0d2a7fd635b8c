"""Run the benchmarks in bench/: each measures our code and a baseline in the same run and prints the ratio.

Usage: python bench/run.py [name ...]   (names are bench_<name>.py files; default: all)
Each bench module exposes run(ctx) -> dict of figures; by convention it holds "baseline", "ours"
and "ratio" (ours / baseline) for its headline figure, and may hold more rows.
"""

import importlib.util
import json
import os
import platform
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

from benchlib import Context  # noqa: E402  pylint: disable=wrong-import-position


def machine():
    cpu = platform.processor() or "unknown cpu"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            memory = "%.1f GiB" % (int(handle.readline().split()[1]) / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": memory, "python": platform.python_version(),
            "system": "%s %s" % (platform.system(), platform.release())}


def discover(names):
    found = sorted(f[len("bench_"):-3] for f in os.listdir(BENCH_DIR) if f.startswith("bench_") and f.endswith(".py"))
    unknown = [n for n in names if n not in found]
    if unknown:
        raise SystemExit("unknown benchmark(s): %s (have: %s)" % (", ".join(unknown), ", ".join(found)))
    return names or found


def load(name):
    spec = importlib.util.spec_from_file_location("bench_" + name, os.path.join(BENCH_DIR, "bench_%s.py" % name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv):
    ctx = Context()
    info = machine()
    print("machine: %(cpu)s, %(cores)s cores, %(memory)s, Python %(python)s, %(system)s" % info)
    results = {"machine": info, "benchmarks": {}}
    for name in discover(argv):
        started = time.monotonic()
        figures = load(name).run(ctx)
        figures["bench_seconds"] = round(time.monotonic() - started, 2)
        results["benchmarks"][name] = figures
        print("\n== %s" % name)
        for key, value in figures.items():
            print("  %-40s %s" % (key, value))
    out = os.path.join(REPO_ROOT, ".sandbox", "bench-results.json")
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    print("\nresults written to %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
