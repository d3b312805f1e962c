"""Who may do what, as the pages and the services both read it (identity/roles.py)."""

from __future__ import annotations

from identity import roles


def test_no_one_who_administers_or_audits_works_on_content():
    assert {"administrator", "auditor"}.isdisjoint(roles.CASE_ROLES)
    assert {"administrator", "auditor"}.isdisjoint(roles.DESK_ROLES)
    assert roles.ADMIN_ROLES.isdisjoint(roles.CASE_ROLES | roles.STATISTICS_ROLES)


def test_every_set_names_only_known_roles():
    known = set(roles.ROLES)
    for group in (
        roles.CASE_ROLES,
        roles.DESK_ROLES,
        roles.ADMIN_ROLES,
        roles.OVERSIGHT_ROLES,
        roles.STATISTICS_ROLES,
        {roles.COMMITTEE_ROLE},
    ):
        assert group <= known
    assert len(roles.ROLES) == len(known)
