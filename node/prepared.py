"""Query sets whose SQL is built once and then run with each request's values (issues 12 and 17).

Building a Tortoise query set's SQL (resolving filters, joins and columns through pypika) cost
more node CPU than running it: about half a millisecond per statement, a dozen statements per
page. A read path that runs the same shape of query on every request builds it here once, with
stand-in values, per database connection, shape `key` and number of values, and then
runs the stored SQL with the request's values; the rows are read by Tortoise's own executor and
converters, exactly as the query set would read them.

    rows = await prepared.models(Status, "originals", lambda ids: Status.filter(id__in=ids), ids)
"""

from __future__ import annotations

import itertools
import re
import types
from typing import Any, Callable, Hashable, Sequence

from tortoise.fields import DatetimeField
from tortoise.queryset import QuerySet, ValuesQuery

from node.db import fetch

_MARK = -(1 << 62)  # the stand-ins are negative integers below any id, count or flag of ours


def _marks(sizes: Sequence[int]) -> list[list[int]]:
    out, n = [], 0
    for size in sizes:
        out.append([_MARK - n - i for i in range(size)])
        n += size
    return out


_built: dict[tuple, tuple[str, list, Any]] = {}
# Shapes are kept while they are few and small: a query with many values (a long list of members)
# is built per request, so no client can fill the process's memory with shapes.
_MOST_VALUES = 256
_MOST_SHAPES = 4096


def _prepare(model, key: Hashable, build: Callable[..., Any], groups: Sequence[Sequence[Any]], inline: bool = False):
    """(db, sql, parameters with stand-ins, how to read rows) for `build`'s query with this many
    values in each group; built on first use per kind of database connection."""
    db = model._choose_db()
    sizes = tuple(len(g) for g in groups)
    cache_key = (type(db), db.connection_name, model, key, sizes, inline)
    if (cached := _built.get(cache_key)) is None:
        query = build(*_marks(sizes))
        query._db = db
        query._make_query()
        sql, params = query.query.get_parameterized_sql()
        if inline and on_asyncpg(db):
            sql, params = _constants_inline(sql, params, set(itertools.chain.from_iterable(_marks(sizes))))
        if isinstance(query, ValuesQuery):
            reader: Any = [(alias, convert) for alias, convert in
                           ((a, query.resolve_to_python_value(query.model, f)) for a, f in query._fields_for_select.items())
                           if not isinstance(convert, types.LambdaType)]
        else:
            reader = query._select_related_idx
        cached = (sql, params, reader)
        if sum(sizes) <= _MOST_VALUES and len(_built) < _MOST_SHAPES:
            _built[cache_key] = cached
    return (db, *cached)


_PLACEHOLDER = re.compile(r"\$(\d+)(?!\d)")


def _literal(value: Any) -> str | None:
    """`value` as PostgreSQL SQL text, for the types a shape's constants have; None: keep it a parameter."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and "\x00" not in value and "\\" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def _constants_inline(sql: str, params: list, marks: set[int]) -> tuple[str, list]:
    """PostgreSQL: the shape's constants (a visibility, a flag, the page's LIMIT) written into the SQL,
    and each stand-in one parameter however often the query uses it. With only the request's values
    left as parameters PostgreSQL keeps one generic plan for the statement and stops planning it
    on every call: a page's statement with its visibility subqueries took 0.7 ms to plan and 0.1 to run;
    with `LIMIT $n` and `visibility = $n` left unknown, the generic plan it would pick read the
    table (7 ms). Only for statements measured at scale (`models(inline=True)`): one whose best
    plan depends on its values (an account's page: one author among a million statuses, deep in
    its history) ran 37 ms on the generic plan PostgreSQL then chose."""
    if len(set(_PLACEHOLDER.findall(sql))) != len(params):
        return sql, params  # not the placeholders we know: leave it as it is
    numbered: dict[int, int] = {}
    kept: list = []

    def replace(match: re.Match) -> str:
        value = params[int(match.group(1)) - 1]
        if isinstance(value, int) and not isinstance(value, bool) and value in marks:
            if value not in numbered:
                kept.append(value)
                numbered[value] = len(kept)
            return f"${numbered[value]}"
        literal = _literal(value)
        if literal is None:
            kept.append(value)
            return f"${len(kept)}"
        return literal

    return _PLACEHOLDER.sub(replace, sql), kept


def _values(params: list, groups: Sequence[Sequence[Any]]) -> list:
    given = {m: v for marks, group in zip(_marks([len(g) for g in groups]), groups) for m, v in zip(marks, group)}
    return [given.get(p, p) if isinstance(p, int) else p for p in params]


async def models(model, key: Hashable, build: Callable[..., QuerySet], *groups: Sequence[Any],
                 inline: bool = False) -> list:
    """`await build(*groups)`: the `model` rows it reads, its SQL built once per shape. `build` must
    use each of its arguments only as values (`id__in=ids`, `account_id=me[0]`), never to decide
    the query's shape: that is what `key` says. `inline`: the shape's constants written into the
    SQL on PostgreSQL, for a statement measured to run well on one generic plan (`_constants_inline`)."""
    db, sql, params, related = _prepare(model, key, build, groups, inline)
    return await read(db, model, related, sql, _values(params, groups))


async def read(db, model, related: list, sql: str, values: list) -> list:
    """The `model` instances a built query set's SQL reads (`related`: its `_select_related_idx`),
    as Tortoise's executor would make them; on PostgreSQL straight from asyncpg's records."""
    if not on_asyncpg(db):
        return await db.executor_class(model=model, db=db, select_related_idx=related).execute_select(sql, values)
    records = await fetch(db, sql, values)
    if not records:
        return []
    keys = tuple(records[0].keys())
    if (plan := _plans.get((model, keys))) is None:
        plan = _plans.setdefault((model, keys), _plan(related, keys))
    out = []
    if len(plan.parts) == 1 and not plan.convert:  # one model, nothing to convert: most look-ups
        kind, _, _, names, _, _, custom_pk = plan.parts[0]
        for record in records:
            instance = kind.__new__(kind)
            instance.__dict__.update(zip(names, record.values()), _partial=False, _saved_in_db=True,
                                     _custom_generated_pk=custom_pk, _await_when_save={})
            out.append(instance)
        return out
    for record in records:
        values = list(record.values())
        for i, field in plan.convert:
            if values[i] is not None:
                values[i] = field.to_python_value(values[i])
        made: dict[tuple, Any] = {}  # by path, as Tortoise's executor
        for part, (kind, start, end, names, parent, attr, custom_pk) in enumerate(plan.parts):
            if part and not any(values[start:end]):  # a relation that is not there (Tortoise's test)
                instance = None
            else:
                instance = kind.__new__(kind)
                instance.__dict__.update(zip(names, values[start:end]), _partial=False, _saved_in_db=True,
                                         _custom_generated_pk=custom_pk, _await_when_save={})
            if part:
                if (owner := made.get(parent)) is not None:
                    owner.__dict__[f"_{attr}"] = instance
                if instance is not None:
                    made[(*parent, attr)] = instance
            else:
                made[parent] = instance  # the query's own model, at its path
                out.append(instance)
    return out


def instances(db, model, columns: Sequence[str], rows: list[Sequence[Any]]) -> list:
    """`model` instances from rows of a hand-written statement holding all of its `columns` (in
    that order), as Tortoise's executor would make them; on PostgreSQL as `read` makes them."""
    if not on_asyncpg(db):
        return [model._init_from_db(**dict(zip(columns, row))) for row in rows]
    if (plan := _plans.get((model, tuple(columns)))) is None:
        plan = _plans.setdefault((model, tuple(columns)), _plan([(model, len(columns), None, model, (None,))],
                                                                 tuple(columns)))
    kind, _, _, names, _, _, custom_pk = plan.parts[0]
    out = []
    for row in rows:
        values = list(row)
        for i, field in plan.convert:
            if values[i] is not None:
                values[i] = field.to_python_value(values[i])
        instance = kind.__new__(kind)
        instance.__dict__.update(zip(names, values), _partial=False, _saved_in_db=True,
                                 _custom_generated_pk=custom_pk, _await_when_save={})
        out.append(instance)
    return out


def on_asyncpg(db) -> bool:
    return type(db).__module__.startswith("tortoise.backends.asyncpg")


class Values:
    """The values of a hand-written statement whose lists of ids vary in length (a page's look-ups).
    On PostgreSQL each is a parameter (`= ANY($1::bigint[])`), so one SQL text serves every page
    and stays prepared on the connection; on SQLite, which compiles each call's SQL anyway, they
    are written into it (integers of ours only).

        q = Values(db); sql = f"SELECT … WHERE status_id {q.among('s', ids)} AND account_id = {q.one('me', me)}"
        await db.execute_query(sql, q.values)
    """

    def __init__(self, db) -> None:
        self.pg = on_asyncpg(db)
        self.values: list[Any] = []
        self._named: dict[str, str] = {}

    def among(self, name: str, ids: Sequence[int]) -> str:
        """`= ANY($n::bigint[])` or `IN (…)`: the column is one of `ids` (none when empty)."""
        if not self.pg:
            return f"IN ({','.join(str(int(i)) for i in ids) or 'NULL'})"
        return f"= ANY({self._param(name, [int(i) for i in ids])}::bigint[])"

    def one(self, name: str, value: int) -> str:
        return self._param(name, int(value)) if self.pg else str(int(value))

    def _param(self, name: str, value: Any) -> str:
        if name not in self._named:
            self.values.append(value)
            self._named[name] = f"${len(self.values)}"
        return self._named[name]


class _Plan:
    """How one query's records become instances: per model of the row (the query's and each
    select_related one), its columns' slice, their attribute names, and where it hangs; and
    the columns asyncpg does not already give in their Python type (JSON; not datetimes)."""

    def __init__(self) -> None:
        self.parts: list[tuple] = []
        self.convert: list[tuple[int, Any]] = []


_plans: dict[tuple, _Plan] = {}


def _plan(related: list, keys: tuple) -> _Plan:
    plan, start = _Plan(), 0
    for n, (kind, count, *_, path) in enumerate(related):
        end = start + count if n else related[0][1]
        meta = kind._meta
        by_column = {column: (name, field) for column, name, field in
                     (*meta.db_native_fields, *meta.db_default_fields, *meta.db_complex_fields)}
        complex_columns = {column for column, _, _ in meta.db_complex_fields}
        names = []
        for i in range(start, end):
            column = keys[i].split(".", 1)[1] if n else keys[i]
            name, field = by_column[column]
            names.append(name)
            if column in complex_columns and not isinstance(field, DatetimeField):
                plan.convert.append((i, field))
        custom_pk = meta.db_pk_column not in meta.generated_db_fields
        plan.parts.append((kind, start, end, names, tuple(path[:-1]), path[-1], custom_pk) if n else
                          (kind, start, end, names, tuple(path), None, custom_pk))
        start = end
    return plan


async def values(model, key: Hashable, build: Callable[..., ValuesQuery], *groups: Sequence[Any]) -> list[dict]:
    """`await build(*groups)` for a `.values(...)` query of `model`: its rows as dicts, converted as
    Tortoise converts them."""
    db, sql, params, columns = _prepare(model, key, build, groups)
    rows = await db.execute_query_dict(sql, _values(params, groups))
    for row in rows:
        for column, convert in columns:
            row[column] = convert(row[column])
    return rows
