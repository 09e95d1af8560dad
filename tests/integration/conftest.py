"""Shared fixtures for the integration tests.

Every test drives the real build/mailgw (or a symlink to it named like the
command) in a throw-away configuration directory. Network services bind only
to loopback on ports picked free at run time.
"""
import os
import pathlib
import shutil
import socket
import subprocess

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("MAILGW_BUILD", TOP / "build"))
MAILGW = BUILD / "mailgw"
SHARED = TOP.parent / "shared"
REAL_POSTCONF = "/usr/sbin/postconf"
REAL_POSTMAP = "/usr/sbin/postmap"


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"<rc={self.rc} out={self.out!r} err={self.err!r}>"


def run(argv, *, cwd=None, env=None, input=None, timeout=60):
    """Run argv, return a Result with rc/out/err as text."""
    proc = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, input=input,
        capture_output=True, text=True, timeout=timeout)
    return Result(proc)


@pytest.fixture(scope="session")
def mailgw():
    assert MAILGW.exists(), f"{MAILGW} is not built (run make)"
    return MAILGW


@pytest.fixture
def confdir(tmp_path):
    """An empty configuration directory with an empty main.cf/master.cf."""
    d = tmp_path / "etc"
    d.mkdir()
    (d / "main.cf").write_text("")
    (d / "master.cf").write_text("")
    return d


@pytest.fixture
def cmd(tmp_path, mailgw):
    """cmd('postconf', '-n', ...) runs the command through a symlink named
    like the command, as a user with `postconf` on PATH would."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)

    def _run(name, *args, **kw):
        link = bindir / name
        if not link.exists():
            link.symlink_to(mailgw)
        return run([link, *args], **kw)
    return _run


@pytest.fixture
def postfix_confdir(tmp_path):
    """A config directory for the real Postfix tools (reference behaviour)."""
    if not os.path.exists(REAL_POSTMAP):
        pytest.fail("Postfix is not installed (tools/bootstrap installs it)")
    d = tmp_path / "postfix-etc"
    d.mkdir()
    (d / "main.cf").write_text("compatibility_level = 3.6\n")
    (d / "master.cf").write_text("")
    return d


def free_port(host="127.0.0.1"):
    """A TCP port that was free on host a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def which(name):
    return shutil.which(name)
