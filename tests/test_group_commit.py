"""Deliveries that end together share a commit, and one bad write fails only itself."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.store.group_commit import GroupCommit


async def test_writes_arriving_during_a_commit_share_the_next_one() -> None:
    commits: list[list[int]] = []

    async def write(items: Sequence[int]) -> None:
        await asyncio.sleep(0.01)  # a commit takes a while
        commits.append(list(items))

    group = GroupCommit(write)
    first = asyncio.create_task(group(0))
    await asyncio.sleep(0.002)  # its commit is under way
    await asyncio.gather(first, *(group(i) for i in range(1, 10)))
    # The first goes alone, at once; the nine that came meanwhile go together.
    assert commits == [[0], list(range(1, 10))]
    await group(10)  # idle again: no waiting for company
    assert commits[-1] == [10]


async def test_a_failing_write_fails_only_its_own_caller() -> None:
    written: list[int] = []

    async def write(items: Sequence[int]) -> None:
        if 3 in items:
            raise RuntimeError("row 3 is broken")
        written.extend(items)

    group = GroupCommit(write)
    results = await asyncio.gather(*(group(i) for i in range(6)), return_exceptions=True)
    assert [type(r) for r in results] == [type(None)] * 3 + [RuntimeError] + [type(None)] * 2
    assert sorted(written) == [0, 1, 2, 4, 5]


async def test_a_caller_returns_only_once_its_write_is_committed() -> None:
    committed = asyncio.Event()

    async def write(items: Sequence[int]) -> None:
        await asyncio.sleep(0.01)
        committed.set()

    await GroupCommit(write)(1)
    assert committed.is_set()


@pytest.mark.parametrize("most", [1, 4])
async def test_at_most_so_many_rows_a_commit(most: int) -> None:
    commits: list[int] = []

    async def write(items: Sequence[int]) -> None:
        await asyncio.sleep(0)
        commits.append(len(items))

    group = GroupCommit(write, most=most)
    await asyncio.gather(*(group(i) for i in range(9)))
    assert max(commits) <= most and sum(commits) == 9
