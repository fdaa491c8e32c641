"""The ledger's record tables besides programs and evaluations: LM calls (the response cache a
resumed run replays), broker events, finished iterations and transfer rows.  Mixed into
:class:`stopbox.harness.store.RunStore`; every insert is keyed, so re-inserting changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

__all__ = ["LedgerRecords"]


class LedgerRecords:
    """Needs ``_tx()`` (a write transaction) and ``_rows(sql, params)`` from the store."""

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError  # pragma: no cover - abstract

    # -- LM calls -------------------------------------------------------------------------------

    def get_lm_call(self, key: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT texts, labels, prompt_tokens, completion_tokens, cost_usd, model "
            "FROM lm_calls WHERE key = ?",
            (key,),
        )
        if not rows:
            return None
        texts, labels, pt, ct, cost, model = rows[0]
        return {
            "texts": json.loads(texts),
            "labels": json.loads(labels),
            "prompt_tokens": pt,
            "completion_tokens": ct,
            "cost_usd": cost,
            "model": model,
        }

    def put_lm_call(
        self,
        key: str,
        *,
        context: str,
        iteration: int,
        system: str,
        messages: Sequence[str],
        temperature: float,
        n: int,
        texts: Sequence[str],
        labels: Sequence[Mapping[str, Any]],
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
        model: str,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO lm_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key, context, iteration, system, json.dumps(list(messages)), temperature, n,
                    json.dumps(list(texts)), json.dumps([dict(x) for x in labels], default=str),
                    prompt_tokens, completion_tokens, cost_usd, model, time.time(),
                ),
            )  # fmt: skip

    def lm_usage(self, iteration: int | None = None) -> dict[str, Any]:
        sql = (
            "SELECT COUNT(*), COALESCE(SUM(json_array_length(texts)), 0), "
            "COALESCE(SUM(prompt_tokens), 0), "
            "COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(cost_usd), 0) FROM lm_calls"
        )
        params: tuple[Any, ...] = ()
        if iteration is not None:
            sql, params = sql + " WHERE iteration = ?", (iteration,)
        calls, samples, pt, ct, cost = self._rows(sql, params)[0]
        return {
            "calls": int(calls),
            "samples": int(samples),
            "prompt_tokens": int(pt),
            "completion_tokens": int(ct),
            "cost_usd": round(float(cost), 6),
        }

    # -- events ---------------------------------------------------------------------------------

    def add_event(
        self,
        key: str,
        *,
        program: str | None,
        iteration: int,
        kind: str,
        event: str,
        data: Mapping[str, Any],
    ) -> bool:
        """Record an event once per key; True when it was new."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, program, iteration, kind, event,
                 json.dumps(dict(data), sort_keys=True, default=str), time.time()),
            )  # fmt: skip
            return cur.rowcount > 0

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT key, program, iteration, kind, event, data FROM events"
        rows = self._rows(sql + (" WHERE kind = ?" if kind else "") + " ORDER BY key",
                          (kind,) if kind else ())  # fmt: skip
        return [
            {"key": k, "program": p, "iteration": i, "kind": kd, "event": e, **json.loads(d)}
            for k, p, i, kd, e, d in rows
        ]

    # -- iterations and transfer ----------------------------------------------------------------

    def put_iteration(
        self, iteration: int, improver: str, val: float, test: float, data: Mapping[str, Any]
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO iterations VALUES (?, ?, ?, ?, ?, ?)",
                (
                    iteration,
                    improver,
                    val,
                    test,
                    json.dumps(dict(data), sort_keys=True),
                    time.time(),
                ),
            )

    def iterations(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT iteration, improver, meta_utility_val, meta_utility_test, data "
            "FROM iterations ORDER BY iteration"
        )
        return [
            {"iteration": i, "improver": s, "meta_utility_val": v, "meta_utility_test": t,
             **json.loads(d)}
            for i, s, v, t, d in rows
        ]  # fmt: skip

    def put_transfer(self, task: str, data: Mapping[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO transfer VALUES (?, ?, ?)",
                (task, json.dumps(dict(data), sort_keys=True), time.time()),
            )

    def transfer(self) -> list[dict[str, Any]]:
        return [json.loads(d) for (d,) in self._rows("SELECT data FROM transfer ORDER BY task")]
