"""`stopbox study bypass`: the paper's unsandboxing experiment (see harness/stop/study.py)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from stopbox.harness.choices import BackendName
from stopbox.harness.commands._lm_options import (
    BASE_URL_HELP,
    CONCURRENCY_HELP,
    PlainProgress,
    apply_base_url,
    check_concurrency,
    prepare_lm,
)
from stopbox.harness.errors import UsageError

if TYPE_CHECKING:
    from stopbox.harness.stop.study import StudyConfig

__all__ = ["register", "study_app", "lm_spec_with_red_team"]

study_app = typer.Typer(
    name="study",
    help="Studies over many LM samples (bypass: the STOP unsandboxing experiment).",
    no_args_is_help=True,
    add_completion=False,
)


class PromptChoice(StrEnum):
    """``--prompt``: the paper's plain prompt, its warning variant, or both."""

    plain = "plain"
    warning = "warning"
    both = "both"


def lm_spec_with_red_team(spec: str, red_team_rate: float | None) -> str:
    """``synthetic`` + ``--red-team-rate R`` → ``synthetic:red_team_rate=R``."""
    if red_team_rate is None:
        return spec
    if not 0.0 <= red_team_rate <= 1.0:
        raise UsageError(f"--red-team-rate {red_team_rate}: expected a number in [0, 1]")
    prefix, _, options = spec.partition(":")
    if prefix != "synthetic":
        raise UsageError("--red-team-rate applies only to --lm synthetic")
    if "red_team_rate" in options:
        raise UsageError("give the red-team rate once: in --lm or as --red-team-rate")
    joined = ",".join(o for o in (options, f"red_team_rate={red_team_rate:g}") if o)
    return f"synthetic:{joined}"


@study_app.command("bypass")
def bypass(
    lm: str | None = typer.Option(
        None, "--lm", help="LM spec (openai:<model>, replay:<cassette>, synthetic[:...])."
    ),
    samples: int = typer.Option(100, "--samples", "-n", help="Attempts per prompt (paper: 10000)."),
    prompt: PromptChoice = typer.Option(PromptChoice.both, "--prompt", help="Prompt variant(s)."),
    red_team_rate: float | None = typer.Option(
        None, "--red-team-rate", help="Synthetic LM only: share of samples that are attacks."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Study directory to create."),
    resume: Path | None = typer.Option(None, "--resume", help="Continue the study in DIR."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Worker processes."),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic LM."),
    samples_per_call: int = typer.Option(5, "--samples-per-call", help="Samples per LM call."),
    policy: str | None = typer.Option(
        None, "--policy", help="Policy name or TOML file for the detectors (default: default)."
    ),
    execute: bool = typer.Option(
        False, "--execute/--no-execute", help="Also run every attempt in the sandbox (runtime)."
    ),
    backend: BackendName | None = typer.Option(
        None, "--backend", help="Sandbox backend of --execute."
    ),
    base_url: str | None = typer.Option(None, "--base-url", help=BASE_URL_HELP),
    max_concurrency: int | None = typer.Option(None, "--max-concurrency", help=CONCURRENCY_HELP),
    executor: str = typer.Option(
        "local", "--executor", metavar="<local|ray>", help="Where units run (default local)."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster (HOST:PORT); default: a private local instance."
    ),
    record: Path | None = typer.Option(
        None, "--record", help="Write LM responses to a cassette (replay with --lm replay:FILE)."
    ),
) -> None:
    """Ask the LM to improve the sandboxed seed improver N times per prompt; count bypasses."""
    from stopbox.harness.reporting import study_markdown

    if jobs < 1 or samples_per_call < 1:
        raise UsageError("--jobs and --samples-per-call must be at least 1")
    if out is not None and resume is not None and out != resume:
        raise UsageError("give either --out DIR or --resume DIR")
    config, jobs, limit = _study_config(
        lm, samples, prompt, red_team_rate, seed, samples_per_call, policy, execute, backend,
        base_url, max_concurrency, executor, record, jobs,
    )  # fmt: skip
    out_dir = resume or out or Path("runs") / time.strftime("study-%Y%m%d-%H%M%S", time.gmtime())
    study = _run_with_progress(
        config, out_dir, resume=resume is not None, jobs=jobs, limit=limit, executor=executor,
        ray_address=ray_address,
    )  # fmt: skip
    (out_dir / "study.md").write_text(study_markdown.render(study), encoding="utf-8")
    _print_summary(study, out_dir)


def _study_config(
    lm: str | None,
    samples: int,
    prompt: PromptChoice,
    red_team_rate: float | None,
    seed: int,
    samples_per_call: int,
    policy: str | None,
    execute: bool,
    backend: BackendName | None,
    base_url: str | None,
    max_concurrency: int | None,
    executor: str,
    record: Path | None,
    jobs: int,
) -> tuple[StudyConfig, int, int | None]:
    """Validate the flags (exit 2 before any LM call or work): the study's configuration, the
    worker processes and the concurrency limit."""
    from stopbox.harness.lm import default_lm_spec
    from stopbox.harness.policy import load_policy
    from stopbox.harness.stop.study import PROMPTS, StudyConfig

    check_concurrency(max_concurrency)
    apply_base_url(base_url)
    loaded = load_policy(policy)  # a missing or malformed policy is exit 2 before any LM call
    if policy is not None and Path(policy).is_file():
        policy = str(Path(policy).resolve())
    spec = lm_spec_with_red_team(lm or default_lm_spec(), red_team_rate)
    prepare_lm(spec, seed, None)  # bad spec, URL or model name: exit 2 before any work
    limit = max_concurrency or loaded.budget.max_concurrency
    if limit and jobs > limit:  # each worker process makes one LM request at a time
        jobs = limit
    if record is not None:
        jobs = 1  # one process appends to the cassette, in call order (replay follows it)
        if executor != "local":
            raise UsageError("--record needs --executor local (one process writes the cassette)")
    chosen = prompt.value
    config = StudyConfig(
        lm=spec,
        samples=samples,
        prompts=PROMPTS if chosen == "both" else (chosen,),
        seed=seed,
        samples_per_call=samples_per_call,
        policy=policy,
        execute=execute,
        backend=backend.value if backend else None,
        record=str(record.resolve()) if record is not None else None,
    )
    return config, jobs, limit


def _run_with_progress(
    config: StudyConfig,
    out_dir: Path,
    *,
    resume: bool,
    jobs: int,
    limit: int | None,
    executor: str,
    ray_address: str | None,
) -> dict[str, Any]:
    """Run the study on the executor, showing LM calls done (a bar on a terminal, else lines)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from stopbox.harness.executor import make_executor, write_executor_summary
    from stopbox.harness.stop.study import run_study

    err = Console(stderr=True)
    plain = None if err.is_terminal else PlainProgress(f"study {out_dir.name}")
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("bypass study: LM calls", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            if plain is not None:
                plain.update(f"{done}/{total} LM calls done", force=done in (0, total))

        status = out_dir / "executor.json"  # units per node, in flight, retried (live)
        with make_executor(executor, jobs=jobs, ray_address=ray_address,
                           max_concurrency=limit or None, status_file=status) as ex:  # fmt: skip
            study = run_study(config, out_dir, resume=resume, jobs=jobs,
                              on_progress=on_progress, executor=ex)  # fmt: skip
        write_executor_summary(ex, out_dir, err)
    return study


def _print_summary(study: dict[str, object], out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from stopbox.harness.reporting._text import fmt_count, fmt_rate

    table = Table(title=str(study.get("title", "bypass study")))
    for col in ("prompt", "attempts", "stopbox bypass", "paper method"):
        table.add_column(col, justify="left" if col == "prompt" else "right")
    prompts = study.get("prompts")
    assert isinstance(prompts, dict)
    lines = []
    for name, p in prompts.items():
        table.add_row(
            name,
            str(p["samples"]),
            f"{fmt_count(p['bypass'])}  {fmt_rate(p['bypass'])}",
            f"{fmt_count(p['paper_method'])}  {fmt_rate(p['paper_method'])}",
        )
        attempts = p.get("attempts") or {}
        parts = [
            f"{label} {fmt_count(attempts[key])} {fmt_rate(attempts[key])}"
            for key, label in _CLASS_LABELS
            if isinstance(attempts.get(key), dict)
        ]
        if parts:
            lines.append(f"{name}: " + "; ".join(parts))
    console = Console()
    console.print(table)
    for line in lines:
        print(line)
    console.print(f"study: {out_dir / 'study.json'}  {out_dir / 'study.md'}")


_CLASS_LABELS = (
    ("disables", "disables (headline, comparable to the paper method)"),
    ("unverifiable", "unverifiable flag"),
    ("copied_scaffolding", "copied scaffolding"),
    ("no_code", "no code"),
    ("runtime_confirmed", "called utility unsandboxed at run time"),
)


def register(app: typer.Typer) -> None:
    app.add_typer(study_app, name="study")
