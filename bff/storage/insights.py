"""The SQL of the insights: raw counts over what prefkit already stores (ledger, state, conversions).

Every function returns *counts of groups*, never a subject id: subjects appear only inside the SQL, as what
is grouped or counted. Suppression of small cells (k) and every ratio are the caller's
(:mod:`bff.insights.aggregates`), so the rule "no cell under k leaves" is applied in one place.

The SQL is the same on SQLite and PostgreSQL except for the day of a timestamp (:func:`_day`) and the text
of a JSON value (SQLite stores it as UTF-8 bytes, PostgreSQL as ``json``; both cast to the JSON text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .times import as_utc

__all__ = [
    "BANNER_METHODS",
    "CHOICE_METHODS",
    "consent_decisions",
    "conversion_cohorts",
    "engagement_visits",
    "experiment_converters",
    "experiment_decisions",
    "experiment_population",
    "reconsents",
    "state_values",
]

CHOICE_METHODS = ("ui", "api")
"""Ledger methods of a choice made in the preference center or through the API (beyond the banner)."""
BANNER_METHODS = ("accept_all", "reject_all")
"""Ledger methods of the banner's two buttons."""


def _sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def _day(connection: Connection, column: str) -> str:
    """``YYYY-MM-DD`` (UTC) of a timestamp column. SQLite stores ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC."""
    if _sqlite(connection):
        return f"substr({column}, 1, 10)"
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


def _json_text(connection: Connection, column: str) -> str:
    return f"CAST({column} AS TEXT)"


def _window(since: datetime | None, until: datetime | None, column: str = "created_at") -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if since is not None:
        clauses.append(f"{column} >= :since")
        params["since"] = as_utc(since)
    if until is not None:
        clauses.append(f"{column} < :until")
        params["until"] = as_utc(until)
    return (" AND " + " AND ".join(clauses)) if clauses else "", params


def _rows(connection: Connection, sql: str, params: dict[str, Any], expanding: Sequence[str] = ()) -> list[tuple]:
    statement = sa.text(sql)
    if expanding:
        statement = statement.bindparams(*(sa.bindparam(name, expanding=True) for name in expanding))
    return [tuple(row) for row in connection.execute(statement, params)]


def consent_decisions(connection: Connection, keys: Sequence[str], since: datetime | None = None,
                      until: datetime | None = None) -> list[tuple[str, str, str, str | None, str | None, int]]:
    """``(key, day, method, old value JSON, new value JSON, events)`` for the ledger events of ``keys``."""
    if not keys:
        return []
    where, params = _window(since, until)
    day = _day(connection, "created_at")
    sql = (f"SELECT key, {day} AS day, method, {_json_text(connection, 'old_value')} AS old, "
           f"{_json_text(connection, 'new_value')} AS new, COUNT(*) FROM consent_event "
           f"WHERE key IN :keys{where} GROUP BY 1, 2, 3, 4, 5")
    return _rows(connection, sql, {**params, "keys": list(keys)}, ("keys",))


def reconsents(connection: Connection, keys: Sequence[str], since: datetime | None = None,
               until: datetime | None = None) -> list[tuple[str, str | None, int]]:
    """``(key, new value JSON, events)`` of decisions made after the wording changed: the subject's previous
    event on the key was recorded under another ``text_hash`` (a decision asked for again)."""
    if not keys:
        return []
    where, params = _window(since, until)
    sql = (f"SELECT key, new, COUNT(*) FROM (SELECT key, method, created_at, "
           f"{_json_text(connection, 'new_value')} AS new, text_hash, "
           "LAG(text_hash) OVER (PARTITION BY subject, key ORDER BY seq) AS previous_hash "
           "FROM consent_event WHERE key IN :keys) decisions "
           f"WHERE previous_hash IS NOT NULL AND previous_hash <> text_hash AND method IN :methods{where} "
           "GROUP BY key, new")
    return _rows(connection, sql, {**params, "keys": list(keys), "methods": [*CHOICE_METHODS, *BANNER_METHODS]},
                 ("keys", "methods"))


def state_values(connection: Connection, key: str) -> list[tuple[str | None, int]]:
    """``(value JSON, subjects)`` of the current stored choices of ``key``."""
    sql = (f"SELECT {_json_text(connection, 'value')} AS chosen, COUNT(*) FROM preference_state "
           "WHERE key = :key GROUP BY 1")
    return _rows(connection, sql, {"key": key})


def engagement_visits(connection: Connection, since: datetime | None = None,
                      until: datetime | None = None) -> list[tuple[int, int, int]]:
    """``(changed beyond the banner 0/1, days with such a change, subjects)`` over every subject who decided
    anything (banner or beyond) in the window."""
    where, params = _window(since, until)
    day = _day(connection, "created_at")
    sql = ("SELECT beyond, days, COUNT(*) FROM (SELECT subject, "
           "MAX(CASE WHEN method IN :choice THEN 1 ELSE 0 END) AS beyond, "
           f"COUNT(DISTINCT CASE WHEN method IN :choice THEN {day} END) AS days "
           f"FROM consent_event WHERE method IN :all{where} GROUP BY subject) visits GROUP BY beyond, days")
    return _rows(connection, sql, {**params, "choice": list(CHOICE_METHODS),
                                   "all": [*CHOICE_METHODS, *BANNER_METHODS]}, ("choice", "all"))


def _cohort_of_subject(connection: Connection) -> str:
    """Per subject with stored state: how many active (non-consent) choices, and whether the conversion
    purpose is explicitly granted (1), refused (0) or undecided (NULL)."""
    return ("SELECT subject, SUM(CASE WHEN key IN :active_keys THEN 1 ELSE 0 END) AS active, "
            f"MAX(CASE WHEN key IN :purpose_keys THEN (CASE WHEN {_json_text(connection, 'value')} = 'true' "
            "THEN 1 ELSE 0 END) END) AS granted FROM preference_state GROUP BY subject")


def conversion_cohorts(connection: Connection, active_keys: Sequence[str], purpose_keys: Sequence[str],
                       purpose_default: bool, since: datetime | None = None, until: datetime | None = None
                       ) -> dict[str, list[tuple]]:
    """Shoppers and orders per cohort (active choices), only for shoppers who allow the conversion purpose:

    * ``population``: ``(active choices, shoppers)``, shoppers who allow the purpose (stored state, or a
      reported order of a shopper prefkit has no state of while the purpose is on by default);
    * ``converters``: ``(active choices, converting shoppers, orders, sum of values, sum of squared values)``
      of the attributed orders in the window whose shopper still allows the purpose;
    * ``unattributed``: ``(orders, sum of values, sum of squares)`` of every other order in the window.
    """
    keys = {"active_keys": list(active_keys) or [""], "purpose_keys": list(purpose_keys) or [""]}
    expanding = ("active_keys", "purpose_keys")
    allowed = "(c.granted = 1 OR (c.granted IS NULL AND :purpose_default = 1))"
    where, params = _window(since, until, "v.occurred_at")
    default = 1 if purpose_default and purpose_keys else 0
    base = {**keys, **params, "purpose_default": default}
    cohorts = _cohort_of_subject(connection)
    population = _rows(connection, f"SELECT c.active, COUNT(*) FROM ({cohorts}) c WHERE {allowed} "
                       "GROUP BY c.active", base, expanding)
    # Converters prefkit has no state of: cohort 0 (no active choices), allowed only by a default that is on.
    stateless = _rows(connection, "SELECT COUNT(DISTINCT v.subject) FROM conversion v WHERE v.subject IS NOT NULL "
                      f"AND :purpose_default = 1{where} AND NOT EXISTS (SELECT 1 FROM preference_state s "
                      "WHERE s.subject = v.subject)", {**params, "purpose_default": default})
    linked = ("SELECT v.subject, v.value, COALESCE(c.active, 0) AS active FROM conversion v LEFT JOIN "
              f"({cohorts}) c ON c.subject = v.subject WHERE v.subject IS NOT NULL{where} AND "
              "(c.granted = 1 OR (c.granted IS NULL AND :purpose_default = 1))")
    converters = _rows(connection, f"SELECT active, COUNT(DISTINCT subject), COUNT(*), SUM(value), "
                       f"SUM(value * value) FROM ({linked}) l GROUP BY active", base, expanding)
    total = _rows(connection, f"SELECT COUNT(*), COALESCE(SUM(value), 0), COALESCE(SUM(value * value), 0) "
                  f"FROM conversion v WHERE 1 = 1{where}", params)[0]
    attributed = (sum(row[2] for row in converters), sum(row[3] or 0 for row in converters),
                  sum(row[4] or 0 for row in converters))
    unattributed = (total[0] - attributed[0], total[1] - attributed[1], total[2] - attributed[2])
    population = [(active, count + (stateless[0][0] if active == 0 else 0)) for active, count in population]
    if stateless[0][0] and not any(active == 0 for active, _ in population):
        population.append((0, stateless[0][0]))
    return {"population": population, "converters": converters, "unattributed": [unattributed]}


def experiment_population(connection: Connection, since: datetime, until: datetime) -> list[str]:
    """Every subject that recorded a decision in the window (the experiment's exposed population: prefkit
    knows of a shopper only once they decided something). Stays inside the server: the caller allocates each
    subject to its arm and keeps only counts."""
    where, params = _window(since, until)
    return [row[0] for row in _rows(connection, f"SELECT DISTINCT subject FROM consent_event WHERE 1 = 1{where}",
                                    params)]


def experiment_decisions(connection: Connection, key: str, since: datetime, until: datetime
                         ) -> list[tuple[str, str, str | None, str]]:
    """``(subject, text_hash, new value JSON, method)`` of each subject's *last* event on ``key`` in the
    window (the decision that stands at the end of the experiment)."""
    where, params = _window(since, until)
    sql = (f"SELECT e.subject, e.text_hash, {_json_text(connection, 'e.new_value')}, e.method FROM consent_event e "
           f"JOIN (SELECT subject, MAX(seq) AS seq FROM consent_event WHERE key = :key AND method IN :methods"
           f"{where} GROUP BY subject) last ON last.subject = e.subject AND last.seq = e.seq")
    return _rows(connection, sql, {**params, "key": key,
                                   "methods": [*CHOICE_METHODS, *BANNER_METHODS]}, ("methods",))


def experiment_converters(connection: Connection, since: datetime, until: datetime) -> list[str]:
    """Subjects with an attributed order in the window (stays inside the server, like the population)."""
    where, params = _window(since, until, "occurred_at")
    return [row[0] for row in _rows(connection, "SELECT DISTINCT subject FROM conversion WHERE subject IS NOT NULL"
                                    f"{where}", params)]
