"""The log pipeline's filter chain in a real grok engine: events per second and the share of events tagged as failed.

Ours: the corrected chain, pipeline_spec() of plugins/module_utils/logformat.py (JSON lines parsed as JSON and never
grokked, the grok expression derived from the services' Logback pattern, the date in UTC).
Baseline: the reference guide's chain, GUIDE_SPEC (grok on every line, JSON included, with a pattern of another
format, the date in the JVM's zone).
Both run in tools/grok-harness (OpenSearch's grok engine, Joni) on the sample set of tests/logging/log_samples.py
(pattern lines with and without stack traces, Spring Boot's ECS JSON lines, lines of other formats, malformed JSON),
passed over REPEAT times per run after as many untimed passes (for the JIT); each chain runs ROUNDS times,
alternating with the other, each run in a JVM of its own, and its best run counts. The harness times the passes only
(not the JVM's start, the compilation of the expressions nor the warm-up).
Headline (baseline / ours / ratio): events per second, ratio ours / baseline. The failed shares say how many of the
same events each chain leaves unparsed. Needs no sandbox, only the harness (`make grok-harness`); printed, never
asserted. BENCH_LOGGING_REPEAT (default 2000) and BENCH_LOGGING_ROUNDS (default 5) change the sizes.
"""

import json
import os
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO_ROOT, ".collections"))
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "logging"))

from grok_harness import missing, run_harness  # noqa: E402  pylint: disable=wrong-import-position
from log_samples import sample_lines, samples  # noqa: E402  pylint: disable=wrong-import-position

REPEAT = int(os.environ.get("BENCH_LOGGING_REPEAT", "2000"))
ROUNDS = int(os.environ.get("BENCH_LOGGING_ROUNDS", "5"))


def _best(answers):
    return max(answers, key=lambda answer: answer["events_per_second"])


def run(ctx):  # pylint: disable=unused-argument
    """ctx is bench/run.py's Context; this benchmark uses nothing of it (no sandbox)."""
    from ansible_collections.loyalty.platform.plugins.module_utils.logformat import GUIDE_SPEC, pipeline_spec  # pylint: disable=import-outside-toplevel

    problem = missing()
    if problem:
        raise RuntimeError(problem)
    lines = sample_lines()
    chains = {"ours": pipeline_spec(), "baseline": GUIDE_SPEC}
    answers = {name: [] for name in chains}
    for _round in range(ROUNDS):
        for name, spec in chains.items():
            answers[name].append(run_harness(spec, lines, repeat=REPEAT, warmup=REPEAT, timezone="UTC"))
    best = {name: _best(runs) for name, runs in answers.items()}
    kinds = [sample["kind"] for sample in samples()]
    figures = {
        "baseline": round(best["baseline"]["events_per_second"]),
        "ours": round(best["ours"]["events_per_second"]),
        "ratio": round(best["ours"]["events_per_second"] / best["baseline"]["events_per_second"], 3),
        "unit": "events per second (higher is better)",
        "events_per_run": REPEAT * len(lines),
        "runs_per_chain": ROUNDS,
        "sample_lines": dict((kind, kinds.count(kind)) for kind in sorted(set(kinds))),
        "ours_failed_share": round(best["ours"]["failed_share"], 4),
        "baseline_failed_share": round(best["baseline"]["failed_share"], 4),
        "ours_seconds": round(best["ours"]["seconds"], 4),
        "baseline_seconds": round(best["baseline"]["seconds"], 4),
        "ours_events_per_second_runs": [round(answer["events_per_second"]) for answer in answers["ours"]],
        "baseline_events_per_second_runs": [round(answer["events_per_second"]) for answer in answers["baseline"]],
    }
    for name in chains:
        tags = {}
        for event in best[name]["events"]:
            for tag in event["tags"]:
                tags[tag] = tags.get(tag, 0) + 1
        figures["%s_tags_per_pass" % name] = dict(sorted(tags.items()))
    return figures


if __name__ == "__main__":
    print(json.dumps(run(None), indent=2))
