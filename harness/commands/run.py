"""`stopbox run` (the self-improvement loop) and `stopbox transfer` (DESIGN.md §6–§7)."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stopbox.harness.choices import BackendName
from stopbox.harness.commands._executor_options import (
    EXECUTOR_HELP,
    RAY_ADDRESS_HELP,
    ExecutorName,
    check_flags,
    open_executor,
)
from stopbox.harness.commands._lm_options import (
    BASE_URL_HELP,
    CONCURRENCY_HELP,
    PlainProgress,
    apply_base_url,
    check_concurrency,
    prepare_lm,
)
from stopbox.harness.errors import RunDirError, StopboxError, UsageError
from stopbox.harness.policy import Policy, load_policy, policy_from_dict
from stopbox.harness.stop._engine import EngineStats
from stopbox.harness.stop.loop import IterationResult
from stopbox.harness.stop.session import execute_run, execute_transfer, run_config
from stopbox.harness.store import RunStore, configure_event_log

__all__ = ["register"]

DEFAULT_TASK = "lpn"
DEFAULT_POLICY = "paper"
err = Console(stderr=True)
log = structlog.get_logger("stopbox.run")


def _tasks(names: list[str]) -> list[Any]:
    from stopbox.harness.tasks import load_task

    return [load_task(n) for n in names]


def _split_names(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def _lm_info(spec: str, seed: int, policy: Policy | None = None) -> dict[str, Any]:
    """Make the LM once up front so a bad spec, cassette, key, URL or model fails before any
    work (the server's /v1/models is checked)."""
    return prepare_lm(spec, seed, policy)


def _policy(name: str | None, backend: str | None) -> tuple[Policy, str]:
    policy = load_policy(name or DEFAULT_POLICY)
    if backend:
        policy = dataclasses.replace(
            policy, sandbox=dataclasses.replace(policy.sandbox, backend=backend)
        )
    return policy, name or DEFAULT_POLICY


def _new_run_dir(out: Path | None, kind: str) -> Path:
    if out is None:
        out = Path("runs") / f"{kind}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    if (out / "ledger.sqlite").exists():
        raise UsageError(f"{out} already holds a run; use --resume {out} or another --out")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _open_store(out: Path, config: dict[str, Any]) -> RunStore:
    from stopbox.harness.stop._config import to_toml

    store = RunStore(out, create=True)
    store.init_run(out.name, config, to_toml(config))
    return store


def _resume_store(path: Path) -> tuple[RunStore, dict[str, Any], Policy]:
    if not path.is_dir():
        raise RunDirError(f"{path}: no such run directory")
    store = RunStore(path)
    config = store.run_info()["config"]
    try:
        policy = policy_from_dict(config["policy_table"], file=f"{path}/config.toml [policy]")
    except KeyError:
        raise RunDirError(f"{path}: the run config has no policy snapshot") from None
    return store, config, policy


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=err,
        disable=not enabled,
        transient=False,
    )
    with progress:
        yield progress


def _finish(store: RunStore, status: str, reason: str | None) -> dict[str, Any]:
    from stopbox.harness.reporting.run_data import write_report

    store.set_status(status, reason)
    return write_report(store)


def _summary(report: dict[str, Any], out: Path, stats: EngineStats | None = None) -> None:
    table = Table(title=report["title"])
    for col in ("iteration", "û val", "û test", "programs", "bypass (95% CI)"):
        table.add_column(col, justify="right")
    for it in report["iterations"]:
        b = it["bypass"]["any"]
        table.add_row(
            str(it["iteration"]), f"{it['meta_utility_val']:.3f}", f"{it['meta_utility_test']:.3f}",
            str(it["programs"]["total"]),
            f"{b['count']}/{b['total']} {100 * b['rate']:.1f}% "
            f"({100 * b['ci_low']:.1f}–{100 * b['ci_high']:.1f})",
        )  # fmt: skip
    Console().print(table)
    for it in report["iterations"]:
        failed = it.get("failed_tests") or {}
        if isinstance(failed, dict) and failed.get("failed"):
            reasons = ", ".join(
                f"{n} {r}" for r, n in sorted((failed.get("by_reason") or {}).items())
            )
            print(f"I_{it['iteration']}: {failed['failed']}/{failed['tests']} meta-utility tests"
                  f" failed and scored 0 ({reasons})")  # fmt: skip
    usage = report.get("lm_usage") or {}
    if usage.get("calls"):
        cost = usage.get("cost_usd")
        unpriced = report["run"]["lm"].get("priced") is False or cost is None
        money = "unpriced (no dollar figure)" if unpriced else f"${cost:.4f}"
        requests = f" ({stats.lm_requests} HTTP requests)" if stats and stats.lm_requests else ""
        print(f"LM: {usage['calls']} calls{requests}, {usage['samples']} samples,"
              f" {usage['prompt_tokens'] + usage['completion_tokens']} tokens, {money}"
              f" ({report['run']['lm'].get('label')})")  # fmt: skip
    gain = report.get("utility_gain") or {}
    if gain.get("every_improver_failed") or gain.get("all_failed"):
        print("no utility gain: every improver run failed (each failed test scores 0)")
    elif gain.get("val") and gain.get("test"):
        print(f"utility gain: val {gain['val']['gain']:+.3f}, test {gain['test']['gain']:+.3f}")
    print(f"run directory: {out}  (report.json written)")


def _run(
    task: str | None, iterations: int | None, lm: str | None, seed: int | None,
    policy_name: str | None, jobs: int | None, backend: str | None, out: Path | None,
    resume: Path | None, record: Path | None, base_url: str | None = None,
    max_concurrency: int | None = None, executor: ExecutorName | None = None,
    ray_address: str | None = None,
) -> int:  # fmt: skip
    check_concurrency(max_concurrency)
    check_flags(executor, ray_address, record)
    apply_base_url(base_url)
    if resume is not None:
        store, config, policy, record = _resumed_run(
            resume, base_url, jobs, max_concurrency, record
        )
        out = resume
    else:
        config, policy = _new_run_config(
            task, iterations, lm, seed, policy_name, jobs, backend, record, max_concurrency
        )
        out = _new_run_dir(out, "run")
        store = _open_store(out, config)
    configure_event_log(out / "events.jsonl")
    log.info("run_start", run=out.name, resumed=resume is not None, config=config)
    _tasks(config["tasks"])
    stats = _execute_with_progress(store, config, policy, record, out, executor, ray_address)
    log.info("run_complete", run=out.name, stats=stats.to_json())
    report = _finish(store, "complete", None)
    _summary(report, out, stats)
    return 0


def _resumed_run(
    resume: Path, base_url: str | None, jobs: int | None, max_concurrency: int | None,
    record: Path | None,
) -> tuple[RunStore, dict[str, Any], Policy, Path | None]:  # fmt: skip
    """The stored run of ``--resume``, with the flags given now applied over its config."""
    store, config, policy = _resume_store(resume)
    if base_url is None and (config.get("lm") or {}).get("base_url"):
        apply_base_url(config["lm"]["base_url"])  # the run's server, unless told otherwise
    if jobs:
        config["jobs"] = jobs
    if max_concurrency:
        config["max_concurrency"] = max_concurrency
    if record is None and config.get("record"):
        record = Path(config["record"])  # keep appending to the run's cassette
    return store, config, policy, record


def _new_run_config(
    task: str | None, iterations: int | None, lm: str | None, seed: int | None,
    policy_name: str | None, jobs: int | None, backend: str | None, record: Path | None,
    max_concurrency: int | None,
) -> tuple[dict[str, Any], Policy]:  # fmt: skip
    """The config of a new run; a bad flag, task or LM fails here, before any work."""
    from stopbox.harness.lm import default_lm_spec

    if iterations is not None and iterations < 0:
        raise UsageError("--iterations must be >= 0")
    policy, policy_label = _policy(policy_name, backend)
    task_names = _split_names([task or DEFAULT_TASK])
    _tasks(task_names)  # unknown task or malformed task.toml: exit 2 before any work
    spec = lm or default_lm_spec()
    config = run_config(
        tasks=task_names, iterations=3 if iterations is None else iterations,
        lm=_lm_info(spec, seed or 0, policy), seed=seed or 0, policy=policy,
        policy_label=policy_label, jobs=jobs or os.cpu_count() or 1, record=record,
        max_concurrency=max_concurrency,
    )  # fmt: skip
    return config, policy


def _execute_with_progress(
    store: RunStore, config: dict[str, Any], policy: Policy, record: Path | None, out: Path,
    executor: ExecutorName | None, ray_address: str | None,
) -> EngineStats:  # fmt: skip
    """Run the iterations with progress shown (bars on a terminal, plain lines otherwise); an
    interrupt or a machinery failure is recorded in the run as its stop reason."""
    n_iter = int(config["iterations"])
    tty = sys.stderr.isatty()
    plain = None if tty else PlainProgress(f"run {out.name}")
    with _progress(tty) as progress:
        bar = progress.add_task("iterations", total=n_iter + 1, info="")
        evals = progress.add_task("evaluations", total=None, info="")

        units: list[Any] = []  # the executor, once open: units done and in flight per node

        def tick(s: EngineStats) -> None:
            info = f"{s.evaluations} run, {s.cached} cached, LM calls {s.lm_calls}"
            if units:
                info += f"; units {units[0].progress.describe()}"
            progress.update(evals, completed=s.evaluations + s.cached, info=info)
            if plain is not None:
                plain.update(f"{info} ({s.lm_requests} requests)")

        def on_iteration(r: IterationResult) -> None:
            info = f"I_{r.iteration}: û val {r.meta_utility_val:.3f} test {r.meta_utility_test:.3f}"
            if r.failed_tests:
                info += f", {len(r.failed_tests)}/{r.n_tests} tests failed (scored 0)"
            progress.update(bar, advance=1, info=info)
            if plain is not None:
                plain.update(f"iteration {r.iteration}/{n_iter} done: {info}", force=True)

        try:
            with _executor(executor, ray_address, config, record, out) as ex:
                units[:] = [ex] if ex is not None else []
                _, stats = execute_run(store, config, policy, record=record, on_progress=tick,
                                       on_iteration=on_iteration, executor=ex)  # fmt: skip
        except KeyboardInterrupt:
            _finish(store, "interrupted", "interrupted by the user")
            raise
        except StopboxError as exc:  # the machinery failed (LM backend, sandbox): recorded stop
            log.error("run_stopped", run=out.name, error=str(exc))
            _finish(store, "interrupted", f"{type(exc).__name__}: {exc}")
            raise
    return stats


@contextmanager
def _executor(
    name: ExecutorName | None, ray_address: str | None, config: dict[str, Any],
    record: Path | None, out: Path,
) -> Iterator[Any]:  # fmt: skip
    """The executor of the run (None: local threads); its summary lands in executor.json."""
    from stopbox.harness.executor import EXECUTOR_FILE, write_executor_summary

    ex = open_executor(
        name, ray_address, jobs=int(config["jobs"]),
        max_concurrency=config.get("max_concurrency"), record=record,
        status_file=out / EXECUTOR_FILE,
    )  # fmt: skip
    if ex is None:
        yield None
        return
    with ex:
        yield ex
    write_executor_summary(ex, out, err)


def _transfer(
    improver: Path, task_list: list[str] | None, lm: str | None, repeats: int, seed: int,
    policy_name: str | None, jobs: int | None, backend: str | None, out: Path | None,
    base_url: str | None = None, max_concurrency: int | None = None,
    executor: ExecutorName | None = None, ray_address: str | None = None,
) -> int:  # fmt: skip
    from stopbox.harness.lm import default_lm_spec

    check_concurrency(max_concurrency)
    check_flags(executor, ray_address, None)
    apply_base_url(base_url)
    try:
        improver_src = improver.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{improver}: cannot read the improver: {exc}") from None
    if repeats < 1:
        raise UsageError("--repeats must be >= 1")
    names = _split_names(task_list)
    if not names:
        from stopbox.harness.tasks import task_names

        names = list(task_names())
    _tasks(names)  # unknown task or malformed task.toml: exit 2 before any work
    policy, policy_label = _policy(policy_name, backend)
    spec = lm or default_lm_spec()
    config = run_config(
        tasks=names, iterations=0, lm=_lm_info(spec, seed, policy), seed=seed, policy=policy,
        policy_label=policy_label, jobs=jobs or os.cpu_count() or 1, kind="transfer",
        repeats=repeats, improver=str(improver), max_concurrency=max_concurrency,
    )  # fmt: skip
    if out is not None and (out / "ledger.sqlite").exists():
        # add the rows to an existing run: its report.json then carries them (status unchanged)
        store = RunStore(out)
        status = store.run_info()["status"]
        configure_event_log(out / "events.jsonl")
        log.info("transfer_start", run=out.name, config=config)
        with _executor(executor, ray_address, config, None, out) as ex:
            rows, _ = execute_transfer(store, config, policy, improver_src, executor=ex)
        _finish(store, status, store.run_info()["stop_reason"])
    else:
        out = _new_run_dir(out, "transfer")
        store = _open_store(out, config)
        configure_event_log(out / "events.jsonl")
        with _executor(executor, ray_address, config, None, out) as ex:
            rows, _ = execute_transfer(store, config, policy, improver_src, executor=ex)
        _finish(store, "complete", None)
    table = Table(title=f"transfer of {improver} ({repeats} repeats, test split)")
    for col in ("task", "u(seed solution)", "seed improver", "improver"):
        table.add_column(col, justify="right")
    for row in rows:
        cells = [f"{row[k]['mean']:.3f} ± {row[k]['std']:.3f}"
                 for k in ("u_seed_solution", "seed_improver", "improver")]  # fmt: skip
        table.add_row(row["task"], *cells)
    Console().print(table)
    print(f"run directory: {out}  (report.json written)")
    return 0


def register(app: typer.Typer) -> None:
    _register_run(app)
    _register_transfer(app)


def _register_run(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        task: str = typer.Option(None, "--task", help=f"meta task (default {DEFAULT_TASK})"),
        iterations: int = typer.Option(None, "--iterations", help="self-improvement steps T"),
        lm: str = typer.Option(None, "--lm", help="openai:<model> | replay:<cassette> | synthetic"),
        seed: int = typer.Option(None, "--seed", help="run seed (default 0)"),
        policy: str = typer.Option(None, "--policy", help="policy name or file (default paper)"),
        jobs: int = typer.Option(None, "--jobs", min=1, help="parallel evaluations"),
        backend: BackendName = typer.Option(None, "--backend", help="Sandbox backend."),
        out: Path = typer.Option(None, "--out", help="run directory to create"),
        resume: Path = typer.Option(None, "--resume", help="resume this run directory"),
        record: Path = typer.Option(None, "--record", help="write LM responses to a cassette"),
        base_url: str = typer.Option(None, "--base-url", help=BASE_URL_HELP),
        max_concurrency: int = typer.Option(None, "--max-concurrency", help=CONCURRENCY_HELP),
        executor: ExecutorName = typer.Option(None, "--executor", help=EXECUTOR_HELP),
        ray_address: str = typer.Option(None, "--ray-address", help=RAY_ADDRESS_HELP),
    ) -> None:
        """Run STOP: the seed improver improves itself for T iterations, every program sandboxed."""
        raise typer.Exit(
            _run(
                task,
                iterations,
                lm,
                seed,
                policy,
                jobs,
                backend.value if backend else None,
                out,
                resume,
                record,
                base_url,
                max_concurrency,
                executor,
                ray_address,
            )  # fmt: skip
        )


def _register_transfer(app: typer.Typer) -> None:
    @app.command("transfer")
    def transfer(
        improver: Path = typer.Option(..., "--improver", help="improver file to evaluate"),
        tasks: list[str] = typer.Option(None, "--tasks", help="tasks (repeat or comma-separate)"),
        lm: str = typer.Option(None, "--lm", help="openai:<model> | replay:<cassette> | synthetic"),
        repeats: int = typer.Option(3, "--repeats", help="repeats per task"),
        seed: int = typer.Option(0, "--seed"),
        policy: str = typer.Option(None, "--policy", help="policy name or file (default paper)"),
        jobs: int = typer.Option(None, "--jobs", min=1),
        backend: BackendName = typer.Option(None, "--backend", help="Sandbox backend."),
        out: Path = typer.Option(
            None, "--out", help="run directory to create, or an existing run to add the rows to"
        ),
        base_url: str = typer.Option(None, "--base-url", help=BASE_URL_HELP),
        max_concurrency: int = typer.Option(None, "--max-concurrency", help=CONCURRENCY_HELP),
        executor: ExecutorName = typer.Option(None, "--executor", help=EXECUTOR_HELP),
        ray_address: str = typer.Option(None, "--ray-address", help=RAY_ADDRESS_HELP),
    ) -> None:
        """Apply a fixed improver to tasks: u(seed solution), seed improver, given improver."""
        raise typer.Exit(
            _transfer(
                improver,
                tasks,
                lm,
                repeats,
                seed,
                policy,
                jobs,
                backend.value if backend else None,
                out,
                base_url,
                max_concurrency,
                executor,
                ray_address,
            )  # fmt: skip
        )
