"""Primary and secondary suppression of small cells (the rule: see the package docstring)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from register.stats.views import ProviderRef, StatsCellView


def suppress(
    cells: list[StatsCellView], dims: Sequence[str], threshold: int, true_persons: list[int] | None = None
) -> None:
    """Primary and secondary suppression in place (see the docstring of ``register.stats``).

    Primary: fewer persons than the threshold, true (``true_persons``, where the cells show perturbed
    figures) or shown. The second cell of a line is chosen to add as few new lone suppressions
    elsewhere as possible (a cell whose other lines already hide something), then the smallest: fewer
    cells hidden in the end.
    """
    persons = [c.persons or 0 for c in cells] if true_persons is None else true_persons

    def hashable(value: Any) -> Any:
        return (value.orgnr, value.name) if isinstance(value, ProviderRef) else value

    keys = [tuple(hashable(c.key[d]) for d in dims) for c in cells]
    # line_of[i][m]: the line of cell m along dimension i (all its other dimensions fixed)
    line_of = [[key[:i] + key[i + 1 :] for key in keys] for i in range(len(dims))]
    members: list[dict[tuple[Any, ...], list[int]]] = [defaultdict(list) for _ in dims]
    for i in range(len(dims)):
        for m, line in enumerate(line_of[i]):
            members[i][line].append(m)
    hidden_in: list[dict[tuple[Any, ...], int]] = [defaultdict(int) for _ in dims]
    hidden = [False] * len(cells)

    def hide(m: int) -> None:
        hidden[m] = True
        for i in range(len(dims)):
            hidden_in[i][line_of[i][m]] += 1

    def new_lone_lines(m: int, along: int) -> int:
        return sum(
            1
            for j in range(len(dims))
            if j != along and hidden_in[j][line_of[j][m]] == 0 and len(members[j][line_of[j][m]]) > 1
        )

    for m, cell in enumerate(cells):
        if persons[m] < threshold or (cell.persons is not None and cell.persons < threshold):
            hide(m)
    changed = True
    while changed:
        changed = False
        for i in range(len(dims)):
            for line, line_members in members[i].items():
                if hidden_in[i][line] != 1 or len(line_members) < 2:
                    continue
                shown = [m for m in line_members if not hidden[m]]
                hide(min(shown, key=lambda m: (new_lone_lines(m, i), persons[m], str(keys[m]))))
                changed = True
    for cell, is_hidden in zip(cells, hidden, strict=True):
        if is_hidden:
            cell.suppressed = True
            cell.achievements = cell.persons = None
            cell.credits = None
            cell.perturbed = False
