"""The pacing of the human recordings sent to a Realtime server (bench/quality/remote_asr.py):
the connection's audio timeline never runs more than the lead ahead of real time, however
many recordings go one after another with a wait for each transcript in between."""

from __future__ import annotations

from antiphon.bench.quality.remote_asr import Pacer


def test_the_lead_does_not_grow_from_recording_to_recording() -> None:
    pacer, now, worst = Pacer(lead_s=0.5), 100.0, 0.0
    for _recording in range(40):
        for _chunk in range(25):  # 2.5 s of audio in 100 ms appends
            now += pacer.wait_s(0.1, now) + 0.001  # sleep as told, then send
            assert pacer.end is not None
            worst = max(worst, pacer.end - now)
        now += 0.3  # the transcript comes back
    assert worst <= 0.5 + 1e-9  # a server refusing at 2 s ahead never sees more than 0.5 s


def test_after_a_pause_the_timeline_restarts_at_now() -> None:
    pacer = Pacer(lead_s=0.5)
    assert pacer.wait_s(0.4, now=10.0) == 0.0
    assert pacer.wait_s(0.4, now=60.0) == 0.0  # long after: no debt from the past
    assert pacer.end == 60.4
