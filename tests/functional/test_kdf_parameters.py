"""The Argon2id cost is stored with what it protects: changing it locks nobody out.

Two app instances on one database and data directory, the second started
with another cost: the first one's receipts still open their case, its staff
still sign in and open their desk keys, and what the second one makes uses
the new cost. A deployment made by the code of migration 0006 upgrades to the
same state.
"""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from app import create_app
from app.cli import main
from caseflow.store import create_engine, migrate
from caseflow.store.records import reporter_index_table, staff_table
from crypto.kdf import KdfCost
from crypto.receipt import Receipt
from identity.bootstrap import bootstrap
from tests.functional.conftest import Deployment, make_settings
from tests.functional.pages import open_status, receipt_from, submit_report, text_of
from tests.functional.staff_pages import PASSWORD, add_member, enrol, sign_in
from tests.functional.workspace_pages import CASE_LINK

OLD = KdfCost(time_cost=1, memory_kib=8, parallelism=1)
NEW = KdfCost(time_cost=2, memory_kib=16, parallelism=1)
SNAPSHOT = Path(__file__).resolve().parents[1] / "data" / "deployment_0006.json"


def _cost(cost: KdfCost) -> dict[str, int]:
    return {
        "kdf_time_cost": cost.time_cost,
        "kdf_memory_kib": cost.memory_kib,
        "kdf_parallelism": cost.parallelism,
    }


def _instance(database_url: str, data_dir: Path, secret_values: dict[str, str], cost: KdfCost):
    settings = make_settings(database_url, data_dir, **secret_values, **_cost(cost))
    return create_app(settings, {"TESTING": True}), settings


def _stored_costs(engine: sa.Engine) -> tuple[set[str], dict[str, str]]:
    with engine.connect() as conn:
        receipts = set(conn.execute(sa.select(reporter_index_table.c.kdf)).scalars())
        staff = dict(conn.execute(sa.select(staff_table.c.username, staff_table.c.key_kdf)).all())
    return receipts, staff


def _staff_reads_the_case(client: Any, words: str) -> None:
    inbox = client.get("/staff/inbox").get_data(as_text=True)
    case_ids = CASE_LINK.findall(inbox)
    assert case_ids, "the inbox lists no case"
    pages = [text_of(client.get(f"/staff/cases/{c}").get_data(as_text=True)) for c in case_ids]
    assert any(words in page for page in pages), "the desk key did not open the case"


def test_a_new_cost_keeps_old_receipts_and_staff_keys_working(database_url, tmp_path):
    data_dir = tmp_path / "data"
    secret_values = {
        "secret_key": secrets.token_urlsafe(40),
        "tenant_salt": secrets.token_hex(16),
        "signing_seed": secrets.token_hex(32),
    }
    settings = make_settings(database_url, data_dir, **secret_values, **_cost(OLD))
    engine = create_engine(database_url)
    migrate(engine)
    desks = bootstrap(engine, settings).created_desks
    first_app, _ = _instance(database_url, data_dir, secret_values, OLD)
    first = Deployment(first_app, settings, engine, desks)
    try:
        status, page = submit_report(first.client(), what="Gammal rapport om jäv vid upphandling.")
        assert status == 200
        old_receipt = receipt_from(page)
        add_member(first, "anna")

        second_app, new_settings = _instance(database_url, data_dir, secret_values, NEW)
        second = Deployment(second_app, new_settings, engine, desks)
        try:
            # The reporter comes back to the instance with the new cost.
            status, page = open_status(second.client(), old_receipt)
            assert status == 200, text_of(page)
            assert "Gammal rapport om jäv vid upphandling." in text_of(page)

            # So does the investigator, whose key was wrapped at the old cost.
            staff = second.client()
            assert sign_in(staff, "anna", PASSWORD).status_code == 303
            enrol(staff)
            _staff_reads_the_case(staff, "Gammal rapport om jäv vid upphandling.")

            # What the new instance makes uses the new cost; the old row keeps its own.
            status, page = submit_report(second.client(), what="Ny rapport om mutor i tullen.")
            new_receipt = receipt_from(page)
            receipts, staff_costs = _stored_costs(engine)
            assert receipts == {OLD.to_text("tenant_salt"), NEW.to_text("tenant_salt")}
            # The sign-in re-wrapped Anna's key at the new cost (check_needs_rehash).
            assert staff_costs == {"anna": NEW.to_text("key_salt")}

            for receipt, words in (
                (old_receipt, "Gammal rapport"),
                (new_receipt, "Ny rapport om mutor"),
            ):
                status, page = open_status(second.client(), receipt)
                assert words in text_of(page)
            # The first instance, still at the old cost, opens the new receipt too.
            status, page = open_status(first.client(), new_receipt)
            assert "Ny rapport om mutor" in text_of(page)
            # And Anna, re-wrapped at the new cost, signs in there as well.
            staff = first.client()
            assert sign_in(staff, "anna", PASSWORD).status_code == 303
        finally:
            second_app.extensions["visselpipa.engine"].dispose()
    finally:
        first_app.extensions["visselpipa.engine"].dispose()
        engine.dispose()


def _load_snapshot(engine: sa.Engine, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Insert the rows as the 0006 code wrote them (parents before children)."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            rows = tables.get(table.name) or []
            if rows:
                conn.execute(
                    table.insert(),
                    [{k: _value(table.c[k], v) for k, v in row.items()} for row in rows],
                )


def _value(column: sa.Column[Any], stored: Any) -> Any:
    """A value of the JSON dump as the column's type takes it."""
    if isinstance(stored, dict):
        return bytes.fromhex(stored["hex"])
    if stored is None:
        return None
    if isinstance(column.type, sa.Date):
        return date.fromisoformat(stored)
    if isinstance(column.type, sa.Boolean):
        return bool(stored)
    return stored


def test_a_deployment_made_at_0006_upgrades_and_keeps_working_at_a_new_cost(database_url, tmp_path):
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert snapshot["revision"] == "0006"
    engine = create_engine(database_url)
    migrate(engine, "0006")
    _load_snapshot(engine, snapshot["tables"])
    old_cost = KdfCost(
        snapshot["settings"]["kdf_time_cost"],
        snapshot["settings"]["kdf_memory_kib"],
        snapshot["settings"]["kdf_parallelism"],
    )
    data_dir = tmp_path / "data"
    # The operator upgrades the way the README says: `visselpipa init --if-missing`
    # with the deployment's own settings, which migrates and records the cost.
    env = {
        "VISSELPIPA_DATA_DIR": str(data_dir),
        "VISSELPIPA_DATABASE_URL": database_url,
        "VISSELPIPA_INSECURE_TEST_KDF": "1",
        **{f"VISSELPIPA_{k.upper()}": str(v) for k, v in snapshot["settings"].items()},
    }
    result = CliRunner().invoke(main, ["init", "--if-missing"], env=env)
    assert result.exit_code == 0, result.output
    receipts, staff_costs = _stored_costs(engine)
    assert receipts == {old_cost.to_text("tenant_salt")}
    assert staff_costs == {"gunnar": old_cost.to_text("key_salt")}
    with engine.connect() as conn:
        recorded = set(conn.execute(sa.text("SELECT name FROM deployment_fingerprints")).scalars())
    assert recorded == {"tenant_salt", "signing_key"}  # the upgrade's init recorded them

    secret_values = {
        k: snapshot["settings"][k] for k in ("secret_key", "tenant_salt", "signing_seed")
    }
    app, settings = _instance(database_url, data_dir, secret_values, NEW)
    deployment = Deployment(app, settings, engine, {})
    try:
        status, page = open_status(deployment.client(), snapshot["receipt"])
        assert status == 200
        assert "Mutor vid upphandlingen 2025." in text_of(page)
        staff = deployment.client()
        assert sign_in(staff, "gunnar", snapshot["staff"]["password"]).status_code == 303
        enrol(staff)
        _staff_reads_the_case(staff, "Mutor vid upphandlingen 2025.")
        assert _stored_costs(engine)[1] == {"gunnar": NEW.to_text("key_salt")}
    finally:
        app.extensions["visselpipa.engine"].dispose()
        engine.dispose()


def test_an_upgrade_by_alembic_alone_records_the_cost_of_the_environment(
    database_url, tmp_path, monkeypatch
):
    """``alembic upgrade`` (no ``visselpipa`` command around it) reads the
    settings as the application would: the ``VISSELPIPA_KDF_*`` variables."""
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    engine = create_engine(database_url)
    migrate(engine, "0006")
    _load_snapshot(engine, snapshot["tables"])
    monkeypatch.setenv("VISSELPIPA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VISSELPIPA_INSECURE_TEST_KDF", "1")
    for name in ("time_cost", "memory_kib", "parallelism"):
        monkeypatch.setenv(
            f"VISSELPIPA_KDF_{name.upper()}", str(snapshot["settings"][f"kdf_{name}"])
        )
    try:
        migrate(engine)
        receipts, staff_costs = _stored_costs(engine)
    finally:
        engine.dispose()
    assert receipts == {"argon2id$v=19$m=64,t=2,p=1$tenant_salt"}
    assert staff_costs == {"gunnar": "argon2id$v=19$m=64,t=2,p=1$key_salt"}


def test_every_receipt_check_derives_with_every_cost_in_use_whatever_the_receipt(
    deployment, monkeypatch
):
    """The work, not only the time: a receipt of the old cost, one of the new
    cost, an unknown and a malformed one each cost one derivation per cost in
    use, in the same order (the padding in test_receipt_timing hides the
    time; this shows there is nothing to hide)."""
    import caseflow.service.intake as intake_module

    first = deployment.app.extensions["visselpipa.intake"]
    old_receipt = str(first.submit(first.begin(), _report()))
    settings = deployment.settings
    new = make_settings(
        settings.database_url,
        settings.data_dir,
        secret_key=settings.secret_key,
        tenant_salt=settings.tenant_salt.hex(),
        signing_seed=settings.signing_seed.hex(),
        **_cost(NEW),
    )
    app = create_app(new, {"TESTING": True})
    try:
        intake = app.extensions["visselpipa.intake"]
        new_receipt = str(intake.submit(intake.begin(), _report()))
        derived: list[KdfCost] = []
        real = intake_module.derive_reporter_keys

        def counted(receipt: Any, salt: bytes, cost: KdfCost) -> Any:
            derived.append(cost)
            return real(receipt, salt, cost)

        monkeypatch.setattr(intake_module, "derive_reporter_keys", counted)
        work = {}
        for name, typed in (
            ("old", old_receipt),
            ("new", new_receipt),
            ("unknown", str(Receipt.generate())),
            ("malformed", "not a receipt"),
        ):
            derived.clear()
            found = intake.open_case(typed)
            assert (found is not None) == (name in ("old", "new")), name
            work[name] = list(derived)
        assert work["old"] == work["new"] == work["unknown"] == work["malformed"]
        assert sorted(work["old"], key=lambda c: c.time_cost) == [OLD, NEW]
    finally:
        app.extensions["visselpipa.engine"].dispose()


def _report() -> Any:
    from caseflow.service.intake import Report

    return Report("bribery", "tullverket", "Mutor vid upphandlingen.")
