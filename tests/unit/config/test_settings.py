"""The app refuses to start on a missing secret or invalid setting, naming it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import create_app
from config.settings import PACKAGE_DIR, ConfigError, load_reference, load_settings

GOOD = {
    "VISSELPIPA_SECRET_KEY": "s" * 40,
    "VISSELPIPA_TENANT_SALT": "ab" * 16,
    "VISSELPIPA_SIGNING_SEED": "cd" * 32,
}

MAIL = {
    "VISSELPIPA_SMTP_HOST": "smtp.myndighet.example",
    "VISSELPIPA_MAIL_FROM": "visselpipa@myndighet.example",
    "VISSELPIPA_BASE_URL": "https://visselpipa.myndighet.example/",
}


def test_mail_is_off_by_default_and_configured_with_its_password_kept_out_of_repr(tmp_path):
    off = load_settings({**GOOD, "VISSELPIPA_DATA_DIR": str(tmp_path)})
    assert not off.mail.enabled
    assert (off.mail.digest_hour, off.mail.digest_minute) == (7, 0)
    assert off.mail.deadline_notice_days == 2
    (tmp_path / "secrets.toml").write_text('smtp_password = "hemligt-smtp-lösen"\n')
    on = load_settings(
        {**GOOD, **MAIL, "VISSELPIPA_DATA_DIR": str(tmp_path), "VISSELPIPA_MAIL_DIGEST_AT": "6:30"}
    )
    assert on.mail.enabled and on.mail.smtp_security == "starttls" and on.mail.smtp_port == 587
    assert on.mail.smtp_password == "hemligt-smtp-lösen"
    assert on.mail.base_url == "https://visselpipa.myndighet.example"
    assert (on.mail.digest_hour, on.mail.digest_minute) == (6, 30)
    assert "hemligt" not in repr(on) + repr(on.mail)


def test_defaults_load_with_secrets_from_the_environment(tmp_path):
    settings = load_settings({**GOOD, "VISSELPIPA_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'visselpipa.sqlite3'}"
    assert settings.default_locale == "sv"
    assert settings.kdf.memory_kib >= 65536  # production default: at least 64 MiB
    assert "s" * 40 not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VISSELPIPA_TENANT_SALT": "ab" * 16}, "secret_key"),
        ({"VISSELPIPA_SECRET_KEY": "s" * 40}, "tenant_salt"),
        ({**GOOD, "VISSELPIPA_TENANT_SALT": "xyz"}, "tenant_salt"),
        ({**GOOD, "VISSELPIPA_SIGNING_SEED": "ab" * 31}, "signing_seed"),
        ({**GOOD, "VISSELPIPA_SIGNING_SEED": ""}, "signing_seed"),
        ({**GOOD, "VISSELPIPA_SECRET_KEY": "short"}, "secret_key"),
        ({**GOOD, "VISSELPIPA_KDF_MEMORY_KIB": "lots"}, "kdf_memory_kib"),
        ({**GOOD, "VISSELPIPA_MAX_FILES": "-1"}, "max_files"),
        ({**GOOD, "VISSELPIPA_DATABASE_URL": "mysql://x"}, "database_url"),
        ({**GOOD, "VISSELPIPA_DEFAULT_LOCALE": "de"}, "default_locale"),
        ({**GOOD, "VISSELPIPA_PLAIN_HTTP": "perhaps"}, "plain_http"),
        ({**GOOD, "VISSELPIPA_DATABSE_URL": "sqlite:///x"}, "databse_url"),
        ({**GOOD, "VISSELPIPA_METRICS_TOKEN": "short"}, "metrics_token"),
        ({**GOOD, "VISSELPIPA_METRICS_TOKEN": "t" * 40 + "\n"}, "metrics_token"),
        ({**GOOD, "VISSELPIPA_SMTP_SECURITY": "tls"}, "smtp_security"),
        ({**GOOD, "VISSELPIPA_MAIL_DIGEST_AT": "7 o'clock"}, "mail_digest_at"),
        ({**GOOD, "VISSELPIPA_MAIL_DIGEST_AT": "24:00"}, "mail_digest_at"),
        ({**GOOD, "VISSELPIPA_DEADLINE_NOTICE_DAYS": "-1"}, "deadline_notice_days"),
        ({**GOOD, **MAIL, "VISSELPIPA_MAIL_FROM": ""}, "mail_from"),
        ({**GOOD, **MAIL, "VISSELPIPA_BASE_URL": "visselpipa.example"}, "base_url"),
        # In the clear only to a relay on this machine.
        ({**GOOD, **MAIL, "VISSELPIPA_SMTP_SECURITY": "none"}, "smtp_security"),
    ],
)
def test_bad_or_missing_setting_is_named(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        load_settings({**env, "VISSELPIPA_DATA_DIR": str(tmp_path)})


def test_app_factory_refuses_to_start_without_secrets(tmp_path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("VISSELPIPA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("VISSELPIPA_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="secret_key"):
        create_app()


def test_config_file_named_in_environment_is_read(tmp_path):
    extra = tmp_path / "site.toml"
    extra.write_text("max_files = 2\n", encoding="utf-8")
    settings = load_settings(
        {**GOOD, "VISSELPIPA_DATA_DIR": str(tmp_path), "VISSELPIPA_CONFIG": str(extra)}
    )
    assert settings.max_files == 2


def test_broken_config_file_names_the_file(tmp_path):
    extra = tmp_path / "site.toml"
    extra.write_text("max_files = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="site.toml"):
        load_settings(
            {**GOOD, "VISSELPIPA_DATA_DIR": str(tmp_path), "VISSELPIPA_CONFIG": str(extra)}
        )


def test_reference_lists_are_realistic():
    reference = load_reference()
    agencies = {a.id for a in reference["agencies"]}
    assert {"skatteverket", "forsakringskassan", "trafikverket"} <= agencies
    assert len(agencies) >= 30
    assert {c.id for c in reference["categories"]} >= {"bribery", "procurement", "partisan_bias"}


def _copy_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGE_DIR / "rules", rules)
    return rules


def test_a_category_without_a_route_stops_the_start(tmp_path: Path):
    rules = _copy_rules(tmp_path)
    text = (rules / "routing.toml").read_text(encoding="utf-8")
    (rules / "routing.toml").write_text(
        text.replace('[categories.fraud]\ndesk = "anticorruption"\n', ""), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"routing.toml: key categories.fraud: .* no route"):
        load_settings(
            {**GOOD, "VISSELPIPA_DATA_DIR": str(tmp_path), "VISSELPIPA_RULES_DIR": str(rules)}
        )


def test_a_broken_rule_file_stops_the_start_with_file_and_key(tmp_path: Path):
    rules = _copy_rules(tmp_path)
    text = (rules / "deadlines.toml").read_text(encoding="utf-8")
    (rules / "deadlines.toml").write_text(
        text.replace("acknowledge_within_days = 7", 'acknowledge_within_days = "a week"'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"deadlines.toml.*acknowledge_within_days"):
        load_settings(
            {**GOOD, "VISSELPIPA_DATA_DIR": str(tmp_path), "VISSELPIPA_RULES_DIR": str(rules)}
        )


# --- the Argon2id floor -----------------------------------------------------------


def test_the_production_cost_is_at_or_above_the_floor(tmp_path):
    from crypto.kdf import MINIMUM_COST, PRODUCTION_COST

    settings = load_settings({**GOOD, "VISSELPIPA_DATA_DIR": str(tmp_path)})
    assert settings.kdf == PRODUCTION_COST
    assert not settings.insecure_test_kdf
    assert (MINIMUM_COST.time_cost, MINIMUM_COST.memory_kib) == (2, 19456)  # OWASP's first pair
    assert settings.kdf.time_cost >= MINIMUM_COST.time_cost
    assert settings.kdf.memory_kib >= MINIMUM_COST.memory_kib
    assert settings.kdf.meets_floor()


@pytest.mark.parametrize(
    ("cost", "named"),
    [
        ({"VISSELPIPA_KDF_TIME_COST": "1"}, "kdf_time_cost"),
        ({"VISSELPIPA_KDF_MEMORY_KIB": "19455"}, "kdf_memory_kib"),
        ({"VISSELPIPA_KDF_TIME_COST": "1", "VISSELPIPA_KDF_MEMORY_KIB": "8"}, "kdf_time_cost"),
    ],
)
def test_a_cost_below_the_floor_refuses_to_start_without_the_test_flag(tmp_path, cost, named):
    env = {**GOOD, **cost, "VISSELPIPA_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigError) as refused:
        load_settings(env)
    message = str(refused.value)
    assert named in message
    assert "t=2" in message and "19456" in message
    assert "VISSELPIPA_INSECURE_TEST_KDF" in message
    with pytest.raises(ConfigError, match=named):
        load_settings(env, {"insecure_test_kdf": "0"})
    allowed = load_settings({**env, "VISSELPIPA_INSECURE_TEST_KDF": "1"})
    assert allowed.insecure_test_kdf and not allowed.kdf.meets_floor()


def test_the_floor_itself_starts(tmp_path):
    env = {
        **GOOD,
        "VISSELPIPA_DATA_DIR": str(tmp_path),
        "VISSELPIPA_KDF_TIME_COST": "2",
        "VISSELPIPA_KDF_MEMORY_KIB": "19456",
    }
    assert load_settings(env).kdf.meets_floor()
