"""The issue table's references (category, worker, department) checked per statement by
triggers (migration 0013) instead of declared foreign keys: what a declared key refuses, they
refuse, with the same SQLSTATE and constraint name, under concurrency too."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from gridmap.services import categories as category_service
from gridmap.services import workers as worker_service

pytestmark = pytest.mark.db

INSERT = """
    INSERT INTO issue (set_name, category_code, channel, state, severity, target_kind,
                       worker_id, department_code)
    VALUES ('cn', %s, 'app', 'dispatched', 'normal', 'worker', %s, %s)
"""


@pytest.fixture
def categories(database, settings):
    category_service.load_categories(database, settings, "cn")
    with database.connection() as conn:
        return conn.execute("SELECT code FROM department ORDER BY code LIMIT 1").fetchone()[0]


def _refused(database, statement, params, constraint):
    with pytest.raises(psycopg.errors.ForeignKeyViolation) as caught, database.transaction() as c:
        c.execute(statement, params)
    assert caught.value.diag.constraint_name == constraint
    return caught.value


def test_an_issue_must_refer_to_rows_that_exist(database, categories):
    department = categories
    worker = worker_service.add_worker(database, name="张网格")
    with database.transaction() as conn:
        conn.execute(INSERT, ("E0101", worker, department))
        conn.execute(INSERT, ("E0101", None, None))
    error = _refused(database, INSERT, ("X9999", None, None), "issue_set_name_category_code_fkey")
    assert "X9999" in error.diag.message_detail
    _refused(database, INSERT, ("E0101", 987654, None), "issue_worker_id_fkey")
    _refused(database, INSERT, ("E0101", None, "nobody"), "issue_department_code_fkey")
    # one bad row among many refuses the whole statement (as a bulk COPY would be)
    many = "INSERT INTO issue (set_name, category_code, channel, state, severity, target_kind, worker_id) SELECT 'cn', 'E0101', 'app', 'filed', 'normal', 'worker', CASE WHEN g = 500 THEN -1 ELSE %s END FROM generate_series(1, 1000) g"  # noqa: E501
    _refused(database, many, (worker,), "issue_worker_id_fkey")
    _refused(database, "UPDATE issue SET worker_id = -5", None, "issue_worker_id_fkey")
    with database.connection() as conn:
        assert conn.execute("SELECT count(*) FROM issue").fetchone()[0] == 2


def test_a_referenced_row_is_neither_deleted_nor_rekeyed(database, categories):
    department = categories
    used = worker_service.add_worker(database, name="用到的")
    unused = worker_service.add_worker(database, name="没用到的")
    with database.transaction() as conn:
        conn.execute(INSERT, ("E0101", used, department))
    _refused(database, "DELETE FROM worker WHERE id = %s", (used,), "issue_worker_id_fkey")
    for statement in (
        "DELETE FROM department WHERE code = %s",
        "UPDATE department SET code = code || '-new' WHERE code = %s",
    ):
        _refused(database, statement, (department,), "issue_department_code_fkey")
    _refused(
        database,
        "DELETE FROM category WHERE code = 'E0101'",
        None,
        "issue_set_name_category_code_fkey",
    )
    with database.transaction() as conn:
        conn.execute("DELETE FROM worker WHERE id = %s", (unused,))
        conn.execute("UPDATE worker SET name = 'renamed' WHERE id = %s", (used,))
        conn.execute("UPDATE category SET withdrawn = true WHERE code = 'E0101'")


DELETE = "DELETE FROM worker WHERE id = %s"


def _race(database, first: tuple[str, tuple], second: tuple[str, tuple]) -> dict[str, object]:
    """``first`` in an open transaction, ``second`` meanwhile on another connection (it must
    wait), then ``first`` commits; what became of ``second``."""
    outcome: dict[str, object] = {}
    with psycopg.connect(database.url) as holding:
        holding.execute(*first)

        def run_second() -> None:
            try:
                with psycopg.connect(database.url, autocommit=True) as other:
                    other.execute(*second)
                outcome["done"] = True
            except psycopg.errors.ForeignKeyViolation as exc:
                outcome["refused"] = exc.diag.constraint_name

        thread = threading.Thread(target=run_second)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive()  # waiting for the first transaction
        holding.commit()
        thread.join(10)
    return outcome


def test_a_delete_racing_an_uncommitted_reference_waits_and_fails(database, categories):
    worker = worker_service.add_worker(database, name="王网格")
    # the insert holds the worker row's key lock until it commits
    outcome = _race(database, (INSERT, ("E0101", worker, None)), (DELETE, (worker,)))
    assert outcome == {"refused": "issue_worker_id_fkey"}


def test_an_insert_racing_an_uncommitted_delete_waits_and_fails(database, categories):
    worker = worker_service.add_worker(database, name="赵网格")
    outcome = _race(database, (DELETE, (worker,)), (INSERT, ("E0101", worker, None)))
    assert outcome == {"refused": "issue_worker_id_fkey"}


def test_per_statement_checks_refuse_what_row_checks_refuse(database, categories):
    """The mode the hotline import writes in: the same refusals, one check per statement."""
    worker = worker_service.add_worker(database, name="钱网格")
    good = ("E0101", worker, categories)
    for bad, constraint in (
        (("X9999", None, None), "issue_set_name_category_code_fkey"),
        (("E0101", -3, None), "issue_worker_id_fkey"),
        (("E0101", None, "nobody"), "issue_department_code_fkey"),
    ):
        with (
            pytest.raises(psycopg.errors.ForeignKeyViolation) as caught,
            database.transaction() as conn,
        ):
            conn.execute("SET LOCAL gridmap.reference_checks = 'per_statement'")
            with conn.cursor().copy(
                "COPY issue (set_name, category_code, channel, state, severity, target_kind, "
                "worker_id, department_code) FROM STDIN"
            ) as copy:
                for row in (good, bad, good):
                    copy.write_row(("cn", row[0], "import", "filed", "normal", "worker", *row[1:]))
        assert caught.value.diag.constraint_name == constraint
    with database.transaction() as conn:
        conn.execute("SET LOCAL gridmap.reference_checks = 'per_statement'")
        conn.execute(INSERT, good)
        # the rows it refers to are locked until the end of the transaction, as row checks do
        with (
            psycopg.connect(database.url, autocommit=True) as other,
            pytest.raises(psycopg.errors.LockNotAvailable),
        ):
            other.execute("SELECT FROM worker WHERE id = %s FOR UPDATE NOWAIT", (worker,))
    with database.connection() as conn:
        assert conn.execute("SELECT count(*) FROM issue").fetchone()[0] == 1
