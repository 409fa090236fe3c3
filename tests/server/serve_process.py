"""`antiphon serve` (default models) in its own process on a free loopback port, for the
benches whose clients (aiortc, a browser) must not share the server's process."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request


class ServeProcess:
    """`python -m antiphon serve` on a free loopback port, so the bench's clients (aiortc's
    Opus encoder and decoder among them) do not share the server's process."""

    def __enter__(self) -> ServeProcess:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "antiphon", "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        print(f"antiphon serve (pid {self.proc.pid}) ready at {self.url}")
                        return self
            except OSError:
                time.sleep(0.5)
        self.proc.kill()
        raise RuntimeError("antiphon serve did not become ready")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()  # a graceful drain: live sessions may finish first
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            print("antiphon serve still draining after 60 s: killed")
            self.proc.kill()
            self.proc.wait()
