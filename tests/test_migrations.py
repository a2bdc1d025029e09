"""The schema is migrated, never recreated: migrations match the models and keep data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.store.engine import alembic_config, make_engine, migrate


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/m.db")
    await migrate(engine)

    def diff(conn: object) -> list[object]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(ctx, SQLModel.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await engine.dispose()


async def test_upgrade_from_every_revision_keeps_data(tmp_path: Path) -> None:
    """An incident written at the first revision survives every later upgrade."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/u.db")
    first = revisions()[0]
    await migrate(engine, first)
    now = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO incident (title, severity, status, private, commander_id,"
                " declared_by, policy_version, declared_at)"
                " VALUES ('Old one', 'P1', 'investigating', 0, 'U1', 'U1', 'v0', :now)"
            ),
            {"now": now},
        )
    for rev in revisions()[1:]:
        await migrate(engine, rev)
    await migrate(engine)  # head, and running it twice is harmless
    await migrate(engine)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT title, severity, accepted FROM incident"))).all()
    # Accepted: an incident from before 0006 is never taken for a declaration cut short.
    assert [(t, sev, bool(a)) for t, sev, a in rows] == [("Old one", "P1", True)]
    await engine.dispose()


async def test_restart_on_the_same_database_keeps_incidents(tmp_path: Path) -> None:
    from bot.store.repo import Store
    from bot.store.tables import Incident, TimelineEntry

    url = f"sqlite+aiosqlite:///{tmp_path}/r.db"
    engine = make_engine(url)
    await migrate(engine)
    store = Store(engine)
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    inc = Incident(
        title="t",
        severity="P2",
        status="investigating",
        commander_id="U1",
        declared_by="U1",
        policy_version="v",
        declared_at=when,
    )
    await store.create_incident(
        inc, TimelineEntry(incident_id=0, kind="declared", occurred_at=when, text="x")
    )
    await store.close()

    engine = make_engine(url)
    await migrate(engine)
    store = Store(engine)
    found = await store.find("INC-1")
    assert found is not None and found.declared_at == when and found.declared_at.tzinfo
    assert [e.kind for e in await store.timeline(1)] == ["declared"]
    await store.close()
