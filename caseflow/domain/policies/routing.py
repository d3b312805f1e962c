"""Where a report goes, who is consulted, and who must never hold its key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from caseflow.domain.errors import CaseflowError
from caseflow.domain.rules import RoutingRules


class UnknownCategory(CaseflowError):
    def __init__(self, category: str, known: Sequence[str]) -> None:
        super().__init__(
            f"unknown report category {category!r} (routing.toml knows {sorted(known)})"
        )
        self.category = category


@dataclass(frozen=True)
class Route:
    desk: str
    consulted_desks: tuple[str, ...]
    inform_oversight: bool
    reason: str


def route_report(
    category: str,
    rules: RoutingRules,
    *,
    also_concerns: Sequence[str] = (),
    named_staff: Sequence[str] = (),
    senior_officials_involved: bool = False,
    desk_members: Mapping[str, frozenset[str]] | None = None,
) -> Route:
    """The desk for a report: its category's desk, unless everyone there is named in it.

    A mixed report (``also_concerns``, or a category with consulted desks) is
    handled by the first category's desk and consults the others. A desk whose
    every known member is named in the report cannot handle it impartially: the
    case goes to oversight. ``desk_members`` may be empty when membership is not
    known; the named staff are then only recused, one by one.
    """
    for name in (category, *also_concerns):
        if name not in rules.categories:
            raise UnknownCategory(name, list(rules.categories))
    primary = rules.categories[category]
    consulted: list[str] = list(primary.consulted)
    for name in also_concerns:
        route = rules.categories[name]
        consulted.extend([route.desk, *route.consulted])
    members = desk_members or {}
    named = frozenset(named_staff)
    desk, reason = primary.desk, f"category {category} goes to {primary.desk}"
    if whole_desk_recused(members.get(desk, frozenset()), named):
        desk = substitute_for(primary.desk, rules, members, named)
        reason = f"every member of {primary.desk} is named in the report: {desk} handles it"
    kept = tuple(
        dict.fromkeys(
            other
            for other in consulted
            if other != desk and not whole_desk_recused(members.get(other, frozenset()), named)
        )
    )
    inform = (
        senior_officials_involved
        and rules.inform_oversight_of_senior_officials
        and desk != rules.oversight_desk
    )
    return Route(desk=desk, consulted_desks=kept, inform_oversight=inform, reason=reason)


def substitute_for(
    desk: str,
    rules: RoutingRules,
    members: Mapping[str, frozenset[str]],
    recused: frozenset[str],
) -> str:
    """The desk that takes a case none of ``desk``'s members may handle.

    Its configured substitute, else the oversight desk; if that one is all
    recused too, the next along the same chain, then any desk (in the order
    routing.toml lists them) with a member who is not recused. A case is
    never left with a desk that nobody may open it at, as long as any such
    desk exists; if none does, the oversight desk (an empty desk counts as
    not recused: its members are unknown).
    """
    seen = {desk}
    current = desk
    while True:
        nxt = rules.substitutes.get(current) or (
            rules.oversight_desk if current != rules.oversight_desk else ""
        )
        if not nxt or nxt in seen:
            break
        if not whole_desk_recused(members.get(nxt, frozenset()), recused):
            return nxt
        seen.add(nxt)
        current = nxt
    for other in rules.desk_order or sorted(rules.desks):
        if other not in seen and not whole_desk_recused(members.get(other, frozenset()), recused):
            return other
    return rules.oversight_desk


def whole_desk_recused(members: frozenset[str], recused: frozenset[str]) -> bool:
    """Whether no member of a (known, non-empty) desk may handle the case."""
    return bool(members) and members <= recused


def may_hold_key(staff_id: str, recused: frozenset[str]) -> bool:
    """A staff member named in the report or with a declared conflict never holds the key."""
    return staff_id not in recused
