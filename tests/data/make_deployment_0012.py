"""Write ``deployment_0012.json``: a deployment made by the code of migration 0012.

Run from a checkout of commit 8c4618e (the last before content-key epochs)::

    .venv/bin/python tests/data/make_deployment_0012.py

It sets up a deployment exactly as that code did (desks signed into the
key log, one investigator on the anti-corruption desk, one report, a message
from the desk and one from the reporter) and dumps every table row by row
(bytes as hex) with the secrets, the receipt and the password, so that
``tests/functional/test_case_key_epochs.py`` can load it into a database at
revision 0012 (SQLite or PostgreSQL) and upgrade it.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from caseflow.clock import STOCKHOLM  # noqa: E402
from caseflow.domain.commands import Acknowledge  # noqa: E402
from caseflow.service.cases import CaseService, Step  # noqa: E402
from caseflow.service.intake import Intake, Report, message_item  # noqa: E402
from caseflow.store import create_engine, migrate  # noqa: E402
from config.settings import load_settings  # noqa: E402
from crypto.sealing import seal_item  # noqa: E402
from crypto.signing import Signer  # noqa: E402
from identity import accounts  # noqa: E402
from identity.bootstrap import bootstrap  # noqa: E402
from identity.key_log import OPERATOR  # noqa: E402

#: The test fixture's cost (below the floor, which the flag allows).
OLD_COST = {
    "kdf_time_cost": 1,
    "kdf_memory_kib": 8,
    "kdf_parallelism": 1,
    "insecure_test_kdf": True,
}
PASSWORD = "gammal häst batteri häfta"
DESK = "anticorruption"


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        url = f"sqlite:///{data_dir / 'visselpipa.sqlite3'}"
        secret_values = {
            "secret_key": secrets.token_urlsafe(40),
            "tenant_salt": secrets.token_hex(16),
            "signing_seed": secrets.token_hex(32),
        }
        settings = load_settings(
            environ={},
            overrides={**secret_values, **OLD_COST, "data_dir": str(data_dir), "database_url": url},
        )
        engine = create_engine(url)
        migrate(engine)
        made = bootstrap(engine, settings)
        with engine.begin() as conn:
            member, _ = accounts.create_staff(
                conn, "gunnar", "investigator", PASSWORD, settings.kdf
            )
            accounts.add_desk_member(
                conn,
                DESK,
                member.id,
                made.created_desks[DESK],
                Signer(settings.signing_seed),
                OPERATOR,
            )
        now = datetime(2026, 3, 2, 10, 0, tzinfo=STOCKHOLM)
        cases = CaseService(engine, settings.rules)
        intake = Intake(engine, settings, cases, clock=lambda: now)
        submission = intake.begin()
        receipt = intake.submit(
            submission,
            Report("bribery", "tullverket", "Mutor vid upphandlingen 2025.", contact="tel 070-1"),
        )
        access = intake.open_case(str(receipt))
        assert access is not None
        message_id = secrets.token_hex(8)
        sealed = seal_item(access.key, access.case_id, message_item(message_id), b"Tack, vi ser")
        cases.execute(
            access.case_id,
            [
                Step(
                    Acknowledge(case_id=access.case_id, actor=member.id, message_id=message_id),
                    {"CaseAcknowledged": sealed},
                )
            ],
        )
        intake.add_message(access, "Jag har fler kvitton.")
        tables = {}
        with engine.connect() as conn:
            revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            inspector = sa.inspect(conn)
            for name in inspector.get_table_names():
                if name == "alembic_version":
                    continue
                rows = conn.execute(sa.text(f'SELECT * FROM "{name}"')).mappings().all()
                tables[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
        engine.dispose()
    document = {
        "made_by": "tests/data/make_deployment_0012.py at commit 8c4618e",
        "revision": revision,
        "settings": {**secret_values, **OLD_COST},
        "receipt": str(receipt),
        "case_id": access.case_id,
        "staff": {"username": "gunnar", "password": PASSWORD, "desk": DESK},
        "recovery_key": bytes(made.recovery_key or b"").hex(),
        "tables": tables,
    }
    out = Path(__file__).with_name("deployment_0012.json")
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {out}")


def _plain(value: object) -> object:
    if isinstance(value, bytes | memoryview):
        return {"hex": bytes(value).hex()}
    return value


if __name__ == "__main__":
    main()
