"""The privacy notice, the record of processing and data-subject requests, from configuration."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from app.cli import main
from caseflow.store import create_engine
from caseflow.store.data_subject_requests import data_subject_requests_table
from tests.functional.conftest import cli_env
from tests.functional.pages import text_of


def test_the_notice_is_linked_from_every_page_and_says_what_the_settings_do(deployment):
    client = deployment.client()
    for path in ("/", "/report", "/status", "/external", "/staff/login"):
        assert 'href="/privacy"' in client.get(path).get_data(as_text=True), path
    sv = text_of(client.get("/privacy").get_data(as_text=True))
    assert "Integritetsmeddelande" in sv
    assert "högst 2 år efter att ärendet avslutats" in sv  # rules.retention_years
    assert f"slutar efter {deployment.settings.reporter_session_minutes} minuter" in sv
    assert "17 kap. 3 b §" in sv  # the secrecy that protects the reporter
    assert "granskas av myndighetens jurist" in sv  # marked for legal review
    client.get("/lang/en")
    en = text_of(client.get("/privacy").get_data(as_text=True))
    assert "Privacy notice" in en and "Controller" in en and "Data-protection officer" in en
    assert "at most 2 years after the case is closed" in en
    assert "GDPR art. 23" in en


def test_the_notice_follows_a_shorter_retention(database_url, tmp_path):
    from app import create_app
    from caseflow.store import migrate
    from identity.bootstrap import bootstrap
    from tests.functional.conftest import make_settings

    rules = tmp_path / "rules"
    rules.mkdir()
    from config.settings import PACKAGE_DIR

    for f in (PACKAGE_DIR / "rules").iterdir():
        text = f.read_text()
        if f.name == "deadlines.toml":
            text = text.replace("retention_years = 2", "retention_years = 1")
        (rules / f.name).write_text(text)
    settings = make_settings(database_url, tmp_path / "data", rules_dir=str(rules))
    engine = create_engine(settings.database_url)
    migrate(engine)
    bootstrap(engine, settings)
    app = create_app(settings, {"TESTING": True})
    try:
        page = app.test_client().get("/privacy", base_url="https://localhost")
        assert "högst 1 år efter att ärendet avslutats" in text_of(page.get_data(as_text=True))
    finally:
        app.extensions["visselpipa.engine"].dispose()
        engine.dispose()


def test_the_record_of_processing_activities_is_printed_from_the_same_configuration(
    database_url, tmp_path
):
    env = cli_env(database_url, tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    result = runner.invoke(main, ["processing-record", "--locale", "en"], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    for heading in (
        "Record of processing activities (GDPR art. 30)",
        "Controller (30.1 a)",
        "Purposes (30.1 b)",
        "Categories of data subjects and personal data (30.1 c)",
        "Recipients (30.1 d)",
        "Transfers to third countries (30.1 e)",
        "Time limits for erasure (30.1 f)",
        "Security measures (30.1 g)",
    ):
        assert heading in out
    assert "internal reporting channel (Act 2021:890)" in out
    assert "at most 2 years after the case is closed" in out
    external = runner.invoke(
        main, ["processing-record"], env={**env, "VISSELPIPA_CHANNEL_TYPE": "external"}
    )
    assert "extern rapporteringskanal, behörig myndighet" in external.output


def test_a_request_is_recorded_with_its_decision_and_ground_and_listed(database_url, tmp_path):
    env = cli_env(database_url, tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    assert (
        "no data-subject requests recorded"
        in runner.invoke(main, ["data-subject-request", "list"], env=env).output
    )
    ground = "Art. 23 GDPR; 17 kap. 3 b § OSL: uppgiften kan röja den rapporterande"
    base = ["data-subject-request", "record", "--received", "2026-01-10", "--kind", "access"]
    base += ["--reference", "Dnr 2026/123", "--by", "dataskyddsombudet"]

    # A decision without its legal ground is refused, and nothing is stored.
    refused = runner.invoke(
        main, [*base, "--decision", "refused", "--decided", "2026-01-20"], env=env
    )
    assert refused.exit_code != 0 and "a decision needs its legal ground" in refused.output
    bad_kind = runner.invoke(
        main, [*base[:5], "forget-me", *base[6:], "--decision", "pending"], env=env
    )
    assert bad_kind.exit_code != 0

    done = runner.invoke(
        main,
        [*base, "--decision", "refused", "--decided", "2026-01-20", "--ground", ground],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert "recorded request" in done.output
    listed = runner.invoke(main, ["data-subject-request", "list"], env=env).output
    [line] = listed.strip().splitlines()
    assert line.split("\t")[1:] == [
        "2026-01-10",
        "access",
        "Dnr 2026/123",
        "refused",
        "2026-01-20",
        ground,
        "dataskyddsombudet",
    ]
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert (
                conn.execute(
                    sa.select(sa.func.count()).select_from(data_subject_requests_table)
                ).scalar_one()
                == 1
            )
    finally:
        engine.dispose()
