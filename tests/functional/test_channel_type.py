"""The channel type decides whether the feedback deadline can be extended, on the case page too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from caseflow.store import create_engine, events_table, migrate
from identity.bootstrap import bootstrap
from tests.functional.conftest import Deployment, make_settings
from tests.functional.pages import submit_report, text_of
from tests.functional.workspace_pages import act, offered, signed_in

REPORT = "Chefen lät sin brors firma vinna upphandlingen av städtjänster trots högre pris."


@pytest.fixture
def external(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """A competent authority's deployment: ``channel_type = "external"``."""
    settings = make_settings(database_url, tmp_path / "data", channel_type="external")
    engine = create_engine(settings.database_url)
    migrate(engine)
    boot = bootstrap(engine, settings)
    app = create_app(settings, {"TESTING": True})
    try:
        yield Deployment(app, settings, engine, boot.created_desks)
    finally:
        app.extensions["visselpipa.engine"].dispose()
        engine.dispose()


def _acknowledged_case(deployment: Deployment):
    status, page = submit_report(deployment.client(), what=REPORT)
    assert status == 200, text_of(page)
    with deployment.engine.connect() as conn:
        case_id = conn.execute(
            sa.select(events_table.c.stream_id).where(events_table.c.type == "ReportReceived")
        ).scalar_one()
    anna, _ = signed_in(deployment, "anna")
    assert (
        act(anna, case_id, "acknowledge", message="Vi har tagit emot din rapport.").status_code
        == 303
    )
    return anna, case_id


def _extensions(deployment: Deployment, case_id: str) -> list[dict]:
    with deployment.engine.connect() as conn:
        return [
            json.loads(meta) if isinstance(meta, str) else dict(meta)
            for meta in conn.execute(
                sa.select(events_table.c.meta).where(
                    events_table.c.stream_id == case_id,
                    events_table.c.type == "FeedbackDeadlineExtended",
                )
            ).scalars()
        ]


def test_an_internal_channel_never_offers_an_extension(deployment):
    anna, case_id = _acknowledged_case(deployment)
    page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "give_feedback" in offered(page)
    assert "extend_feedback_deadline" not in offered(page)
    # Not even a hand-made form gets through.
    response = anna.post(
        f"/staff/cases/{case_id}",
        data={"action": "extend_feedback_deadline", "version": "3"},
    )
    assert response.status_code in (400, 409)
    assert _extensions(deployment, case_id) == []


def test_an_external_channel_extends_with_a_chosen_reason_up_to_six_months(external):
    anna, case_id = _acknowledged_case(external)
    page = anna.get(f"/staff/cases/{case_id}").get_data(as_text=True)
    assert "extend_feedback_deadline" in offered(page)

    # No reason chosen: the form comes back with a message, nothing stored.
    missing = act(anna, case_id, "extend_feedback_deadline", months="2")
    assert missing.status_code == 400
    assert "Välj varför ärendet behöver längre tid." in text_of(missing.get_data(as_text=True))
    assert _extensions(external, case_id) == []

    done = act(anna, case_id, "extend_feedback_deadline", months="3", reason="complex_matter")
    assert done.status_code == 303
    [extension] = _extensions(external, case_id)
    assert extension["reason"] == "complex_matter"

    # Six months in total is the most the law allows: a further month is refused.
    refused = act(anna, case_id, "extend_feedback_deadline", months="1", reason="many_reports")
    assert refused.status_code == 409
    assert "6 months in total" in text_of(refused.get_data(as_text=True))
    assert len(_extensions(external, case_id)) == 1
