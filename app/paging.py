"""Page numbers for long lists (the inbox, the oversight page): one component for all.

A list is cut into pages on the server; the links keep every other query
parameter, so filters and order survive paging and each page has its own
address. The template half is the ``pages`` macro of ``staff/_pages.html``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Page numbers shown on each side of the current one (the first and last always are).
AROUND = 2


@dataclass(frozen=True)
class Paging:
    page: int
    pages: int

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    def numbers(self) -> list[int | None]:
        """The page numbers to link, None where a run of them is left out.

        >>> Paging(7, 20).numbers()
        [1, None, 5, 6, 7, 8, 9, None, 20]
        """
        near = range(max(1, self.page - AROUND), min(self.pages, self.page + AROUND) + 1)
        out: list[int | None] = []
        last = 0
        for n in sorted({1, self.pages, *near}):
            if n - last > 1:
                out.append(None)
            out.append(n)
            last = n
        return out


def paged(page: int, total: int, size: int) -> tuple[Paging, int]:
    """The page asked for, kept within 1 .. last, and the offset of its first item.

    A page past the end shows the last one, not an empty list: a bookmark
    of page 9 still works when the list has shrunk to 8 pages.
    """
    pages = max(1, -(-total // size))
    current = min(max(1, page), pages)
    return Paging(current, pages), (current - 1) * size
