"""Rule files: a bad file stops the start with the file, the key and the reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from caseflow_helpers import RULES_DIR

from caseflow.domain.errors import RuleFileError
from caseflow.domain.rules import load_rules


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_checked_in_rules_load() -> None:
    rules = load_rules(RULES_DIR)
    assert rules.deadlines.acknowledge_within_days == 7
    assert rules.deadlines.feedback_within_months == 3
    assert rules.sanctions.quorum == 2
    assert rules.routing.categories["conflict_of_interest"].consulted == ("ethics",)


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "reason"),
    [
        # missing key
        ("deadlines.toml", "retention_years = 2", "", "retention_years", "missing key"),
        ("routing.toml", 'oversight_desk = "oversight"', "", "oversight_desk", "missing key"),
        ("escalation.toml", 'refer_to = "JO"', "", "systemic.refer_to", "missing key"),
        # wrong type
        (
            "deadlines.toml",
            "acknowledge_within_days = 7",
            'acknowledge_within_days = "7"',
            "acknowledge_within_days",
            "expected an integer, got a string",
        ),
        (
            "sanctions.toml",
            "quorum = 2",
            "quorum = true",
            "quorum",
            "expected an integer, got a boolean",
        ),
        (
            "routing.toml",
            'desks = ["anticorruption", "ethics", "oversight"]',
            'desks = "ethics"',
            "desks",
            "expected a list of strings",
        ),
        (
            "escalation.toml",
            "after_days = 3",
            "after_days = 3.5",
            "ladder[1].after_days",
            "expected an integer, got a number",
        ),
        # unknown desk
        (
            "routing.toml",
            'desk = "ethics"',
            'desk = "hr"',
            "categories.partisan_bias.desk",
            "unknown desk 'hr'",
        ),
        (
            "routing.toml",
            'consulted = ["ethics"]',
            'consulted = ["legal"]',
            "categories.conflict_of_interest.consulted[0]",
            "unknown desk 'legal'",
        ),
        (
            "escalation.toml",
            'notify_desk = "oversight"',
            'notify_desk = "kof"',
            "systemic.notify_desk",
            "unknown desk 'kof'",
        ),
        # unknown value, unknown key, the law's bounds, the ladder's order
        (
            "sanctions.toml",
            'high = "demotion"',
            'high = "fine"',
            "severity_floor.high",
            "unknown value 'fine'",
        ),
        (
            "deadlines.toml",
            "retention_years = 2",
            "retention_years = 2\nretension = 1",
            "retension",
            "unknown key",
        ),
        (
            "deadlines.toml",
            "feedback_within_months = 3",
            "feedback_within_months = 4",
            "feedback_within_months",
            "allows at most 3 months",
        ),
        (
            "deadlines.toml",
            "acknowledge_within_days = 7",
            "acknowledge_within_days = 10",
            "acknowledge_within_days",
            "allows at most 7 days",
        ),
        ("sanctions.toml", "quorum = 2", "quorum = 1", "quorum", "four eyes"),
        (
            "sanctions.toml",
            'ladder = ["warning", "demotion", "dismissal"]',
            'ladder = ["demotion", "warning"]',
            "ladder[1]",
            "levels must climb",
        ),
        (
            "escalation.toml",
            'level = "desk_lead"',
            'level = "assignee"',
            "ladder[1].level",
            "levels must climb",
        ),
    ],
)
def test_a_bad_rule_file_names_file_key_and_reason(
    rules_dir: Path, file: str, old: str, new: str, key: str, reason: str
) -> None:
    edit(rules_dir, file, old, new)
    with pytest.raises(RuleFileError) as caught:
        load_rules(rules_dir)
    error = caught.value
    assert (Path(error.file).name, error.key) == (file, key)
    assert reason in error.reason
    assert str(error).startswith(f"{rules_dir / file}: {key}: ")


def test_a_missing_rule_file_is_named(rules_dir: Path) -> None:
    (rules_dir / "sanctions.toml").unlink()
    with pytest.raises(RuleFileError, match=r"sanctions\.toml: \(file\): the rule file is missing"):
        load_rules(rules_dir)


def test_a_syntax_error_is_named(rules_dir: Path) -> None:
    edit(rules_dir, "escalation.toml", "threshold = 3", "threshold = = 3")
    with pytest.raises(RuleFileError, match=r"escalation\.toml: \(syntax\): "):
        load_rules(rules_dir)
