"""One process, several end-to-end conversations: the sessions' brains share one batched step.

Each ``E2EBrain`` built with ``hub=`` takes a slot of the hub's ``BatchedFrameEngine`` and
queues its 80 ms frames as usual; the hub steps all slots together once every conversation
has a frame, or once a frame period has passed since the first frame of the tick arrived
(a conversation whose frame is late is fed silence for that tick and counted in
``padded``). Slots of no conversation are fed silence too. Moshi's own server holds one
conversation under a global lock; here N conversations cost one batched step per frame.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from antiphon.e2e.batch import BatchedFrameEngine
from antiphon.e2e.stack import E2EStack
from antiphon.lm.sampling import SamplingParams

if TYPE_CHECKING:
    from antiphon.e2e.brain import E2EBrain


class E2EHub:
    def __init__(
        self,
        stack: E2EStack,
        slots: int,
        params: SamplingParams | None = None,
        seeds: list[int] | None = None,
    ) -> None:
        self.stack = stack
        self.engine = BatchedFrameEngine(stack, slots, params, seeds)
        self._brains: dict[int, E2EBrain] = {}
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="e2e-hub")
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.steps = 0
        self.padded = 0  # (slot, tick) pairs fed silence because the frame was late

    @property
    def frame_s(self) -> float:
        return self.stack.frame_size / self.stack.sample_rate

    def attach(self, brain: E2EBrain, seed: int | None = None) -> int:
        slot = self.engine.acquire(seed)
        self._brains[slot] = brain
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="e2e-hub")
        return slot

    async def detach(self, slot: int) -> None:
        self._brains.pop(slot, None)
        self.engine.release(slot)
        if not self._brains and self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _all_ready(self) -> bool:
        return all(not b.frame_queue.empty() for b in self._brains.values())

    async def _wait_for_tick(self) -> None:
        assert self._wake is not None
        while not any(not b.frame_queue.empty() for b in self._brains.values()):
            self._wake.clear()
            await self._wake.wait()
        if self._all_ready():
            return
        clock = next(iter(self._brains.values())).ctx.clock
        deadline = clock.now() + self.frame_s
        while not self._all_ready() and clock.now() < deadline:
            self._wake.clear()
            wake = asyncio.ensure_future(self._wake.wait())
            nap = asyncio.ensure_future(clock.sleep(max(0.0, deadline - clock.now())))
            await asyncio.wait([wake, nap], return_when=asyncio.FIRST_COMPLETED)
            for fut in (wake, nap):
                fut.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        fs = self.stack.frame_size
        while True:
            await self._wait_for_tick()
            pcm = np.zeros((self.engine.slots, fs), np.float32)
            taken: dict[int, np.ndarray] = {}
            for slot, brain in list(self._brains.items()):
                if brain.frame_queue.empty():
                    self.padded += 1
                    continue
                taken[slot] = pcm[slot] = brain.frame_queue.get_nowait()
            t0 = loop.time()
            try:
                outs = await loop.run_in_executor(self._executor, self.engine.step, pcm)
            except Exception as exc:  # noqa: BLE001 - one failed step must not end the sessions
                for slot in taken:
                    await self._brains[slot].frame_failed(exc)
                continue
            spent = loop.time() - t0
            self.steps += 1
            for slot, frame in taken.items():
                owner = self._brains.get(slot)
                if owner is not None:
                    await owner.deliver(frame, outs[slot], spent)

    async def close(self) -> None:
        for slot in list(self._brains):
            await self.detach(slot)
        self._executor.shutdown(wait=True)
