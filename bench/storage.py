"""Bytes per closed event (issue #17: aim ≤ 6 KB): N events walk Figure 1's main path through engine/
(bench/lifecycle.py `persisted`: report, start, 核实 → 研判 → 吹哨 → 签收受理 → 处置反馈 → 核查, closed), on
SQLite and on PostgreSQL; printed: the database's growth over the deployed empty one, divided by N, and
which tables (with their indexes), which indexes and which columns take the bytes. The live inbox's feed
(`live_feed`, issue #18) is a ring of its newest rows, pruned by the worker: printed apart, with the most it
can hold.

    python -m bench.storage [--n 2000] [--databases sqlite,postgresql] [--pg-url postgresql+psycopg://…/test]

SQLite: the file after VACUUM, tables and indexes by the dbstat virtual table. PostgreSQL: a database of
its own (created and dropped); the live rows of each table with its indexes and TOAST (a copy measured by
pg_total_relation_size: what VACUUM FULL would leave). Columns: length() on SQLite, pg_column_size (after
compression) on PostgreSQL.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
from datetime import timedelta
from contextlib import closing
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.lifecycle import persisted
from bench.setup import deployed
from engine.notices import live
from engine.oversight import rollups
from engine.store import uow
from engine.store.models import Base

#: tables that are a ring of their newest rows, pruned by `eventflow worker` (engine/jobs.py): their size is
#: bounded, not a cost of each closed event, so they are printed apart
RINGS = {"live_feed": live.KEEP}
#: the simulated clock moves this much before each of a walk's ten actions: one event's walk takes 100 s,
#: a thousand events a little over a day (about Longgang's rate, ~1,400 a day), and no two rows share a time
#: as they would on a frozen clock (PostgreSQL's B-tree deduplication folds equal keys: a frozen clock made
#: the audit's (action, at) index look 6× smaller than it is)
STEP = timedelta(seconds=10)


def _sqlite_sizes(db) -> tuple[int, dict, dict]:
    """(file bytes, {table: bytes of it and its indexes}, {index: (its table, its bytes)}), read with sqlite3
    itself (the engine's connections begin a transaction at once, and VACUUM runs outside one)."""
    with closing(sqlite3.connect(db.url.database, isolation_level=None)) as conn:
        conn.execute("VACUUM")
        total = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
        objects = {name: (kind, table) for kind, name, table in
                   conn.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('table','index')")}
        by_table: dict[str, int] = {}
        by_index: dict[str, tuple] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            kind, table = objects.get(name, ("table", name))
            by_table[table] = by_table.get(table, 0) + size
            if kind == "index":
                by_index[name] = (table, size)
    return total, by_table, by_index


#: a table's indexes, as `pg_get_indexdef` writes them (name, its CREATE INDEX statement)
_INDEXES = ("SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = 'public' AND t.relname = %(table)s")


def _pg_sizes(db) -> tuple[int, dict, dict]:
    """As the SQLite sizes, of the live rows only: each table is copied into a schema of its own, its indexes
    made there first under their own names, then its rows inserted in their order (the indexes filled row by
    row, as the app fills them), and measured there (pg_total_relation_size: heap, TOAST, indexes;
    pg_relation_size of each index). A VACUUM FULL would do as much only if no transaction anywhere on the
    server were older than the bench's own deletes (another database's idle transaction holds back what it
    may remove)."""
    with db.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        tables = conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars().all()
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS measured CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA measured")
        by_table, by_index = {}, {}
        for table in tables:
            indexes = conn.exec_driver_sql(_INDEXES, {"table": table}).all()
            conn.exec_driver_sql(f'CREATE TABLE measured."{table}" (LIKE public."{table}" INCLUDING ALL EXCLUDING INDEXES)')
            for _name, made in indexes:       # "CREATE … INDEX name ON public.t …": the same name, in measured
                conn.exec_driver_sql(made.replace(" ON public.", " ON measured.", 1))
            conn.exec_driver_sql(f'INSERT INTO measured."{table}" SELECT * FROM public."{table}"')
            by_table[table] = conn.exec_driver_sql(f"SELECT pg_total_relation_size('measured.\"{table}\"')").scalar()
            for name, _made in indexes:
                by_index[name] = (table, conn.exec_driver_sql(f"SELECT pg_relation_size('measured.\"{name}\"')")
                                  .scalar())
        conn.exec_driver_sql("DROP SCHEMA measured CASCADE")
    return sum(by_table.values()), by_table, by_index


def _columns(db, tables) -> dict:
    """{(table, column): bytes the column's values take} over the given tables."""
    sizer = "length(CAST({c} AS BLOB))" if db.dialect.name == "sqlite" else "pg_column_size({c})"
    found = {}
    with db.connect() as conn:
        for table in tables:
            if table not in Base.metadata.tables:
                continue
            for column in Base.metadata.tables[table].columns:
                quoted = f'"{column.name}"'
                found[(table, column.name)] = conn.execute(text(
                    f'SELECT coalesce(sum({sizer.format(c=quoted)}), 0) FROM "{table}"')).scalar() or 0
    return found


def measure(url: str, n: int) -> dict:
    db, factory, env, _ = deployed(url)
    sizes = _sqlite_sizes if db.dialect.name == "sqlite" else _pg_sizes
    total0, tables0, indexes0 = sizes(db)
    columns0 = _columns(db, tables0)
    persisted(factory, env, n, STEP)
    uow.run(factory, rollups.refresh)   # what `eventflow worker` does every EVENTFLOW_ROLLUP_INTERVAL_S
    total1, tables1, indexes1 = sizes(db)
    columns1 = _columns(db, tables1)
    with db.connect() as conn:
        rings = {table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() for table in RINGS}
    db.dispose()
    grown = {t: tables1[t] - tables0.get(t, 0) for t in tables1}
    return {"total": (total1 - total0 - sum(grown[t] for t in RINGS)) / n,
            "tables": {t: size / n for t, size in grown.items() if t not in RINGS},
            "rings": {t: (grown[t], rows) for t, rows in rings.items()},
            "indexes": {i: (size - indexes0.get(i, (table, 0))[1]) / n for i, (table, size) in indexes1.items()
                        if table not in RINGS},
            "columns": {c: (columns1[c] - columns0.get(c, 0)) / n for c in columns1 if c[0] not in RINGS}}


def report(name: str, n: int, found: dict) -> None:
    print(f"\n{name}: {n} closed events, {found['total'] / 1024:.1f} KB per closed event (aim <= 6 KB)")
    print(f"  {'table (with its indexes)':<28}{'bytes/event':>12}")
    for table, size in sorted(found["tables"].items(), key=lambda kv: -kv[1]):
        if size >= 16:
            print(f"  {table:<28}{size:>12,.0f}")
    for table, (size, rows) in found["rings"].items():
        most = RINGS[table] * size / max(rows, 1)
        print(f"  not per event: {table}, the newest {RINGS[table]:,} rows kept ({rows:,} now, "
              f"{size / max(rows, 1):,.0f} bytes each: at most {most / 2**20:.1f} MB, whatever the year's size)")
    print(f"  {'largest indexes':<40}{'bytes/event':>12}")
    for index, size in sorted(found["indexes"].items(), key=lambda kv: -kv[1])[:10]:
        if size >= 16:
            print(f"  {index:<40}{size:>12,.0f}")
    print(f"  {'largest columns (values only)':<40}{'bytes/event':>12}")
    for (table, column), size in sorted(found["columns"].items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {table + '.' + column:<40}{size:>12,.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="closed events (fewer: the first page of each of the "
                        "forty-odd indexes, 8 KB on PostgreSQL, weighs on each event: 500 read 0.7 KB more)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("EVENTFLOW_TEST_PG_URL",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()

    if "sqlite" in args.databases:
        with tempfile.TemporaryDirectory() as tmp:
            report("SQLite", args.n, measure(f"sqlite:///{Path(tmp) / 'storage.sqlite3'}", args.n))
    if "postgresql" not in args.databases:
        return
    admin_url = make_url(args.pg_url)
    name = f"eventflow_bench_storage_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        report("PostgreSQL", args.n, measure(admin_url.set(database=name).render_as_string(hide_password=False),
                                             args.n))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
