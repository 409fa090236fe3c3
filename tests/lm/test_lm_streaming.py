"""Streaming generation equals the batch (teacher-forced) forward, and per-item resets
restart one conversation of a batch while the other goes on."""

from __future__ import annotations

import torch
from lm_helpers import max_diff, tiny_model

from antiphon.lm.generate import FrameTokens, LMGenerator
from antiphon.lm.sampling import SamplingParams


def _user(cfg, frames: int, batch: int, seed: int) -> torch.Tensor:  # type: ignore[no-untyped-def]
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, cfg.card, (frames, batch, cfg.user_q), generator=g)


def test_streaming_steps_equal_the_batch_forward() -> None:
    model = tiny_model()
    cfg = model.config
    text_logits: list[torch.Tensor] = []
    audio_logits: list[torch.Tensor] = []

    def keep(store: list[torch.Tensor]):  # type: ignore[no-untyped-def]
        def hook(logits: torch.Tensor) -> torch.Tensor:
            store.append(logits.clone())
            return logits

        return hook

    gen = LMGenerator(
        model,
        SamplingParams(seed=3),  # sampled, not greedy: the batch pass is fed what was drawn
        text_logits_hook=keep(text_logits),
        audio_logits_hook=keep(audio_logits),
    )
    steps = 30
    user = _user(cfg, steps, 1, seed=5)
    state = gen.init_state(1)
    frames: list[FrameTokens] = []
    for s in range(steps):
        out = gen.step(state, user[s])
        if out is not None:
            frames.append(out)
    n = len(frames)
    assert n == steps - cfg.max_delay
    codes = torch.zeros(1, cfg.num_streams, n, dtype=torch.long)
    for t, f in enumerate(frames):
        codes[0, 0, t] = f.text[0]
        codes[0, 1 : cfg.dep_q + 1, t] = f.audio[0]
        # the user frame fed at step t + 1 is what the agent's frame t+1 answers: in the
        # teacher-forced layout it sits beside the agent's frame t (the reference's contract)
        codes[0, cfg.dep_q + 1 :, t] = user[t + 1, 0]
    with torch.no_grad():
        batch = model(codes)
    stream_text = torch.stack(text_logits)[:n, 0]  # step t predicts frame t's text
    assert max_diff(stream_text, batch.text_logits[0, 0]) < 1e-5
    per_step = torch.stack(audio_logits).view(steps, cfg.dep_q, -1)
    for k in range(cfg.dep_q):
        d = cfg.delays[k + 1]
        valid = n - d
        assert bool(batch.mask[0, k, :valid].all())
        stream = per_step[d : d + valid, k]  # codebook k of frame t is drawn at step t + d
        assert max_diff(stream, batch.logits[0, k, :valid]) < 1e-5
    assert len(torch.unique(codes[0, 1])) > 5


def _run(gen: LMGenerator, state, user: torch.Tensor) -> list[torch.Tensor]:  # type: ignore[no-untyped-def]
    outs = []
    for frame in user:
        out = gen.step(state, frame)
        if out is not None:
            outs.append(torch.cat([out.text.view(-1, 1), out.audio], dim=1))
    return outs


def test_reset_restarts_one_item_of_a_batch() -> None:
    model = tiny_model()
    cfg = model.config
    gen = LMGenerator(model, SamplingParams(greedy=True))
    before, after = _user(cfg, 10, 2, seed=1), _user(cfg, 15, 2, seed=2)
    state = gen.init_state(2)
    _run(gen, state, before)
    state.reset(torch.tensor([False, True]))
    both = torch.stack(_run(gen, state, after))  # [frames, 2, 1 + dep_q]

    solo0 = gen.init_state(1)
    whole0 = torch.stack(_run(gen, solo0, torch.cat([before, after])[:, :1]))
    assert torch.equal(both[:, 0], whole0[-len(both) :, 0])

    fresh = gen.init_state(1)
    restarted = torch.stack(_run(gen, fresh, after[:, 1:]))
    # item 1 outputs UNGENERATED while inside its first max_delay frames again
    assert bool((both[: cfg.max_delay, 1] == -2).all())
    assert torch.equal(both[cfg.max_delay :, 1], restarted[:, 0])
