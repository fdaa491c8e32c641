"""The run directory: a SQLite ledger (WAL) plus a content-addressed program store.

``runs/<id>/`` holds ``ledger.sqlite``, ``programs/<sha256>.py``, ``events.jsonl`` (structlog JSON
lines), ``config.toml`` (the snapshot the run started with) and ``report.json``.

Everything written here survives a SIGKILL at any point: rows are written in transactions, program
files are written to a temporary name and renamed into place, and every insert is keyed so that a
resumed run re-inserting the same row changes nothing (``INSERT OR IGNORE``).  A resumed run looks
finished evaluations and LM responses up by key instead of redoing them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from stopbox.harness._store_records import LedgerRecords
from stopbox.harness.errors import RunDirError

__all__ = [
    "RunStore",
    "Evaluation",
    "ProgramRow",
    "sha256_text",
    "stable_key",
    "configure_event_log",
    "SCHEMA_VERSION",
]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, config TEXT NOT NULL,
    status TEXT NOT NULL, stop_reason TEXT);
CREATE TABLE IF NOT EXISTS lm_calls (
    key TEXT PRIMARY KEY, context TEXT NOT NULL, iteration INTEGER NOT NULL,
    system TEXT NOT NULL, messages TEXT NOT NULL, temperature REAL NOT NULL, n INTEGER NOT NULL,
    texts TEXT NOT NULL, labels TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, model TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS programs (
    sha256 TEXT PRIMARY KEY, kind TEXT NOT NULL, iteration INTEGER NOT NULL, parent TEXT,
    labels TEXT NOT NULL, generated INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, program TEXT NOT NULL, task TEXT NOT NULL,
    split TEXT NOT NULL, seed INTEGER NOT NULL, iteration INTEGER NOT NULL, value REAL,
    output TEXT, reason TEXT NOT NULL, blocked INTEGER NOT NULL, wall_s REAL NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    program TEXT NOT NULL, source TEXT NOT NULL, fingerprint TEXT NOT NULL,
    rule_id TEXT NOT NULL, category TEXT NOT NULL, severity TEXT NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (program, source, fingerprint));
CREATE TABLE IF NOT EXISTS scans (program TEXT PRIMARY KEY, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    key TEXT PRIMARY KEY, program TEXT, iteration INTEGER NOT NULL, kind TEXT NOT NULL,
    event TEXT NOT NULL, data TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS iterations (
    iteration INTEGER PRIMARY KEY, improver TEXT NOT NULL, meta_utility_val REAL NOT NULL,
    meta_utility_test REAL NOT NULL, data TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS transfer (
    task TEXT PRIMARY KEY, data TEXT NOT NULL, created REAL NOT NULL);
"""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stable_key(*parts: Any) -> str:
    """A hash of JSON-encoded parts: the same inputs give the same key in every process."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Evaluation:
    key: str
    kind: str
    program: str
    task: str
    split: str
    seed: int
    iteration: int
    value: float | None
    output: str | None
    reason: str
    blocked: bool
    wall_s: float


@dataclass(frozen=True, slots=True)
class ProgramRow:
    sha256: str
    kind: str
    iteration: int
    parent: str | None
    labels: tuple[Mapping[str, Any], ...]
    generated: bool


def _evaluation(r: Sequence[Any]) -> Evaluation:
    key, kind, program, task, split, seed, iteration, value, output, reason, blocked, wall = r
    return Evaluation(
        key, kind, program, task, split, seed, iteration, value, output, reason, bool(blocked), wall
    )


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class RunStore(LedgerRecords):
    """One run directory.  Thread-safe: one connection guarded by a lock."""

    def __init__(self, root: Path, *, create: bool = False) -> None:
        self.root = Path(root)
        self.ledger_path = self.root / "ledger.sqlite"
        self.programs_dir = self.root / "programs"
        self.events_path = self.root / "events.jsonl"
        self.config_path = self.root / "config.toml"
        self.report_path = self.root / "report.json"
        if create:
            self.programs_dir.mkdir(parents=True, exist_ok=True)
        elif not self.ledger_path.is_file():
            raise RunDirError(f"{self.root}: not a run directory (no ledger.sqlite)")
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(
                self.ledger_path, check_same_thread=False, isolation_level=None, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        except sqlite3.DatabaseError as exc:
            raise RunDirError(f"{self.ledger_path}: not a usable ledger: {exc}") from None
        self.programs_dir.mkdir(parents=True, exist_ok=True)

    # -- plumbing -------------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- run and config -------------------------------------------------------------------------

    def init_run(self, run_id: str, config: Mapping[str, Any], config_toml: str) -> None:
        """Record the run (first start only) and write the config snapshot."""
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO runs VALUES (?, ?, ?, 'running', NULL)",
                (run_id, created, json.dumps(dict(config), sort_keys=True)),
            )
        if not self.config_path.exists():
            _atomic_write(self.config_path, config_toml)

    def run_info(self) -> dict[str, Any]:
        rows = self._rows("SELECT id, created, config, status, stop_reason FROM runs LIMIT 1")
        if not rows:
            raise RunDirError(f"{self.root}: the ledger has no run recorded")
        rid, created, config, status, stop_reason = rows[0]
        return {
            "id": rid,
            "created": created,
            "config": json.loads(config),
            "status": status,
            "stop_reason": stop_reason,
        }

    def read_config_toml(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RunDirError(f"{self.config_path}: unreadable config snapshot: {exc}") from None

    def set_status(self, status: str, stop_reason: str | None = None) -> None:
        with self._tx() as db:
            db.execute("UPDATE runs SET status = ?, stop_reason = ?", (status, stop_reason))

    # -- programs -------------------------------------------------------------------------------

    def program_path(self, sha: str) -> Path:
        return self.programs_dir / f"{sha}.py"

    def add_program(
        self,
        source: str,
        *,
        kind: str,
        iteration: int,
        parent: str | None = None,
        labels: Sequence[Mapping[str, Any]] = (),
        generated: bool = True,
    ) -> str:
        """Store a program (file first, then row); the first record of a sha wins."""
        sha = sha256_text(source)
        path = self.program_path(sha)
        if not path.exists():
            _atomic_write(path, source)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO programs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sha,
                    kind,
                    iteration,
                    parent,
                    json.dumps([dict(x) for x in labels], sort_keys=True),
                    int(generated),
                    time.time(),
                ),
            )
        return sha

    def program_source(self, sha: str) -> str:
        return self.program_path(sha).read_text(encoding="utf-8")

    def programs(self) -> list[ProgramRow]:
        rows = self._rows(
            "SELECT sha256, kind, iteration, parent, labels, generated FROM programs "
            "ORDER BY iteration, kind, sha256"
        )
        return [
            ProgramRow(s, k, i, p, tuple(json.loads(lab)), bool(g)) for s, k, i, p, lab, g in rows
        ]

    # -- findings -------------------------------------------------------------------------------

    def is_scanned(self, sha: str) -> bool:
        return bool(self._rows("SELECT 1 FROM scans WHERE program = ?", (sha,)))

    def add_findings(
        self, sha: str, source: str, findings: Sequence[Mapping[str, Any]], *, scan: bool = False
    ) -> None:
        """Store findings (``Finding.to_json()`` dicts plus ``fingerprint``) of one program."""
        with self._tx() as db:
            for f in findings:
                fp = str(f.get("fingerprint") or stable_key(f))
                db.execute(
                    "INSERT OR IGNORE INTO findings VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        sha,
                        source,
                        fp,
                        str(f.get("rule_id", "")),
                        str(f.get("category", "")),
                        str(f.get("severity", "")),
                        json.dumps(dict(f), sort_keys=True, default=str),
                    ),
                )
            if scan:
                db.execute("INSERT OR IGNORE INTO scans VALUES (?, ?)", (sha, time.time()))

    def findings(self, sha: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
        sql, params = "SELECT program, source, data FROM findings WHERE 1=1", []
        if sha is not None:
            sql += " AND program = ?"
            params.append(sha)
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        out = []
        for program, src, data in self._rows(
            sql + " ORDER BY program, source, fingerprint", params
        ):
            item = json.loads(data)
            item["program"], item["source"] = program, src
            out.append(item)
        return out

    # -- evaluations ----------------------------------------------------------------------------

    def get_evaluation(self, key: str) -> Evaluation | None:
        rows = self._rows(
            "SELECT key, kind, program, task, split, seed, iteration, value, output, reason, "
            "blocked, wall_s FROM evaluations WHERE key = ?",
            (key,),
        )
        if not rows:
            return None
        r = rows[0]
        return Evaluation(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]), r[11]
        )

    def put_evaluation(self, ev: Evaluation) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ev.key, ev.kind, ev.program, ev.task, ev.split, ev.seed, ev.iteration,
                    ev.value, ev.output, ev.reason, int(ev.blocked), ev.wall_s, time.time(),
                ),
            )  # fmt: skip

    def evaluations(self, kind: str | None = None) -> list[Evaluation]:
        sql = (
            "SELECT key, kind, program, task, split, seed, iteration, value, output, reason, "
            "blocked, wall_s FROM evaluations"
        )
        rows = self._rows(sql + (" WHERE kind = ?" if kind else "") + " ORDER BY key",
                          (kind,) if kind else ())  # fmt: skip
        return [
            Evaluation(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]), r[11]
            )
            for r in rows
        ]

    def count_evaluations(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM evaluations")[0][0])

    # -- rows of a unit of work (a scratch ledger on a Ray node -> the run's ledger) ------------

    ROW_TABLES = ("programs", "lm_calls", "evaluations", "findings", "scans", "events")
    """The tables a unit of work writes (iterations and transfer rows are the driver's)."""

    def export_rows(self) -> dict[str, Any]:
        """Every row of :attr:`ROW_TABLES` and the source of every program, as plain data."""
        with self._lock:
            tables = {t: self._rows(f"SELECT * FROM {t}") for t in self.ROW_TABLES}  # noqa: S608
        sources = {str(r[0]): self.program_source(str(r[0])) for r in tables["programs"]}
        return {"tables": tables, "sources": sources}

    def lm_call_rows(self, context: str) -> dict[str, Any]:
        """The LM responses recorded for one improver-run ``context`` (in :meth:`export_rows`
        form): what a unit resumed on another node replays instead of asking the LM again."""
        rows = self._rows("SELECT * FROM lm_calls WHERE context = ?", (context,))
        return {"tables": {"lm_calls": rows}, "sources": {}}

    def import_rows(self, rows: Mapping[str, Any]) -> int:
        """Insert rows of :meth:`export_rows` (program files first); rows already present are
        kept (``INSERT OR IGNORE``), so importing a retried unit's rows twice changes nothing.
        Returns the number of rows inserted."""
        for sha, source in dict(rows.get("sources") or {}).items():
            if sha256_text(source) != sha:
                raise RunDirError(f"imported program {sha[:12]}: the text does not match its sha")
            path = self.program_path(sha)
            if not path.exists():
                _atomic_write(path, source)
        inserted = 0
        tables = dict(rows.get("tables") or {})
        unknown = set(tables) - set(self.ROW_TABLES)
        if unknown:
            raise RunDirError(f"imported rows for tables {sorted(unknown)}: not unit tables")
        with self._tx() as db:
            for table in self.ROW_TABLES:
                for row in tables.get(table) or ():
                    marks = ", ".join("?" * len(row))
                    cur = db.execute(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", tuple(row))  # noqa: S608
                    inserted += max(0, cur.rowcount)
        return inserted

    # -- report ---------------------------------------------------------------------------------

    def write_report(self, report: Mapping[str, Any]) -> Path:
        _atomic_write(self.report_path, json.dumps(report, indent=2, sort_keys=False) + "\n")
        return self.report_path


def configure_event_log(path: Path) -> None:
    """Send structlog events of this process to ``path`` as JSON lines (appending)."""
    torn = False
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as existing:
            existing.seek(-1, os.SEEK_END)
            torn = existing.read(1) != b"\n"
    fh = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - lives for the process
    if torn:  # a process killed mid-line: end that line so the next event starts a fresh one
        fh.write("\n")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(sort_keys=True, default=str),
        ],
        logger_factory=structlog.WriteLoggerFactory(file=fh),
        cache_logger_on_first_use=False,
    )
