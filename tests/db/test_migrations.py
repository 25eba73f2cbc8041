"""The migrations build exactly the models' schema on both backends, with the database-level
guarantees the code relies on: constraint names, the append-only audit log, unique email keys.

The migration tests are synchronous: Alembic's env.py runs its own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

import halaqa.models  # noqa: F401  (registers every table on the metadata)
from halaqa.db.base import Base
from halaqa.db.engine import create_engine
from halaqa.db.migrate import alembic_config, head_revision, upgrade
from halaqa.db.session import Database
from halaqa.models import AuditEntry, Membership, User

T = TypeVar("T")

# The evidence the database itself keeps from being rewritten.
APPEND_ONLY_TRIGGERS = {
    "audit_log_no_update",
    "audit_log_no_delete",
    "presence_events_no_update",
    "attendance_overrides_no_update",
    "ledger_entries_no_update",
}


def inspect_database(database_url: str, look: Callable[[Connection], T]) -> T:
    """Runs `look` on a synchronous connection to the database (through the async driver)."""

    async def run() -> T:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    found: list[Any] = compare_metadata(context, Base.metadata)
    return found


def revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def trigger_names(connection: Connection) -> set[str]:
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    return set(connection.execute(text(query)).scalars())


# --- the schema ----------------------------------------------------------------------------------


def test_migrations_form_one_line_with_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config(""))
    assert len(script.get_heads()) == 1
    assert script.get_current_head() == head_revision()
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None  # one base
    assert all(not r.is_merge_point for r in revisions)


def test_migrated_database_matches_the_models(database_url: str) -> None:
    assert inspect_database(database_url, differences) == []
    assert inspect_database(database_url, revision) == head_revision()


def test_downgrade_to_base_then_upgrade_to_head(database_url: str) -> None:
    models = {table.name for table in Base.metadata.sorted_tables}

    command.downgrade(alembic_config(database_url), "base")
    assert inspect_database(database_url, table_names) == {"alembic_version"}
    assert inspect_database(database_url, revision) is None
    assert inspect_database(database_url, trigger_names) == set()

    upgrade(database_url)
    assert inspect_database(database_url, table_names) == models | {"alembic_version"}
    assert inspect_database(database_url, revision) == head_revision()
    assert inspect_database(database_url, differences) == []
    assert inspect_database(database_url, trigger_names) == APPEND_ONLY_TRIGGERS


def constraint_names(connection: Connection) -> dict[str, set[tuple[str, str]]]:
    """Per table, (kind, name) of every constraint and index the database reports."""
    inspector = inspect(connection)
    found: dict[str, set[tuple[str, str]]] = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        names = {("pk", str(inspector.get_pk_constraint(table)["name"]))}
        names |= {("uq", str(c["name"])) for c in inspector.get_unique_constraints(table)}
        names |= {("fk", str(c["name"])) for c in inspector.get_foreign_keys(table)}
        names |= {("ck", str(c["name"])) for c in inspector.get_check_constraints(table)}
        names |= {
            ("ix", str(i["name"]))
            for i in inspector.get_indexes(table)
            if "duplicates_constraint" not in i  # PostgreSQL lists unique constraints twice
        }
        found[table] = names
    return found


def model_constraint_names() -> dict[str, set[tuple[str, str]]]:
    kinds = {
        "PrimaryKeyConstraint": "pk",
        "UniqueConstraint": "uq",
        "ForeignKeyConstraint": "fk",
        "CheckConstraint": "ck",
    }
    return {
        table.name: {(kinds[type(c).__name__], str(c.name)) for c in table.constraints}
        | {("ix", str(i.name)) for i in table.indexes}
        for table in Base.metadata.sorted_tables
    }


def test_models_follow_the_naming_convention() -> None:
    for table, names in model_constraint_names().items():
        for kind, name in names:
            if kind == "pk":
                assert name == f"pk_{table}"
            elif kind == "ix":
                assert name.startswith(f"ix_{table}_"), name
            else:
                assert name.startswith(f"{kind}_{table}_"), name


def test_database_constraints_carry_the_convention_names(database_url: str) -> None:
    """Named the same in the database as in the models, so later migrations can drop and alter
    them by name on both backends."""
    found = inspect_database(database_url, constraint_names)
    assert found == model_constraint_names()
    assert ("pk", "pk_users") in found["users"]
    assert ("uq", "uq_users_email_key") in found["users"]
    assert ("fk", "fk_memberships_user_id_users") in found["memberships"]
    assert ("ck", "ck_membership_roles_known_role") in found["membership_roles"]
    assert ("ix", "ix_memberships_user_id") in found["memberships"]


# --- guarantees the database itself keeps --------------------------------------------------------

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def add_audit_entry(database: Database, action: str = "academy.created") -> int:
    async with database.transaction() as session:
        entry = AuditEntry(
            academy_id=1,
            action=action,
            entity_type="academy",
            entity_id="1",
            after={"name": "Al-Noor"},
            created_at=NOW,
        )
        session.add(entry)
        await session.flush()
        return entry.id


async def audit_actions(database: Database) -> list[str]:
    async with database.session() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_audit_log_accepts_inserts(database: Database) -> None:
    await add_audit_entry(database, "academy.created")
    await add_audit_entry(database, "academy.updated")
    assert await audit_actions(database) == ["academy.created", "academy.updated"]


async def test_audit_log_refuses_update(database: Database) -> None:
    entry_id = await add_audit_entry(database)
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.transaction() as session:
            await session.execute(
                update(AuditEntry).where(AuditEntry.id == entry_id).values(action="forged")
            )
    # Even by hand, outside the ORM.
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.engine.begin() as connection:
            await connection.execute(text("UPDATE audit_log SET after = NULL"))
    assert await audit_actions(database) == ["academy.created"]


async def test_audit_log_refuses_delete(database: Database) -> None:
    entry_id = await add_audit_entry(database)
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.transaction() as session:
            await session.execute(delete(AuditEntry).where(AuditEntry.id == entry_id))
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.engine.begin() as connection:
            await connection.execute(text("DELETE FROM audit_log"))
    assert await audit_actions(database) == ["academy.created"]


def user(email: str, email_key: str) -> User:
    return User(
        email=email, email_key=email_key, name="Amina", locale="ar", time_zone="Asia/Riyadh"
    )


async def test_email_keys_are_unique_whatever_the_letter_case(database: Database) -> None:
    """Two spellings of one address share an email_key (lower case): the database refuses the
    second account even if the service's own check were skipped or raced."""
    async with database.transaction() as session:
        session.add(user("Amina@Example.com", "amina@example.com"))
    with pytest.raises(IntegrityError, match=r"uq_users_email_key|users\.email_key"):
        async with database.transaction() as session:
            session.add(user("AMINA@example.COM", "amina@example.com"))
    async with database.session() as session:
        emails = list(await session.scalars(select(User.email)))
    assert emails == ["Amina@Example.com"]


async def test_email_itself_keeps_its_letter_case_and_may_differ_from_the_key(
    database: Database,
) -> None:
    async with database.transaction() as session:
        session.add(user("Amina@Example.com", "amina@example.com"))
        session.add(user("amina@example.org", "amina@example.org"))
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 2


async def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError):
        async with database.transaction() as session:
            session.add(
                Membership(
                    academy_id=999, user_id=999, is_active=True, created_at=NOW, updated_at=NOW
                )
            )
