"""The database resource against sqlite (embedded) and a real PostgreSQL on loopback."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from svcgen_runtime import ConfigurationError, MissingExtraError, SvcgenRuntimeError
from svcgen_runtime.resources import (
    Database,
    DatabaseError,
    DatabaseTimeoutError,
    IntegrityError,
    PostgresDatabase,
    SqliteDatabase,
)
from svcgen_runtime.types import Resource
from tests.contract.harness import unique

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _table() -> str:
    return unique("svcgen_test").replace("-", "_")


@dataclass
class Setup:
    db: Database
    table: str
    p: Callable[[int], str]
    """The n-th (1-based) placeholder in this database's dialect."""
    kind: str


def _sqlite_p(n: int) -> str:
    return "?"


def _pg_p(n: int) -> str:
    return f"${n}"


@pytest.fixture(params=["sqlite", "postgres"], name="s")
async def setup(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Setup]:
    table = _table()
    db: Database
    if request.param == "sqlite":
        db = SqliteDatabase(name="db", path=tmp_path / "data" / "app.db")
        p = _sqlite_p
    else:
        db = PostgresDatabase(name="db", url=PG_URL, max_size=4)
        p = _pg_p
    await db.open()
    await db.execute(
        f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty INTEGER)"
    )
    try:
        yield Setup(db, table, p, request.param)
    finally:
        await db.execute(f"DROP TABLE IF EXISTS {table}")
        await db.close()


async def _insert(s: Setup, id: int, name: str, qty: int | None = 0) -> int:
    return await s.db.execute(
        f"INSERT INTO {s.table} (id, name, qty) VALUES ({s.p(1)}, {s.p(2)}, {s.p(3)})",
        id,
        name,
        qty,
    )


async def _names(s: Setup) -> list[str]:
    rows = await s.db.query(f"SELECT name FROM {s.table} ORDER BY id")
    return [r["name"] for r in rows]


async def test_execute_counts_rows_and_query_returns_read_only_mappings(
    s: Setup,
) -> None:
    assert await _insert(s, 1, "a", 5) == 1
    assert await _insert(s, 2, "b", 7) == 1
    assert await _insert(s, 3, "c", None) == 1
    t, p = s.table, s.p
    assert (
        await s.db.execute(f"UPDATE {t} SET qty = qty + 1 WHERE qty > {p(1)}", 0) == 2
    )
    rows = await s.db.query(
        f"SELECT id, name, qty FROM {t} WHERE id <= {p(1)} ORDER BY id", 2
    )
    assert [dict(r) for r in rows] == [
        {"id": 1, "name": "a", "qty": 6},
        {"id": 2, "name": "b", "qty": 8},
    ]
    with pytest.raises(TypeError):
        rows[0]["qty"] = 0  # type: ignore[index]
    one = await s.db.query_one(f"SELECT name, qty FROM {t} WHERE id = {p(1)}", 3)
    assert one is not None and one["name"] == "c" and one["qty"] is None
    assert await s.db.query_one(f"SELECT name FROM {t} WHERE id = {p(1)}", 99) is None
    assert await s.db.query(f"SELECT name FROM {t} WHERE id = {p(1)}", 99) == []
    assert await s.db.execute(f"DELETE FROM {t} WHERE id > {p(1)}", 1) == 2
    assert await s.db.execute(f"DELETE FROM {t} WHERE id > {p(1)}", 1) == 0


async def test_values_are_bound_never_spliced_into_the_sql(s: Setup) -> None:
    evil = f"x'); DROP TABLE {s.table}; --"
    await _insert(s, 1, evil)
    assert await _names(s) == [evil]


async def test_a_second_statement_in_one_call_is_refused(s: Setup) -> None:
    with pytest.raises(DatabaseError):
        await s.db.execute(f"DELETE FROM {s.table}; DROP TABLE {s.table}")
    await _insert(s, 1, "still here")
    assert await _names(s) == ["still here"]


async def test_sql_must_be_a_str(s: Setup) -> None:
    with pytest.raises(DatabaseError, match="takes the SQL text as a str"):
        await s.db.query(b"SELECT 1")  # type: ignore[arg-type]
    with pytest.raises(DatabaseError, match="empty SQL"):
        await s.db.execute("  ")


async def test_transaction_commits_when_the_block_ends(s: Setup) -> None:
    async with s.db.transaction() as tx:
        await tx.execute(
            f"INSERT INTO {s.table} (id, name) VALUES ({s.p(1)}, {s.p(2)})", 1, "a"
        )
        row = await tx.query_one(f"SELECT count(*) AS n FROM {s.table}")
        assert row is not None and row["n"] == 1
        assert len(await tx.query(f"SELECT id FROM {s.table}")) == 1
    assert await _names(s) == ["a"]


async def test_transaction_rolls_back_on_exception_and_reraises_it(s: Setup) -> None:
    await _insert(s, 1, "before")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with s.db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO {s.table} (id, name) VALUES ({s.p(1)}, {s.p(2)})", 2, "b"
            )
            await tx.execute(
                f"UPDATE {s.table} SET name = {s.p(1)} WHERE id = 1", "changed"
            )
            raise Boom()
    assert await _names(s) == ["before"]


async def test_transaction_rolls_back_when_cancelled(s: Setup) -> None:
    inside = asyncio.Event()

    async def work() -> None:
        async with s.db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO {s.table} (id, name) VALUES ({s.p(1)}, {s.p(2)})", 1, "a"
            )
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(work())
    await asyncio.wait_for(inside.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _names(s) == []
    await _insert(s, 2, "after")
    assert await _names(s) == ["after"]


async def test_a_failed_statement_inside_a_transaction_rolls_it_all_back(
    s: Setup,
) -> None:
    with pytest.raises(IntegrityError):
        async with s.db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO {s.table} (id, name) VALUES ({s.p(1)}, {s.p(2)})", 1, "a"
            )
            await tx.execute(
                f"INSERT INTO {s.table} (id, name) VALUES ({s.p(1)}, {s.p(2)})", 2, "a"
            )
    assert await _names(s) == []


async def test_the_transaction_object_is_dead_after_the_block(s: Setup) -> None:
    async with s.db.transaction() as tx:
        pass
    with pytest.raises(DatabaseError, match="the transaction has ended"):
        await tx.query("SELECT 1")


async def test_constraint_violation_is_an_integrity_error_and_the_db_stays_usable(
    s: Setup,
) -> None:
    await _insert(s, 1, "a")
    with pytest.raises(IntegrityError) as e:
        await _insert(s, 2, "a")
    assert isinstance(e.value, SvcgenRuntimeError)
    assert e.value.__cause__ is not None
    await _insert(s, 2, "b")
    assert await _names(s) == ["a", "b"]


async def test_bad_sql_is_a_database_error(s: Setup) -> None:
    with pytest.raises(DatabaseError, match="'db'"):
        await s.db.query(f"SELEC name FROM {s.table}")
    with pytest.raises(DatabaseError):
        await s.db.query(f"SELECT name FROM {s.table} WHERE id = {s.p(1)}")


async def test_duplicate_column_names_are_refused(s: Setup) -> None:
    await _insert(s, 1, "a")
    with pytest.raises(DatabaseError, match=r"several columns named 'id'.*AS"):
        await s.db.query(f"SELECT id, id FROM {s.table}")
    row = await s.db.query_one(f"SELECT id, id AS id2 FROM {s.table}")
    assert row == {"id": 1, "id2": 1}


async def test_concurrent_statements_and_transactions_all_land(s: Setup) -> None:
    async def one(i: int) -> None:
        if i % 2:
            await _insert(s, i, f"n{i}")
        else:
            async with s.db.transaction() as tx:
                await tx.execute(
                    f"INSERT INTO {s.table} (id, name) VALUES ({s.p(1)}, {s.p(2)})",
                    i,
                    f"n{i}",
                )

    await asyncio.gather(*(one(i) for i in range(40)))
    row = await s.db.query_one(f"SELECT count(*) AS n FROM {s.table}")
    assert row is not None and row["n"] == 40


@pytest.mark.parametrize(
    "make",
    [
        lambda: SqliteDatabase(name="d", path=":memory:"),
        lambda: PostgresDatabase(name="d", url=PG_URL),
    ],
)
async def test_use_before_open_and_after_close_is_a_clear_error(
    make: Callable[[], Database],
) -> None:
    db = make()
    assert isinstance(db, Database)
    assert isinstance(db, Resource)
    with pytest.raises(DatabaseError, match=r"'d' is not open: .*await db.open\(\)"):
        await db.query("SELECT 1")
    await db.close()  # closing what never opened is harmless (failed start-up)
    await db.open()
    await db.open()
    row = await db.query_one("SELECT 1 AS one")
    assert row == {"one": 1}
    await db.close()
    await db.close()
    with pytest.raises(DatabaseError, match="is not open"):
        await db.execute("SELECT 1")
    with pytest.raises(DatabaseError, match="is not open"):
        async with db.transaction():
            pass


# -- sqlite ---------------------------------------------------------------------


async def test_sqlite_calling_the_db_inside_its_own_transaction_raises_instead_of_hanging(
    tmp_path: Path,
) -> None:
    db = SqliteDatabase(name="d", path=tmp_path / "x.db")
    await db.open()
    try:
        await db.execute("CREATE TABLE t (n INTEGER)")
        with pytest.raises(DatabaseError, match="inside its own transaction"):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t VALUES (1)")
                await db.execute("INSERT INTO t VALUES (2)")
        assert await db.query("SELECT n FROM t") == []
    finally:
        await db.close()


async def test_sqlite_tasks_started_in_a_transaction_may_use_the_db_after_it(
    tmp_path: Path,
) -> None:
    db = SqliteDatabase(name="d", path=tmp_path / "x.db")
    await db.open()
    try:
        await db.execute("CREATE TABLE t (n INTEGER)")
        go = asyncio.Event()

        async def later() -> int:
            await go.wait()
            return await db.execute("INSERT INTO t VALUES (?)", 2)

        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t VALUES (?)", 1)
            task = asyncio.create_task(later())  # inherits the context
            with pytest.raises(DatabaseError, match="inside its own transaction"):
                await asyncio.gather(db.execute("INSERT INTO t VALUES (3)"))
        go.set()
        assert await asyncio.wait_for(task, 10) == 1
        rows = await db.query("SELECT n FROM t ORDER BY n")
        assert [r["n"] for r in rows] == [1, 2]
    finally:
        await db.close()


async def test_sqlite_transactions_are_serialized(tmp_path: Path) -> None:
    # Read-modify-write in transactions from many tasks loses no update.
    db = SqliteDatabase(name="d", path=tmp_path / "x.db")
    await db.open()
    try:
        await db.execute("CREATE TABLE c (n INTEGER)")
        await db.execute("INSERT INTO c VALUES (0)")

        async def bump() -> None:
            for _ in range(10):
                async with db.transaction() as tx:
                    row = await tx.query_one("SELECT n FROM c")
                    assert row is not None
                    await asyncio.sleep(0)
                    await tx.execute("UPDATE c SET n = ?", row["n"] + 1)

        await asyncio.gather(*(bump() for _ in range(10)))
        assert await db.query_one("SELECT n FROM c") == {"n": 100}
    finally:
        await db.close()


async def test_sqlite_file_persists_and_foreign_keys_are_enforced(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nested" / "dir" / "app.db"
    db = SqliteDatabase(name="d", path=path)
    await db.open()
    await db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    await db.execute("CREATE TABLE child (pid INTEGER REFERENCES parent(id))")
    await db.execute("INSERT INTO parent VALUES (?)", 1)
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        await db.execute("INSERT INTO child VALUES (?)", 2)
    await db.close()
    assert path.is_file()
    again = SqliteDatabase(name="d", path=path)
    await again.open()
    try:
        assert await again.query("SELECT id FROM parent") == [{"id": 1}]
    finally:
        await again.close()


async def test_sqlite_unopenable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    db = SqliteDatabase(name="d", path=blocker / "app.db")
    with pytest.raises(DatabaseError, match="cannot open the sqlite file"):
        await db.open()


# -- postgres -------------------------------------------------------------------


async def test_postgres_pool_never_exceeds_max_size() -> None:
    db = PostgresDatabase(name="d", url=PG_URL, min_size=0, max_size=2)
    await db.open()
    try:
        started = time.monotonic()
        rows = await asyncio.gather(
            *(
                db.query_one("SELECT pg_backend_pid() AS pid, pg_sleep(0.4)::text AS s")
                for _ in range(3)
            )
        )
        took = time.monotonic() - started
        pids = {r["pid"] for r in rows if r is not None}
        assert len(pids) <= 2
        assert took >= 0.75, took  # the third waited for a free connection
        assert took < 5
    finally:
        await db.close()


async def test_postgres_transaction_holds_one_connection_for_the_block() -> None:
    db = PostgresDatabase(name="d", url=PG_URL, max_size=3)
    await db.open()
    try:
        async with db.transaction() as tx:
            first = await tx.query_one("SELECT pg_backend_pid() AS pid")
            second = await tx.query_one("SELECT pg_backend_pid() AS pid")
            assert first == second
            status = await tx.query_one("SELECT now() = statement_timestamp() AS same")
            assert status == {"same": False}  # now() is the transaction's start
    finally:
        await db.close()


async def test_postgres_command_timeout_raises_a_clear_error() -> None:
    db = PostgresDatabase(name="d", url=PG_URL, max_size=1, command_timeout=0.3)
    await db.open()
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseTimeoutError, match=r"command_timeout=0\.3s") as e:
            await db.query("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 3
        assert isinstance(e.value, TimeoutError)
        assert isinstance(e.value, DatabaseError)
        assert await db.query_one("SELECT 2 AS n") == {"n": 2}  # pool recovered
    finally:
        await db.close()


async def test_postgres_acquire_timeout_bounds_the_wait_for_a_free_connection() -> None:
    db = PostgresDatabase(name="d", url=PG_URL, max_size=1, acquire_timeout=0.3)
    await db.open()
    try:
        async with db.transaction():  # holds the only connection
            started = time.monotonic()
            with pytest.raises(DatabaseTimeoutError, match=r"acquire_timeout=0\.3s"):
                await db.query("SELECT 1 AS n")
            assert 0.3 <= time.monotonic() - started < 2
        assert await db.query_one("SELECT 2 AS n") == {"n": 2}  # free again
    finally:
        await db.close()
    with pytest.raises(ConfigurationError, match="acquire_timeout"):
        PostgresDatabase(name="d", url=PG_URL, acquire_timeout=0)


async def test_postgres_connect_timeout_raises_a_clear_error() -> None:
    # A socket that completes the TCP handshake (the kernel's backlog) and never
    # answers: connecting hangs until connect_timeout.
    with socket.create_server(("127.0.0.1", 0), backlog=8) as silent:
        port = silent.getsockname()[1]
        db = PostgresDatabase(
            name="d", url=f"postgresql://u:pw@127.0.0.1:{port}/x", connect_timeout=0.3
        )
        started = time.monotonic()
        with pytest.raises(DatabaseTimeoutError, match=r"connect_timeout=0\.3s") as e:
            await db.open()
        assert time.monotonic() - started < 3
        assert "pw" not in str(e.value)


async def test_postgres_unreachable_or_bad_database_fails_at_open() -> None:
    db = PostgresDatabase(name="d", url="postgresql://postgres@127.0.0.1:1/test")
    with pytest.raises(DatabaseError, match="cannot connect to postgresql://postgres@"):
        await db.open()
    missing = PostgresDatabase(
        name="d", url=f"postgresql://postgres@127.0.0.1:5432/{_table()}"
    )
    with pytest.raises(DatabaseError, match="does not exist"):
        await missing.open()


async def test_postgres_failed_commit_is_an_integrity_error_and_the_pool_recovers() -> (
    None
):
    table = _table()
    db = PostgresDatabase(name="d", url=PG_URL, max_size=1)
    await db.open()
    try:
        await db.execute(
            f"CREATE TABLE {table} (k INTEGER, "
            "UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)"
        )
        with pytest.raises(IntegrityError):
            async with db.transaction() as tx:
                await tx.execute(f"INSERT INTO {table} VALUES ($1)", 1)
                await tx.execute(f"INSERT INTO {table} VALUES ($1)", 1)
        assert await db.query(f"SELECT k FROM {table}") == []
        assert await db.execute(f"INSERT INTO {table} VALUES ($1)", 2) == 1
    finally:
        await db.execute(f"DROP TABLE IF EXISTS {table}")
        await db.close()


def test_postgres_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="min_size <= max_size"):
        PostgresDatabase(name="d", url=PG_URL, min_size=5, max_size=2)
    with pytest.raises(ConfigurationError, match="command_timeout must be positive"):
        PostgresDatabase(name="d", url=PG_URL, command_timeout=0)
    with pytest.raises(ConfigurationError, match="needs a url"):
        PostgresDatabase(name="d", url="")


def test_postgres_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(
        MissingExtraError, match=r"pip install 'svcgen-runtime\[postgres\]'"
    ):
        PostgresDatabase(name="d", url=PG_URL)
