"""Category sets, departments and the responsibility table (category x unit -> department)."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gridmap.store.db import json_text

LOGGER = logging.getLogger(__name__)


def save_category_set(
    conn: psycopg.Connection,
    *,
    name: str,
    title_en: str,
    title_zh: str,
    source: str,
    definition: dict[str, Any],
    calendar_name: str,
    calendar_text: str,
    categories: list[dict[str, Any]],
    departments: list[dict[str, Any]],
) -> dict[str, int]:
    """Insert or update a set and make it the one in use; categories it no longer lists are
    withdrawn (kept for the issues filed under them). Returns counts of what changed."""
    conn.execute("UPDATE category_set SET in_use = false WHERE in_use AND name <> %s", (name,))
    conn.execute(
        """
        INSERT INTO category_set (name, title_en, title_zh, source, definition,
                                  calendar_name, calendar_text, in_use)
        VALUES (%s, %s, %s, %s, %s, %s, %s, true)
        ON CONFLICT (name) DO UPDATE SET
            title_en = excluded.title_en, title_zh = excluded.title_zh,
            source = excluded.source, definition = excluded.definition,
            calendar_name = excluded.calendar_name, calendar_text = excluded.calendar_text,
            in_use = true, loaded_at = now()
        """,
        (
            name,
            title_en,
            title_zh,
            source,
            json_text(definition),
            calendar_name,
            calendar_text,
        ),
    )
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO department (code, name_en, name_zh) VALUES (%(code)s, %(name_en)s,
                %(name_zh)s)
            ON CONFLICT (code) DO UPDATE SET name_en = excluded.name_en,
                name_zh = excluded.name_zh, active = true
            """,
            departments,
        )
        existing = {
            r[0]
            for r in conn.execute(
                "SELECT code FROM category WHERE set_name = %s AND NOT withdrawn", (name,)
            )
        }
        cur.executemany(
            """
            INSERT INTO category (set_name, code, kind, major_code, name_en, name_zh, handler,
                                  department, severity, withdrawn)
            VALUES (%(set_name)s, %(code)s, %(kind)s, %(major_code)s, %(name_en)s, %(name_zh)s,
                    %(handler)s, %(department)s, %(severity)s, false)
            ON CONFLICT (set_name, code) DO UPDATE SET
                kind = excluded.kind, major_code = excluded.major_code,
                name_en = excluded.name_en, name_zh = excluded.name_zh,
                handler = excluded.handler, department = excluded.department,
                severity = excluded.severity, withdrawn = false
            """,
            [{**c, "set_name": name} for c in categories],
        )
    codes = [c["code"] for c in categories]
    withdrawn = conn.execute(
        "UPDATE category SET withdrawn = true WHERE set_name = %s AND NOT (code = ANY(%s)) "
        "AND NOT withdrawn",
        (name, codes),
    ).rowcount
    return {
        "categories": len(codes),
        "added": len(set(codes) - existing),
        "withdrawn": withdrawn,
        "departments": len(departments),
    }


def category_set_in_use(conn: psycopg.Connection) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT name, definition, calendar_name, calendar_text, loaded_at,
                   array(SELECT code FROM category c
                         WHERE c.set_name = s.name AND c.withdrawn) AS withdrawn
            FROM category_set s WHERE in_use
            """
        ).fetchone()


def reference_version(conn: psycopg.Connection) -> int:
    """The counter every change to the reference data bumps (migration 0011)."""
    row = conn.execute("SELECT version FROM reference_version").fetchone()
    assert row is not None, "migration 0011 inserts the only row"
    return int(row[0])


def department_exists(conn: psycopg.Connection, code: str) -> bool:
    return conn.execute("SELECT 1 FROM department WHERE code = %s", (code,)).fetchone() is not None


def add_department(conn: psycopg.Connection, *, code: str, name_en: str, name_zh: str) -> None:
    conn.execute(
        """
        INSERT INTO department (code, name_en, name_zh) VALUES (%s, %s, %s)
        ON CONFLICT (code) DO UPDATE SET name_en = excluded.name_en, name_zh = excluded.name_zh
        """,
        (code, name_en, name_zh),
    )


def department_names(conn: psycopg.Connection) -> dict[str, dict[str, str]]:
    return {
        code: {"code": code, "name_en": en, "name_zh": zh}
        for code, en, zh in conn.execute("SELECT code, name_en, name_zh FROM department")
    }


def add_responsibility(
    conn: psycopg.Connection,
    *,
    set_name: str,
    department_code: str,
    category_code: str | None,
    major_code: str | None,
    unit_level: str | None,
    unit_code: str | None,
) -> int:
    """Add a rule, or replace the department of the same rule."""
    row = conn.execute(
        """
        INSERT INTO responsibility (set_name, category_code, major_code, unit_level, unit_code,
                                    department_code)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (set_name, coalesce(category_code, ''), coalesce(major_code, ''),
                     coalesce(unit_level, ''), coalesce(unit_code, ''))
        DO UPDATE SET department_code = excluded.department_code
        RETURNING id
        """,
        (set_name, category_code, major_code, unit_level, unit_code, department_code),
    ).fetchone()
    assert row is not None
    return int(row[0])


def responsibilities(conn: psycopg.Connection, *, set_name: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            SELECT id, category_code, major_code, unit_level, unit_code, department_code
            FROM responsibility WHERE set_name = %s ORDER BY id
            """,
            (set_name,),
        ).fetchall()
