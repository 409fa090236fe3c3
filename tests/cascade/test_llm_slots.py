"""Slot placement of the batched LLM engine (no model): a session's next turn lands in the
slot holding its conversation, another session never rewinds it for a shared opening (the
opening is shared in from it instead), and the least recently used cache goes first; which
replies a step takes (by audio lead) and the threads it leaves to other models."""

from __future__ import annotations

from antiphon.cascade.llm_engine import AHEAD_S, HUNGRY_S, BatchEngine, schedule
from antiphon.cascade.llm_slots import CHAT, JUDGE, SlotPool

SYSTEM = list(range(100))


def test_next_turn_returns_to_its_own_slot_and_others_share_its_opening() -> None:
    pool = SlotPool(chat=3, judge=1)
    a, b, c = pool.slots[:3]
    a.tokens = [*SYSTEM, 7, 7, 7, 8, 8]  # session A's conversation
    a.touch()
    b.tokens = SYSTEM[:50] + [9, 9]  # an older, unrelated cache
    b.touch()
    # A's next turn extends its cache: its own slot, everything kept
    pl = pool.place(CHAT, [*a.tokens, 5, 5])
    assert pl is not None and pl.slot is a and pl.keep == len(a.tokens) and pl.share_from is None
    # B speaks with the same opening "7 7 7": the empty slot, A's opening shared in, A intact
    pl = pool.place(CHAT, [*SYSTEM, 7, 7, 7, 1, 2])
    assert pl is not None and pl.slot is c and pl.keep == 0
    assert pl.share_from is a and pl.shared == len(SYSTEM) + 3


def test_least_recently_used_cache_goes_when_none_is_a_prefix() -> None:
    pool = SlotPool(chat=2, judge=1)
    old, new = pool.slots[:2]
    old.tokens, new.tokens = [1, 2, 3], [1, 2, 4]
    old.touch()
    new.touch()
    pl = pool.place(CHAT, [1, 2, 5, 6])
    assert pl is not None and pl.slot is old and pl.keep == 2
    # busy slots are never taken; the judge's pool is separate; the last token is evaluated
    old.busy = new.busy = True
    assert pool.place(CHAT, [1, 2]) is None
    pl = pool.place(JUDGE, [4, 4])
    assert pl is not None and pl.slot.pool == JUDGE and pl.keep == 0
    pool.slots[2].tokens = [4, 4, 4]
    pl = pool.place(JUDGE, [4, 4, 4])
    assert pl is not None and pl.keep == 2


def test_replies_with_audio_to_spare_yield_their_steps() -> None:
    """The engine's step takes the replies whose listeners need words soonest: no audio
    yet (None) or under HUNGRY_S queued; only when none is hungry, those under AHEAD_S."""
    assert HUNGRY_S < AHEAD_S
    assert schedule([None, HUNGRY_S + 0.5, 0.2, AHEAD_S + 1]) == [0, 2]
    assert schedule([HUNGRY_S, AHEAD_S - 0.1, AHEAD_S + 1]) == [0, 1]
    assert schedule([AHEAD_S, AHEAD_S + 2]) == []  # all far ahead: the CPU goes to TTS
    assert schedule([]) == []


def test_the_engine_leaves_a_core_while_another_model_computes() -> None:
    """llama.cpp's threads meet at every layer: while the TTS or the ASR runs, the engine
    decodes with one thread fewer, and takes it back after (no model: the call is recorded)."""
    calls: list[tuple[int, int]] = []

    class Llama:
        def llama_set_n_threads(self, ctx: object, n: int, n_batch: int) -> None:
            calls.append((n, n_batch))

    class Ctx:
        ctx = object()

    eng = BatchEngine.__new__(BatchEngine)
    eng.llama, eng.ctx = Llama(), Ctx()  # type: ignore[assignment]
    eng.n_threads = eng._threads_now = 2
    busy = [False]
    eng.crowded = lambda: busy[0]
    eng._fit_threads()
    assert calls == []  # nobody else computes: nothing changes
    busy[0] = True
    eng._fit_threads()
    eng._fit_threads()
    assert calls == [(1, 1)]  # once, not every step
    busy[0] = False
    eng._fit_threads()
    assert calls == [(1, 1), (2, 2)]
    eng.set_threads(1)  # one thread to begin with: nothing to give
    busy[0] = True
    eng._fit_threads()
    assert calls == [(1, 1), (2, 2), (1, 1)]


def test_protecting_playing_replies_holds_back_new_ones() -> None:
    """With ``protect_playing`` a reply whose audio plays with little queued decodes alone
    (with the probes a turn waits on, lead 0); the others wait until it has enough."""
    leads: list[float | None] = [None, 0.4, HUNGRY_S + 1, 0.0]
    assert schedule(leads) == [0, 1, 3]
    assert schedule(leads, protect_playing=True) == [1, 3]
    assert schedule([None, HUNGRY_S + 1], protect_playing=True) == [0]
