"""What an attacker with DDL rights does to the log, for the tests that must still catch it."""

from __future__ import annotations

from sqlalchemy.engine import Engine


def drop_append_only_triggers(engine: Engine) -> None:
    """Drop the triggers that refuse UPDATE and DELETE on the events table."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER events_no_update")
            conn.exec_driver_sql("DROP TRIGGER events_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER events_no_update_or_delete ON events")
            conn.exec_driver_sql("DROP TRIGGER events_no_truncate ON events")
