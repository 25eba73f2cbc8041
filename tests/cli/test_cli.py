"""The `halaqa` command, run in-process on a SQLite file (the CLI's own default backend)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from halaqa import __version__
from halaqa.academies.security import verify_password
from halaqa.cli import context
from halaqa.cli.demo import (
    CIRCLE,
    DEMO_PASSWORD,
    FAMILIES,
    GROUPS,
    PEOPLE,
    SESSIONS,
    WEEKLY,
    demo_logins,
)
from halaqa.cli.main import app
from halaqa.config import get_settings
from halaqa.db.migrate import head_revision
from tests.conftest import SECRET
from tests.databases import SqliteDatabases

PASSWORD = "a-long-enough-password"


class Cli:
    """Runs `halaqa …` against one database file and reads that file back with sqlite3."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        get_settings.cache_clear()  # each run reads its settings afresh, as a new process would
        result = self.runner.invoke(app, list(args), input=input)
        get_settings.cache_clear()
        return result

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with closing(sqlite3.connect(self.path)) as connection:
            return connection.execute(sql, params).fetchall()

    def count(self, table: str) -> int:
        [(n,)] = self.rows(f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed table names)
        return int(n)


def text(output: str) -> str:
    """Output with whitespace collapsed, so the terminal's line wrapping does not matter."""
    return " ".join(output.split())


def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env or var/ from the working copy
    monkeypatch.setenv("HALAQA_DATABASE_URL", url)
    monkeypatch.setenv("HALAQA_SECRET_KEY", SECRET)
    monkeypatch.setenv("HALAQA_LOG_LEVEL", "WARNING")
    for console in (context.console, context.errors):
        monkeypatch.setattr(console, "width", 200)


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_databases: SqliteDatabases
) -> Iterator[Cli]:
    """A migrated database (a copy of the tests' template) and the environment pointing at it."""
    url = sqlite_databases.create()
    environment(monkeypatch, tmp_path, url)
    yield Cli(Path(make_url(url).database or ""))
    get_settings.cache_clear()
    sqlite_databases.drop(url)


@pytest.fixture
def empty_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cli]:
    """A database file that does not exist yet."""
    path = tmp_path / "data" / "halaqa.db"
    environment(monkeypatch, tmp_path, f"sqlite:///{path}")
    yield Cli(path)
    get_settings.cache_clear()


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"halaqa {__version__}"


def test_no_arguments_shows_help(cli: Cli) -> None:
    result = cli()
    assert result.exit_code == 2
    for command in ("serve", "db", "academy", "user", "demo", "worker"):
        assert command in result.output


def test_db_upgrade_creates_and_migrates_the_database(empty_cli: Cli) -> None:
    assert not empty_cli.path.exists()
    result = empty_cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    assert empty_cli.rows("SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert empty_cli.count("users") == 0
    # Running it again is harmless.
    again = empty_cli("db", "upgrade")
    assert again.exit_code == 0, again.output
    assert empty_cli.rows("SELECT version_num FROM alembic_version") == [(head_revision(),)]


def test_user_create(cli: Cli) -> None:
    result = cli(
        "user",
        "create",
        "Amina@Example.com",
        "--name",
        "Amina Yusuf",
        "--password",
        PASSWORD,
        "--locale",
        "en",
        "--time-zone",
        "Europe/London",
    )
    assert result.exit_code == 0, result.output
    assert text(result.output) == "user Amina@example.com created"
    [(email, email_key, name, locale, zone, admin, active, password_hash)] = cli.rows(
        "SELECT email, email_key, name, locale, time_zone, is_platform_admin, is_active,"
        " password_hash FROM users"
    )
    # The domain is normalised to lower case (as the API does); the local part is kept.
    assert (email, email_key, name, locale, zone) == (
        "Amina@example.com",
        "amina@example.com",
        "Amina Yusuf",
        "en",
        "Europe/London",
    )
    assert (admin, active) == (0, 1)
    assert verify_password(PASSWORD, password_hash)
    assert PASSWORD not in password_hash


def test_user_create_prompts_for_the_password_twice(cli: Cli) -> None:
    result = cli(
        "user", "create", "amina@example.com", "--name", "Amina",
        input=f"{PASSWORD}\nsomething-else\n{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output
    assert PASSWORD not in result.output  # typed, never echoed
    [(password_hash,)] = cli.rows("SELECT password_hash FROM users")
    assert verify_password(PASSWORD, password_hash)


def test_user_create_platform_admin(cli: Cli) -> None:
    result = cli(
        "user", "create", "root@example.com", "--name", "Root", "--password", PASSWORD,
        "--platform-admin",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert text(result.output) == "user root@example.com created (platform admin)"
    assert cli.rows("SELECT is_platform_admin, locale, time_zone FROM users") == [(1, "ar", "UTC")]


@pytest.mark.parametrize(
    ("again", "shown"),
    [
        ("root@example.com", "root@example.com"),
        ("ROOT@example.com", "ROOT@example.com"),
        ("Root@Example.Com", "Root@example.com"),  # the domain part is normalised
    ],
)
def test_user_create_refuses_a_taken_email(cli: Cli, again: str, shown: str) -> None:
    first = cli("user", "create", "root@example.com", "--name", "Root", "--password", PASSWORD)
    assert first.exit_code == 0, first.output
    result = cli("user", "create", again, "--name", "Impostor", "--password", PASSWORD + "!")
    assert result.exit_code == 1
    assert text(result.stderr) == f"error: a user with the email {shown} already exists"
    assert "Traceback" not in result.output
    assert cli.rows("SELECT email, name FROM users") == [("root@example.com", "Root")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--time-zone", "Mars/Olympus"],
            "time_zone: Value error, unknown time zone 'Mars/Olympus'",
        ),
        (["--time-zone", "riyadh"], "time_zone: Value error, unknown time zone 'riyadh'"),
        (["--locale", "fr"], "locale: Input should be 'ar' or 'en'"),
        (["--password", "short"], "password: String should have at least 10 characters"),
        (["--name", "   "], "name: String should have at least 1 character"),
    ],
)
def test_user_create_refuses_bad_values(cli: Cli, options: list[str], message: str) -> None:
    values = {"--name": "Amina", "--password": PASSWORD}
    args = ["user", "create", "amina@example.com"]
    for flag, value in [*values.items(), *zip(options[::2], options[1::2], strict=True)]:
        args += [flag, value]
    result = cli(*args)
    assert result.exit_code == 2
    assert message in text(result.stderr)
    assert cli.count("users") == 0


def test_user_create_refuses_a_bad_email(cli: Cli) -> None:
    result = cli("user", "create", "not-an-email", "--name", "X", "--password", PASSWORD)
    assert result.exit_code == 2
    assert text(result.stderr).startswith("error: email:")
    assert cli.count("users") == 0


def make_user(cli: Cli, email: str = "owner@example.com") -> None:
    result = cli("user", "create", email, "--name", "Owner", "--password", PASSWORD)
    assert result.exit_code == 0, result.output


def test_academy_create(cli: Cli) -> None:
    make_user(cli, "Owner@Example.com")
    result = cli(
        "academy", "create", "al-noor", "--name", "Al-Noor Academy",
        "--admin-email", "OWNER@example.com", "--time-zone", "Asia/Riyadh", "--locale", "en",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert text(result.output) == "academy al-noor created, run by OWNER@example.com"
    assert cli.rows("SELECT slug, name, time_zone, default_locale FROM academies") == [
        ("al-noor", "Al-Noor Academy", "Asia/Riyadh", "en")
    ]
    assert cli.rows(
        "SELECT u.email, r.role, m.is_active FROM memberships m"
        " JOIN users u ON u.id = m.user_id JOIN membership_roles r ON r.membership_id = m.id"
    ) == [("Owner@example.com", "admin", 1)]
    # Audited, with no user behind it (the command line acts as the system).
    assert cli.rows("SELECT action, actor_user_id FROM audit_log") == [("academy.created", None)]


def test_academy_create_needs_an_existing_admin(cli: Cli) -> None:
    make_user(cli)
    result = cli(
        "academy", "create", "al-noor", "--name", "Al-Noor", "--admin-email", "nobody@example.com"
    )
    assert result.exit_code == 1
    assert text(result.stderr) == (
        "error: no user nobody@example.com; create it with `halaqa user create`"
    )
    assert cli.count("academies") == 0
    assert cli.count("memberships") == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["Al_Noor"], 2, "slug: String should match pattern"),
        (["ab"], 2, "slug: String should match pattern"),
        (["al-noor", "--time-zone", "Nowhere"], 2, "time_zone: Value error, unknown time zone"),
        (["al-noor", "--locale", "de"], 2, "default_locale: Input should be 'ar' or 'en'"),
    ],
)
def test_academy_create_refuses_bad_values(
    cli: Cli, args: list[str], code: int, message: str
) -> None:
    make_user(cli)
    result = cli(
        "academy", "create", *args[:1], "--name", "Al-Noor",
        "--admin-email", "owner@example.com", *args[1:],
    )  # fmt: skip
    assert result.exit_code == code
    assert message in text(result.stderr)
    assert cli.count("academies") == 0


def test_academy_create_refuses_a_taken_slug(cli: Cli) -> None:
    make_user(cli)
    args = ["academy", "create", "al-noor", "--admin-email", "owner@example.com"]
    assert cli(*args, "--name", "First").exit_code == 0
    result = cli(*args, "--name", "Second")
    assert result.exit_code == 1
    assert text(result.stderr) == "error: the slug 'al-noor' is taken; choose another"
    assert cli.rows("SELECT name FROM academies") == [("First",)]
    assert cli.count("memberships") == 1


def demo_counts(cli: Cli) -> dict[str, int]:
    return {
        table: cli.count(table)
        for table in (
            "users",
            "academies",
            "memberships",
            "membership_roles",
            "guardianships",
            "audit_log",
            "groups",
            "enrollments",
            "class_sessions",
            "session_participants",
            "schedules",
        )
    }


def test_demo_load_is_idempotent_and_prints_the_logins(cli: Cli) -> None:
    first = cli("demo", "load")
    assert first.exit_code == 0, first.output
    assert "demo academy created" in first.output
    counts = demo_counts(cli)
    people = 1 + len(PEOPLE)
    assert counts["users"] == people
    assert counts["academies"] == 1
    assert counts["memberships"] == people
    assert counts["guardianships"] == sum(len(c) for c in FAMILIES.values())
    assert counts["groups"] == len(GROUPS)
    assert counts["enrollments"] == sum(len(g.students) for g in GROUPS)
    assert counts["schedules"] == len(WEEKLY)
    one_off = cli.rows("SELECT count(*) FROM class_sessions WHERE schedule_id IS NULL")
    assert one_off == [(len(SESSIONS),)]
    # The weekly schedules are booked for the 8 weeks of the horizon: every slot of the course's;
    # Khadija's three a week, up to its monthly target of 12 (how many that cuts depends on
    # where today falls in the month).
    per_schedule = cli.rows(
        "SELECT schedule_id, count(*) FROM class_sessions WHERE schedule_id IS NOT NULL "
        "GROUP BY schedule_id ORDER BY schedule_id"
    )
    [(_, course), (_, hifz)] = per_schedule
    assert course == 2 * 8
    assert 2 * 12 - 3 <= hifz <= 3 * 8
    # Each session books its teacher and its students (the group's, for group sessions).
    booked = cli.rows(
        "SELECT count(*) FROM session_participants p JOIN class_sessions s ON s.id = p.session_id "
        "WHERE s.schedule_id IS NULL"
    )
    expected = sum(1 + (len(CIRCLE.students) if s.kind == "group" else 1) for s in SESSIONS)
    assert booked == [(expected,)]
    codes = [code for (code,) in cli.rows("SELECT code FROM class_sessions ORDER BY id LIMIT 5")]
    assert codes == ["GR-000001", "IN-000001", "IN-000002", "TR-000001", "GR-000002"]
    output = text(first.output)
    for role, email, password in demo_logins():
        assert f"{role} │ {email} │ {password}" in output
    assert len(demo_logins()) == people
    # Every printed login really works.
    hashes = dict(cli.rows("SELECT email, password_hash FROM users"))
    assert set(hashes) == {email for _, email, _ in demo_logins()}
    assert all(verify_password(DEMO_PASSWORD, h) for h in hashes.values())
    admin = cli.rows(
        "SELECT u.is_platform_admin, r.role FROM users u JOIN memberships m ON m.user_id = u.id"
        " JOIN membership_roles r ON r.membership_id = m.id WHERE u.email = ?",
        "admin@demo.halaqa.example",
    )
    assert admin == [(1, "admin")]

    second = cli("demo", "load")
    assert second.exit_code == 0, second.output
    assert "demo academy already there" in second.output
    assert "demo academy created" not in second.output
    assert demo_counts(cli) == counts
    assert text(second.output).count(DEMO_PASSWORD) == people


def test_demo_load_reuses_existing_users(cli: Cli) -> None:
    """Someone who already has an account with a demo email keeps it (and its password)."""
    make_user(cli, "teacher.sarah@demo.halaqa.example")
    result = cli("demo", "load")
    assert result.exit_code == 0, result.output
    assert cli.count("users") == 1 + len(PEOPLE)
    [(name, password_hash)] = cli.rows(
        "SELECT name, password_hash FROM users WHERE email = 'teacher.sarah@demo.halaqa.example'"
    )
    assert name == "Owner"
    assert verify_password(PASSWORD, password_hash)


def test_serve_refuses_several_processes_on_sqlite(cli: Cli) -> None:
    result = cli("serve", "--workers", "2")
    assert result.exit_code == 1
    assert text(result.stderr) == "error: several server processes need PostgreSQL"


def test_worker_once_runs_one_pass(cli: Cli) -> None:
    make_user(cli)
    # A token that expired long ago (the CLI uses the real clock) and one far in the future.
    for digest, expires in (("a" * 64, "2000-01-01 00:00:00"), ("b" * 64, "2999-01-01 00:00:00")):
        with closing(sqlite3.connect(cli.path)) as connection, connection:
            connection.execute(
                "INSERT INTO auth_tokens (user_id, purpose, digest, created_at, expires_at)"
                " SELECT id, 'login', ?, '2000-01-01 00:00:00', ? FROM users",
                (digest, expires),
            )
    result = cli("worker", "--once")
    assert result.exit_code == 0, result.output
    assert "'purge_expired_auth': 1" in text(result.output)
    assert "'materialise_schedules': 0" in text(result.output)
    assert cli.rows("SELECT digest FROM auth_tokens") == [("b" * 64,)]
    again = cli("worker", "--once")
    assert again.exit_code == 0, again.output
    assert "'purge_expired_auth': 0" in text(again.output)


def test_jobs_list_shows_failures_and_retry_requeues(cli: Cli) -> None:
    with closing(sqlite3.connect(cli.path)) as connection, connection:
        connection.execute(
            "INSERT INTO jobs (kind, payload, status, run_after, attempts, max_attempts,"
            " last_error, created_at, finished_at) VALUES"
            " ('meetings.open_room', '{}', 'parked', '2026-01-01 00:00:00', 8, 8,"
            " 'Traceback ...\nConnectionError: livekit unreachable', '2026-01-01 00:00:00',"
            " '2026-01-01 01:00:00'),"
            " ('meetings.open_room', '{}', 'done', '2026-01-01 00:00:00', 1, 8, NULL,"
            " '2026-01-01 00:00:00', '2026-01-01 00:00:01')"
        )
    listed = cli("jobs", "list", "--status", "parked")
    assert listed.exit_code == 0, listed.output
    shown = text(listed.output)
    assert "parked" in shown
    assert "8/8" in shown
    assert "livekit unreachable" in shown
    assert "done" not in shown
    retried = cli("jobs", "retry", "1")
    assert retried.exit_code == 0, retried.output
    assert "job 1 (meetings.open_room) queued again" in text(retried.output)
    assert cli.rows("SELECT status, attempts, finished_at FROM jobs WHERE id = 1") == [
        ("queued", 0, None)
    ]
    again = cli("jobs", "retry", "2")
    assert again.exit_code == 1
    assert "job 2 is done" in text(again.stderr)
    missing = cli("jobs", "retry", "99")
    assert missing.exit_code == 1
    assert "no job 99" in text(missing.stderr)
    assert cli("jobs", "list", "--status", "lost").exit_code == 2


def test_worker_once_at_a_given_instant(cli: Cli) -> None:
    result = cli("worker", "--once", "--now", "2030-01-01T00:00:00+00:00")
    assert result.exit_code == 0, result.output
    assert "'session_steps': 0" in text(result.output)
    alone = cli("worker", "--now", "2030-01-01T00:00:00")
    assert alone.exit_code == 2
    assert "--now goes with --once" in text(alone.stderr)


@pytest.mark.parametrize(
    ("environment_", "provider"),
    [
        ({}, "link"),  # joining works out of the box, with public Jitsi rooms
        (
            {
                "HALAQA_DEMO_LIVEKIT_URL": "ws://127.0.0.1:7880",
                "HALAQA_DEMO_LIVEKIT_API_KEY": "devkey",
                "HALAQA_DEMO_LIVEKIT_API_SECRET": "secret",
            },
            "livekit",
        ),
    ],
)
def test_the_demo_meets_on_livekit_when_the_server_has_one(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, environment_: dict[str, str], provider: str
) -> None:
    for name, value in environment_.items():
        monkeypatch.setenv(name, value)
    assert cli("demo", "load").exit_code == 0
    [(stored, url, key, sealed)] = cli.rows(
        "SELECT provider, livekit_url, livekit_api_key, livekit_api_secret_sealed"
        " FROM meeting_configs"
    )
    assert stored == provider
    if provider == "livekit":
        assert (url, key) == ("ws://127.0.0.1:7880", "devkey")
        assert "secret" not in str(sealed).split(".")  # sealed, not kept as given
    else:
        assert (url, key, sealed) == (None, None, None)


def test_half_a_demo_livekit_is_refused(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAQA_DEMO_LIVEKIT_URL", "ws://127.0.0.1:7880")
    result = cli("demo", "load")
    assert result.exit_code != 0
    assert "URL, API key and API secret together" in text(result.output)
