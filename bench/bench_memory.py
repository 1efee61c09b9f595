"""Memory at full size (issue 13.6): peak RSS of raw -> DE, and of a worker's cohort across jobs.

**raw -> DE.** A SYNTHETIC FACED-shaped raw cohort of ``--subjects`` subjects (28 clips x 30 s x
32 channels at 250 Hz, float64 as FACED's ``Processed_data`` pickles) is written in FACED's
official layout (``export_official``, streamed one subject at a time), then
:func:`vaxis.data.pipeline.compute_features` turns it into DE features in a fresh process whose
peak RSS (``ru_maxrss``) is printed beside the size of one subject's raw EEG and of the whole
input. Run it at two sizes (``--subjects 4`` and ``--subjects 12``): a peak that does not grow
with the subjects is a streamed pipeline, bounded by one subject's raw EEG plus the features.

**Cohort per worker.** In a fresh process, the sweep's cohort loader
(``vaxis.sweep.jobs._load_cohort``, what every ``train`` job calls) is called for ``--jobs``
jobs on a ``--de-subjects`` DE cohort (123: FACED's size): the RSS after the first load, after
the last, and whether every call returned the same object (resident once per worker, not
copied per job).

    PYTHONPATH=src python bench/bench_memory.py [--subjects 4] [--de-subjects 123] [--jobs 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MIB = 2**20
CHILD = """
import json, resource, sys
from vaxis.data.pipeline import compute_features
compute_features(sys.argv[1], sys.argv[2], progress=False)
print(json.dumps({"peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
WORKER = """
import json, resource, sys
from vaxis.sweep.jobs import _load_cohort
def rss(): return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
before = rss()
first = _load_cohort(sys.argv[1]); loaded = rss()
same = all(_load_cohort(sys.argv[1]) is first for _ in range(int(sys.argv[2]) - 1))
print(json.dumps({"before_mib": before, "after_first_mib": loaded, "after_all_mib": rss(),
                  "same_object": same, "cohort_mib": first.data.nbytes / 2**20}))
"""


def _child(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def raw_to_de(subjects: int, root: Path) -> None:
    from vaxis.data.synthetic import SynthConfig
    from vaxis.data.synthetic_files import export_official

    export_official(SynthConfig(n_subjects=subjects, raw=True), root)
    files = sorted((root / "Processed_data").glob("*.pkl"))
    size = sum(f.stat().st_size for f in files)
    peak = _child(CHILD, str(root), str(root / "de.cohort.h5"))["peak_mib"]
    print(
        f"raw -> DE, {subjects} SYNTHETIC subjects: input {size / MIB:.0f} MiB "
        f"({size / len(files) / MIB:.0f} MiB a subject); peak RSS {peak:.0f} MiB"
    )


def cohort_per_worker(subjects: int, jobs: int, folder: Path) -> None:
    from vaxis.data.synthetic import SynthConfig, synthesize_features

    cohort, _ = synthesize_features(SynthConfig(n_subjects=subjects))
    path = folder / "de.cohort.h5"
    cohort.save(path)
    found = _child(WORKER, str(path), str(jobs))
    print(
        f"worker, {subjects}-subject DE cohort ({found['cohort_mib']:.0f} MiB of features), "
        f"{jobs} jobs: RSS {found['before_mib']:.0f} MiB before, {found['after_first_mib']:.0f} "
        f"after the first load, {found['after_all_mib']:.0f} after all; one object for every "
        f"job: {found['same_object']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=4)
    parser.add_argument("--de-subjects", type=int, default=123)
    parser.add_argument("--jobs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cohort_per_worker(args.de_subjects, args.jobs, Path(tmp))
        raw_to_de(args.subjects, Path(tmp) / "faced")


if __name__ == "__main__":
    main()
