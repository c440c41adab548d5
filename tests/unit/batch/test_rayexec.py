"""How the Ray executor cuts the queue into calls (the cluster itself: tests/integration)."""

from __future__ import annotations

from collections import deque

import pytest

from hanvoice.batch.items import Item
from hanvoice.batch.rayexec import CALL_CHARS, CALL_ITEMS, next_call


def _queue(*sizes: int) -> deque[Item]:
    return deque(Item(f"i{n}", "字" * size) for n, size in enumerate(sizes))


@pytest.mark.parametrize(
    ("sizes", "first_call"),
    [
        ([10], 1),  # the last item alone
        ([10, 10, 10], 3),  # short prompts go together
        ([CALL_CHARS - 5, 10], 1),  # the next would pass the budget: it waits
        ([CALL_CHARS + 500, 10], 1),  # a chapter goes alone
        ([10, CALL_CHARS], 1),  # and is not added to a prompt
        ([1] * (CALL_ITEMS + 3), CALL_ITEMS),  # at most CALL_ITEMS
    ],
)
def test_a_call_takes_short_items_from_the_front_in_order(
    sizes: list[int], first_call: int
) -> None:
    queue = _queue(*sizes)
    group = next_call(queue)
    assert [i.id for i in group] == [f"i{n}" for n in range(first_call)]
    assert [i.id for i in queue] == [f"i{n}" for n in range(first_call, len(sizes))]


def test_every_item_goes_in_exactly_one_call() -> None:
    queue = _queue(*[(n * 37) % 290 + 1 for n in range(50)])
    seen = []
    while queue:
        seen += [i.id for i in next_call(queue)]
    assert seen == [f"i{n}" for n in range(50)]
