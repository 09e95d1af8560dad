"""Fixtures for the image tests (tests/image): paths of what `make image`
built, and the integration suite's real peers (smtp-sink) reused."""
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
TOP = HERE.parent.parent
sys.path.insert(0, str(TOP / "tests" / "integration"))

import peers  # noqa: E402  (the integration suite's peers)

IMAGE = pathlib.Path(os.environ.get("MAILGW_IMAGE", TOP / "build" / "image"))


def need(path):
    """A build product of `make image`; skip-free: missing is a failure."""
    p = IMAGE / path
    assert p.exists(), f"{p} missing: run make image first"
    return p


class HostSink(peers.Sink):
    """smtp-sink on host:port (the integration Sink binds 127.0.0.1)."""

    def __init__(self, host, **kw):
        kw.setdefault("port", 2525)
        super().__init__(**kw)
        self.host = host

    def start(self, options=None):
        argv = [peers.SMTP_SINK, "-u", self.user, "-c", "-h", self.hostname,
                "-d", str(self.dumpdir) + "/%H%M%S.",
                f"{self.host}:{self.port}", "64"]
        out = open(self.out, "ab")
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        peers.wait_until(lambda: peers.listening(self.port, self.host) or
                         self.proc.poll() is not None, 20, "smtp-sink")
        assert self.proc.poll() is None, self.out.read_text(errors="replace")
        return self


@pytest.fixture
def sink():
    s = peers.Sink().start()
    yield s
    s.stop()
