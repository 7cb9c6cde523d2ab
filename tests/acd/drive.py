"""Running MemoryAcd's coroutines without an event loop, proving they never suspend."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

Result = TypeVar("Result")


def run_now(coroutine: Coroutine[Any, Any, Result]) -> Result:
    """Drives a coroutine to its end and fails if it ever yields to the event loop: a decision
    that suspended could interleave with another one."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise AssertionError("the ACD suspended inside a decision")
