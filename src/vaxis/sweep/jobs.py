"""Sweep jobs: frozen specs keyed by a hash of everything that decides their result.

A :class:`Job` names a registered job function (``kind``) and its JSON parameters, plus the
code version and a fingerprint of the data files it reads. :meth:`Job.key` hashes all of it,
so a changed parameter, a new commit or an edited cohort file gives a new key (a new result),
while the same job always gets the same key, in any process, on any machine.

Job functions are pure: ``fn(params, workdir) -> JSON-able dict``; they may write artefacts
into ``workdir``, a folder of their own.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from vaxis import __version__
from vaxis.data.cohort import Cohort
from vaxis.errors import DataFormatError

if TYPE_CHECKING:
    from vaxis.decoders.train import TrainConfig

JobFn = Callable[[dict[str, Any], Path], dict[str, Any]]
_CHUNK = 1 << 20


@dataclass(frozen=True)
class JobKind:
    """A registered job function and the names of its parameters that are data files."""

    fn: JobFn
    data_params: tuple[str, ...] = ()


#: kind name -> job function (one entry per ``@job_kind``)
JOB_KINDS: dict[str, JobKind] = {}


def job_kind(name: str, data_params: Sequence[str] = ()) -> Callable[[JobFn], JobFn]:
    """Register ``fn`` as the job kind ``name``; ``data_params`` name its data-file params,
    whose contents are fingerprinted into every job's key."""

    def register(fn: JobFn) -> JobFn:
        if name in JOB_KINDS:
            raise ValueError(f"job kind {name!r} is already registered")
        JOB_KINDS[name] = JobKind(fn, tuple(data_params))
        return fn

    return register


def get_kind(name: str) -> JobKind:
    """The registered job kind ``name`` (a clear error naming the known ones otherwise)."""
    if name not in JOB_KINDS:
        raise ValueError(f"unknown job kind {name!r}; known: {', '.join(sorted(JOB_KINDS))}")
    return JOB_KINDS[name]


@functools.cache
def code_version() -> str:
    """vaxis's version, plus the git commit when vaxis runs from a git checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+{commit}"


def fingerprint(path: str | Path) -> str:
    """sha256 of a file's content (read in 1 MiB chunks), cached by (path, size, mtime)."""
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError as error:
        problem = f"cannot read this data file ({error})"
        raise DataFormatError(path, problem, "check the path in the sweep's params") from error
    return _content_hash(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Job(BaseModel):
    """One unit of a sweep: a job kind, its parameters and what else decides its result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    params: dict[str, Any]
    code_version: str
    #: kind-specific: ``{param name: sha256 of the file's content}`` as one canonical string
    data_fingerprint: str = ""
    #: settings the job function gets (as ``params["runtime"]``) that do not change its
    #: result, so not in its key: e.g. a training run's device, threads, checkpoint interval
    runtime: dict[str, Any] = Field(default_factory=dict)

    def key(self) -> str:
        """sha256 of the canonical JSON (sorted keys) of every field but ``runtime``."""
        fields = self.model_dump(mode="json", exclude={"runtime"})
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def __hash__(self) -> int:
        return hash(self.key())


def make_job(kind: str, params: Mapping[str, Any], runtime: Mapping[str, Any] | None = None) -> Job:
    """A job of a registered kind with the current code version and its data fingerprinted
    (the data params it has: some jobs of a kind read an optional second file); ``runtime``:
    settings outside its key (:attr:`Job.runtime`)."""
    data = {
        name: fingerprint(params[name]) for name in get_kind(kind).data_params if name in params
    }
    canonical = json.loads(json.dumps(dict(params)))  # JSON-able now or never
    return Job(
        kind=kind,
        params=canonical,
        code_version=code_version(),
        data_fingerprint=json.dumps(data, sort_keys=True) if data else "",
        runtime=json.loads(json.dumps(dict(runtime or {}))),
    )


def grid(kind: str, base: Mapping[str, Any], /, **axes: Sequence[Any]) -> list[Job]:
    """The cartesian product of ``axes`` over ``base`` params, last axis varying fastest.

    An axis name may be dotted to set a nested param, e.g. ``**{"train.seed": [0, 1]}``.
    """
    jobs = []
    for values in itertools.product(*axes.values()):
        params = json.loads(json.dumps(dict(base)))  # a deep copy
        for name, value in zip(axes, values, strict=True):
            _set(params, name, value)
        jobs.append(make_job(kind, params))
    return jobs


def _set(params: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for name in parents:
        params = params.setdefault(name, {})
    params[leaf] = value


def split_params(cohort: Path, protocol: str, fold: int, task: str) -> dict[str, Any]:
    """The params every training job of a stage shares: which cohort file, which fold of which
    protocol, and the task (``train_job`` and ``align`` read them the same way)."""
    return {"cohort": str(cohort.resolve()), "split": protocol, "fold": fold,
            "inputs": {"task": task}}  # fmt: skip


@job_kind("sleep")
def sleep_job(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """A job for testing the engine: appends ``start <tag> <time>`` to ``params["log"]`` (if given),
    sleeps ``params["seconds"]``, raises if ``params["fail"]``, else returns its params."""
    if "log" in params:
        with open(params["log"], "a") as log:
            log.write(f"start {params.get('tag', '')} {time.time()!r}\n")
    time.sleep(float(params.get("seconds", 0.0)))
    if params.get("fail"):
        raise RuntimeError(f"job {params.get('tag', '')} asked to fail")
    return {"params": params}


@job_kind("train", data_params=("cohort", "weights"))
def train_job(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """One :func:`~vaxis.decoders.experiment.run_experiment` run; returns its metrics.json.

    Params: ``cohort`` (file), ``split`` (a name in ``SPLITTERS``), ``fold`` (index, default
    0), ``split_options`` (splitter keywords), ``train`` (TrainConfig fields), ``regime``
    (optional name in ``REGIMES``), ``inputs`` (InputConfig fields), ``chance`` (optional
    ChanceConfig fields: the test against chance, e.g. ``{"refits": 99}``), ``weights``
    (optional file the decoder starts from), ``runtime`` (TrainConfig fields that do not
    change the result: :attr:`Job.runtime`). ``metrics.json`` names the protocol
    (``split``) as `vaxis train` does. Artefacts go to ``workdir``; an interrupted run
    resumes from its checkpoint there.
    """
    # torch is imported only by the jobs that train, not by every sweep process
    from vaxis.core.runs import read_metrics
    from vaxis.data.splits import split_fold
    from vaxis.decoders.chance import ChanceConfig
    from vaxis.decoders.experiment import InputConfig, run_experiment

    cohort = _load_cohort(params["cohort"])
    options = params.get("split_options", {})
    split = split_fold(cohort, params["split"], int(params.get("fold", 0)), **options)
    config = train_config(params)
    inputs = InputConfig(**params.get("inputs", {}))
    chance = ChanceConfig(**params["chance"]) if "chance" in params else None
    summary = run_experiment(
        cohort, split, config, workdir, inputs, protocol=params["split"], chance=chance
    )
    report = read_metrics(summary.path)
    return report


def train_config(params: dict[str, Any]) -> TrainConfig:
    """The TrainConfig a ``train`` job trains with: its ``train`` fields, the weights file,
    the runtime fields and its regime."""
    from vaxis.decoders.experiment import with_regime
    from vaxis.decoders.train import TrainConfig

    weights = {"weights": params["weights"]} if "weights" in params else {}
    config = TrainConfig(**params.get("train", {}), **weights, **params.get("runtime", {}))
    return with_regime(config, params["regime"]) if params.get("regime") else config


def _load_cohort(path: str) -> Cohort:
    stat = Path(path).stat()
    return _cached_cohort(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=1)
def _cached_cohort(path: str, size: int, mtime_ns: int) -> Cohort:
    """The last cohort loaded by this process: a worker's jobs mostly share one cohort."""
    return Cohort.load(path)
