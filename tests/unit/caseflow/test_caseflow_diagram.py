"""The checked-in state diagram is the rendering of the transition table."""

from __future__ import annotations

from pathlib import Path

from caseflow.domain.diagram import BEGIN, DOCUMENT, END, main, render_mermaid, with_diagram
from caseflow.domain.transitions import TABLE, CommandKind, Status, Transition, TransitionTable


def test_the_checked_in_diagram_matches_the_table() -> None:
    document = DOCUMENT.read_text(encoding="utf-8")
    assert with_diagram(document, render_mermaid(TABLE)) == document, (
        "docs/caseflow.md is outdated: run python -m caseflow.domain.diagram"
    )


def test_every_transition_is_drawn() -> None:
    drawn = render_mermaid(TABLE)
    for row in TABLE:
        source = "[*]" if row.source.value == "new" else row.source.value
        assert f"    {source} --> {row.target.value} : " in drawn
        assert row.command.value in drawn


def test_the_command_rewrites_only_the_block(tmp_path: Path) -> None:
    page = tmp_path / "caseflow.md"
    page.write_text(f"# Title\n\n{BEGIN}\nold\n{END}\n\nafter\n", encoding="utf-8")
    assert main(["--check", str(page)]) == 1
    assert main([str(page)]) == 0
    assert main(["--check", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\n") and text.endswith(f"{END}\n\nafter\n")
    assert "```mermaid\nstateDiagram-v2\n" in text


def test_a_changed_table_changes_the_diagram() -> None:
    smaller = TransitionTable(list(TABLE)[:-1])
    assert render_mermaid(smaller) != render_mermaid(TABLE)
    extra = Transition(Status.SHREDDED, CommandKind.ASSIGN, Status.SHREDDED)
    assert "shredded --> shredded : assign" in render_mermaid(TransitionTable([*TABLE, extra]))
