"""The database engine: pool settings and the SQLite pragmas the portal relies on."""

from __future__ import annotations

import select as io_select
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Engine,
    Result,
    ScalarSelect,
    Select,
    String,
    any_,
    create_engine,
    event,
    func,
    literal,
    select,
)
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import InstrumentedAttribute, Session


def one_of(
    session: Session, column: ColumnElement[str] | InstrumentedAttribute[str], values: Sequence[str]
) -> ColumnElement[bool]:
    """``column IN values`` for a batch of ids (which hold no comma).

    On PostgreSQL the ids go as one text parameter that the server splits (``= ANY(string_to_array(:ids,
    ','))``): an IN list binds one parameter per id, and psycopg and the compiler spent more time on a thousand
    placeholders than the database spent answering; an array parameter has psycopg test every element for
    quoting (a tenth of a large export). A plain IN on SQLite, which has neither."""
    if session.get_bind().dialect.name == "postgresql":
        joined = ",".join(values)
        if joined.count(",") != max(len(values) - 1, 0):
            raise ValueError("one_of takes ids, and an id here holds a comma")
        return column == any_(func.string_to_array(literal(joined, String), ","))
    return column.in_(values)


def count_to(rows: Select[Any], cap: int) -> ScalarSelect[int]:
    """How many rows ``rows`` gives, reading at most ``cap + 1`` of them: a count whose work is bounded whatever
    the size of the table (portal.domain.counting). A scalar subquery, so one statement can take several."""
    return select(func.count()).select_from(rows.limit(cap + 1).subquery()).scalar_subquery()


def make_engine(url: str) -> Engine:
    """Create an engine with the pragmas and pool settings the portal relies on."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if engine.dialect.name == "postgresql":
        # Survive a database restart: a dead pooled connection is replaced, not handed to a request.
        event.listen(engine, "checkin", _note_return)
        event.listen(engine, "checkout", _alive_or_replaced(engine))
    return engine


# A connection back in the pool for longer than this is pinged with a query before it is used again; a fresher one
# is checked by looking at its socket (``_alive_or_replaced``).
PING_AFTER_IDLE_SECONDS = 30.0


def _note_return(_dbapi_connection: Any, record: Any) -> None:
    record.info["returned_at"] = time.monotonic()


def _alive_or_replaced(engine: Engine) -> Callable[[Any, Any, Any], None]:
    """A pool checkout hook: raise DisconnectionError for a pooled connection the server has ended, and the pool
    replaces it with a new one before the request sees it.

    A restart (``pg_ctl restart``, a failover, ``pg_terminate_backend``) ends every backend, and each sends its
    client a FATAL message and closes the socket: an idle connection whose socket has something to read, or that
    libpq already knows is broken, is dead. Looking costs one ``select()`` with no wait, where SQLAlchemy's
    ``pool_pre_ping`` sent ``SELECT 1`` to the server on every checkout (a round trip and a statement for the
    server, about a twentieth of a busy worker's time; issue 11). A connection idle for a while is still pinged
    with a query, for the failures that send nothing (a firewall that forgot the connection)."""

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None:
            return  # just connected (the record's info is cleared with the connection it held)
        idle = time.monotonic() - returned_at
        try:
            if dbapi_connection.closed or dbapi_connection.broken:
                raise DisconnectionError("the connection is closed")
            if idle > PING_AFTER_IDLE_SECONDS:
                engine.dialect.do_ping(dbapi_connection)
            elif io_select.select([dbapi_connection.pgconn.socket], [], [], 0)[0]:
                raise DisconnectionError("the server ended the connection")
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("the connection did not answer a ping") from error

    return check


def rows_matched(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE run through Session.execute matched. Session.execute is typed to return a
    Result for any statement; for these it returns the CursorResult that carries rowcount."""
    return cast("CursorResult[Any]", result).rowcount


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the mail worker and the web process read while the other writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Overwrite deleted content (drafts, sessions) instead of leaving it in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def begin_write(session: Session) -> None:
    """Take SQLite's write lock before reading (pysqlite would open the transaction only at the first write,
    so the batch's reads could go stale). PostgreSQL uses the row locks taken by each query instead."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        driver = connection.connection.driver_connection
        if driver is not None and not driver.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _transient(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    if code in {"40P01", "40001", "55P03"}:  # deadlock, serialisation failure, lock not available
        return True
    return "database is locked" in str(exc.orig)


def with_retries(run: Callable[[], Any], attempts: int = 5) -> Any:
    """Run one batch, again from the start if the database gave up on it (deadlock, busy): the batch's
    transaction rolled back, so nothing is half done."""
    for attempt in range(attempts):
        try:
            return run()
        except OperationalError as exc:
            if attempt == attempts - 1 or not _transient(exc):
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover
