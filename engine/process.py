"""This process's run loop, as the modules beneath it see it.

Dispatch (stop a run held here) and storage (read the checkpoints' sizes) need the process's
``Runtime`` but sit below the run loop, which imports them: they reach it through this slot and
the few members typed here, never by importing ``runtime``.
"""

from __future__ import annotations

from typing import Any, Protocol

from vetrai.core.platform import Slot


class ProcessRuntime(Protocol):
    checkpointer: Any

    async def ensure_ready(self) -> None: ...

    def cancel_local(self, job_id: str, reason: str) -> bool: ...

    async def close(self) -> None: ...


RUNTIME: Slot[ProcessRuntime] = Slot("workers")
