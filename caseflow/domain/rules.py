"""The rule files in ``config/rules/``, read once at start and checked thoroughly.

:func:`load_rules` is the only function of the domain that touches files. A
bad file stops the start with :class:`RuleFileError` naming the file, the key
and the reason: an unknown key (a typo) is an error too, since a silently
ignored setting is a deadline nobody enforces.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from caseflow.domain.errors import RuleFileError
from caseflow.domain.vocabulary import ChannelType, EscalationLevel, SanctionLevel, Severity

ROUTING_FILE = "routing.toml"
DEADLINES_FILE = "deadlines.toml"
ESCALATION_FILE = "escalation.toml"
SANCTIONS_FILE = "sanctions.toml"

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class CategoryRoute:
    desk: str
    consulted: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingRules:
    desks: frozenset[str]
    oversight_desk: str
    categories: Mapping[str, CategoryRoute]
    inform_oversight_of_senior_officials: bool = True
    #: The desk that takes a case when every member of its desk is recused
    #: (``[substitutes]`` in routing.toml); a desk not named there goes to
    #: ``oversight_desk``, and that one to the first desk of ``desk_order``
    #: that is not all recused (see routing.substitute_for).
    substitutes: Mapping[str, str] = field(default_factory=dict)
    #: ``desks`` in the order routing.toml lists them.
    desk_order: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeadlineRules:
    """Periods of EU directive 2019/1937 art. 9 and the Swedish Act 2021:890."""

    acknowledge_within_days: int = 7
    feedback_within_months: int = 3
    max_extension_months: int = 3
    inactivity_reminder_days: int = 14
    recommendation_due_days: int = 90
    retention_years: int = 2
    retention_warning_days: int = 30
    #: Internal (an agency's own channel) or external (a competent authority):
    #: the setting ``channel_type``, not a rule file, since it says what the
    #: deployment is rather than how it works.
    channel: ChannelType = ChannelType.INTERNAL


@dataclass(frozen=True)
class EscalationStepRule:
    level: EscalationLevel
    after_days: int  # days after the missed deadline


@dataclass(frozen=True)
class EscalationRules:
    ladder: tuple[EscalationStepRule, ...]
    systemic_threshold: int
    systemic_window_days: int
    systemic_notify_desk: str
    systemic_refer_to: str


@dataclass(frozen=True)
class SanctionRules:
    ladder: tuple[SanctionLevel, ...]
    window_days: int
    quorum: int
    severity_floor: Mapping[Severity, SanctionLevel]
    recommendation_due_days: int


@dataclass(frozen=True)
class Rules:
    routing: RoutingRules
    deadlines: DeadlineRules
    escalation: EscalationRules
    sanctions: SanctionRules


def load_rules(directory: Path) -> Rules:
    """Read and check the four rule files in ``directory``."""
    routing = _routing(_Table.read(directory, ROUTING_FILE))
    deadlines = _deadlines(_Table.read(directory, DEADLINES_FILE))
    escalation = _escalation(_Table.read(directory, ESCALATION_FILE), routing.desks)
    sanctions = _sanctions(_Table.read(directory, SANCTIONS_FILE))
    return Rules(routing=routing, deadlines=deadlines, escalation=escalation, sanctions=sanctions)


def _routing(table: _Table) -> RoutingRules:
    desks = table.texts("desks", non_empty=True)
    known = frozenset(desks)
    oversight = table.desk("oversight_desk", known)
    inform = table.boolean("inform_oversight_of_senior_officials")
    categories: dict[str, CategoryRoute] = {}
    for name, entry in table.subtables("categories"):
        desk = entry.desk("desk", known)
        consulted = entry.texts("consulted", default=())
        for index, other in enumerate(consulted):
            if other not in known:
                raise entry.error(
                    f"consulted[{index}]", f"unknown desk {other!r} (desks: {sorted(known)})"
                )
            if other == desk:
                raise entry.error(f"consulted[{index}]", "a desk cannot consult itself")
        entry.done()
        categories[name] = CategoryRoute(desk=desk, consulted=consulted)
    if not categories:
        raise table.error("categories", "at least one category is needed")
    substitutes: dict[str, str] = {}
    if "substitutes" in table.data:
        entries = table.table("substitutes")
        for name in entries.names():
            if name not in known:
                raise entries.error(name, f"unknown desk {name!r} (desks: {sorted(known)})")
            substitute = entries.desk(name, known)
            if substitute == name:
                raise entries.error(name, "a desk cannot substitute for itself")
            substitutes[name] = substitute
        entries.done()
    table.done()
    return RoutingRules(
        desks=known,
        oversight_desk=oversight,
        categories=MappingProxyType(categories),
        inform_oversight_of_senior_officials=inform,
        substitutes=MappingProxyType(substitutes),
        desk_order=desks,
    )


def _deadlines(table: _Table) -> DeadlineRules:
    law = "EU directive 2019/1937 art. 9 allows at most"
    rules = DeadlineRules(
        acknowledge_within_days=table.integer("acknowledge_within_days", 1, 7, f"{law} 7 days"),
        feedback_within_months=table.integer("feedback_within_months", 1, 3, f"{law} 3 months"),
        max_extension_months=table.integer("max_extension_months", 1, 3),
        inactivity_reminder_days=table.integer("inactivity_reminder_days", 1, 365),
        recommendation_due_days=table.integer("recommendation_due_days", 1, 3650),
        retention_years=table.integer(
            "retention_years", 0, 2, "the Swedish Act 2021:890 ch. 7 allows at most 2 years"
        ),
        retention_warning_days=table.integer("retention_warning_days", 1, 365),
    )
    table.done()
    return rules


def _escalation(table: _Table, desks: frozenset[str]) -> EscalationRules:
    ladder: list[EscalationStepRule] = []
    for index, step in enumerate(table.array("ladder")):
        level = step.choice("level", EscalationLevel)
        after = step.integer("after_days", 0, 365)
        step.done()
        if ladder and (
            list(EscalationLevel).index(level) <= list(EscalationLevel).index(ladder[-1].level)
        ):
            raise table.error(
                f"ladder[{index}].level", "levels must climb: assignee, desk_lead, oversight"
            )
        if ladder and after < ladder[-1].after_days:
            raise table.error(
                f"ladder[{index}].after_days", "must not be earlier than the step before"
            )
        ladder.append(EscalationStepRule(level=level, after_days=after))
    if not ladder:
        raise table.error("ladder", "at least one step is needed")
    systemic = table.table("systemic")
    rules = EscalationRules(
        ladder=tuple(ladder),
        systemic_threshold=systemic.integer("threshold", 2, 1000),
        systemic_window_days=systemic.integer("window_days", 1, 3650),
        systemic_notify_desk=systemic.desk("notify_desk", desks),
        systemic_refer_to=systemic.text("refer_to"),
    )
    systemic.done()
    table.done()
    return rules


def _sanctions(table: _Table) -> SanctionRules:
    levels = table.texts("ladder", non_empty=True)
    ladder: list[SanctionLevel] = []
    for index, name in enumerate(levels):
        level = _member(SanctionLevel, name, table, f"ladder[{index}]")
        if ladder and list(SanctionLevel).index(level) <= list(SanctionLevel).index(ladder[-1]):
            raise table.error(f"ladder[{index}]", "levels must climb: warning, demotion, dismissal")
        ladder.append(level)
    floors: dict[Severity, SanctionLevel] = {}
    floor_table = table.table("severity_floor")
    for name in floor_table.names():
        severity = _member(Severity, name, floor_table, name)
        level = floor_table.choice(name, SanctionLevel)
        if level not in ladder:
            raise floor_table.error(name, f"{level.value!r} is not on the ladder {levels}")
        floors[severity] = level
    floor_table.done()
    rules = SanctionRules(
        ladder=tuple(ladder),
        window_days=table.integer("window_days", 1, 36500),
        # Four eyes at least: one member alone never decides a sanction.
        quorum=table.integer("quorum", 2, 100, "four eyes: a quorum of at least 2"),
        severity_floor=MappingProxyType(floors),
        recommendation_due_days=table.integer("recommendation_due_days", 1, 3650),
    )
    table.done()
    return rules


def _member(kind: type[E], raw: str, table: _Table, key: str) -> E:
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise table.error(key, f"unknown value {raw!r} (one of: {allowed})") from None


class _Table:
    """One TOML table being read: remembers which keys were used, to catch typos."""

    def __init__(self, file: str, data: Mapping[str, object], prefix: str = "") -> None:
        self.file = file
        self.data = data
        self.prefix = prefix
        self.used: set[str] = set()

    @classmethod
    def read(cls, directory: Path, name: str) -> _Table:
        path = directory / name
        try:
            with path.open("rb") as stream:
                data = tomllib.load(stream)
        except FileNotFoundError:
            raise RuleFileError(str(path), "(file)", "the rule file is missing") from None
        except tomllib.TOMLDecodeError as error:
            raise RuleFileError(str(path), "(syntax)", str(error)) from error
        return cls(str(path), data)

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, reason: str) -> RuleFileError:
        return RuleFileError(self.file, self.key(name), reason)

    def names(self) -> Iterator[str]:
        return iter(list(self.data))

    def _get(self, name: str) -> object:
        self.used.add(name)
        if name not in self.data:
            raise self.error(name, "missing key")
        return self.data[name]

    def integer(self, name: str, low: int, high: int, why: str = "") -> int:
        value = self._get(name)
        # bool is an int in Python; in a rule file ``true`` is never a number.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(name, f"expected an integer, got {_kind(value)}")
        if not low <= value <= high:
            raise self.error(
                name, f"{value} is out of range {low}..{high}" + (f" ({why})" if why else "")
            )
        return value

    def boolean(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise self.error(name, f"expected true or false, got {_kind(value)}")
        return value

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, f"expected a non-empty string, got {_kind(value)}")
        return value

    def texts(
        self, name: str, *, non_empty: bool = False, default: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        if default is not None and name not in self.data:
            self.used.add(name)
            return default
        value = self._get(name)
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.error(name, f"expected a list of strings, got {_kind(value)}")
        if non_empty and not value:
            raise self.error(name, "expected at least one entry")
        if len(set(value)) != len(value):
            raise self.error(name, "entries must not repeat")
        return tuple(value)

    def desk(self, name: str, desks: frozenset[str]) -> str:
        value = self.text(name)
        if value not in desks:
            raise self.error(name, f"unknown desk {value!r} (desks: {sorted(desks)})")
        return value

    def choice(self, name: str, kind: type[E]) -> E:
        return _member(kind, self.text(name), self, name)

    def table(self, name: str) -> _Table:
        value = self._get(name)
        if not isinstance(value, dict):
            raise self.error(name, f"expected a table, got {_kind(value)}")
        return _Table(self.file, value, f"{self.key(name)}.")

    def subtables(self, name: str) -> Iterator[tuple[str, _Table]]:
        outer = self.table(name)
        for key in outer.names():
            yield key, outer.table(key)
        outer.done()

    def array(self, name: str) -> Iterator[_Table]:
        value = self._get(name)
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(name, f"expected an array of tables ([[{name}]]), got {_kind(value)}")
        for index, item in enumerate(value):
            yield _Table(self.file, item, f"{self.key(name)}[{index}].")

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "unknown key (a typo?)")


def _kind(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    names.update({list: "a list", dict: "a table"})
    return names.get(type(value), type(value).__name__)
