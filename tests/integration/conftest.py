"""Shared fixtures for the integration tests.

Every test drives the real build/mailgw (or a symlink to it named like the
command) in a throw-away configuration directory. Network services bind only
to loopback on ports picked free at run time.
"""
import os
import pathlib
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("MAILGW_BUILD", TOP / "build"))
MAILGW = BUILD / "mailgw"
SHARED = TOP.parent / "shared"
REAL_POSTCONF = "/usr/sbin/postconf"
REAL_POSTMAP = "/usr/sbin/postmap"

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


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


from peers import free_port  # noqa: E402,F401  (used by other tests)


def which(name):
    return shutil.which(name)


# ---------------------------------------------------------------- mail path
#
# Fixtures shared by the mail-path tests (issue 3): a mailgw instance in a
# throw-away directory, smtp-sink peers, smtp-source. Everything is stopped
# by PID at teardown. Set MAILGW_KEEP=1 to keep the directories.

from peers import (Sink, SmtpConn, _pids_matching, kill_pid,  # noqa: E402
                   PostfixPeer, postfix_master_cf,
                   listening, proc_ppid, proc_state,
                   smtp_source as _smtp_source, wait_until)


def _comm(pid):
    """The process name (mailgw's children set it to their role, as
    Postfix's daemons are named); not the command line, whose path may
    contain any word."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


class Gateway:
    """One mailgw instance: INST/main.cf, INST/master.cf, INST/queue,
    INST/maillog, listening on 127.0.0.1:port. Commands run as
    `mailgw -c INST NAME ...` with MAIL_CONFIG=INST in the environment too
    (so leftover processes can be found through /proc/PID/environ)."""

    QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")

    def __init__(self, main_cf=None, master_cf=None, relay_to=None, port=None):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mailgw-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.port = port or free_port()
        self.queue = self.dir / "queue"
        self.maillog = self.dir / "maillog"
        params = {
            "queue_directory": str(self.queue),
            "data_directory": str(self.dir / "data"),
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": "/var, /dev/stdout, /tmp",
            "mail_owner": "mailgw",
            "myhostname": "mx.test.example",
            "mydomain": "test.example",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_connect_timeout": "5s",
        }
        # No test asks the host's DNS servers: by default a server that
        # is not there (lookups defer); DNS tests point this at their own.
        (self.dir / "resolv.conf").write_text(
            "nameserver 127.255.255.254\noptions timeout:1 attempts:1\n")
        params["dns_resolv_conf"] = str(self.dir / "resolv.conf")
        if relay_to is not None:
            params["relayhost"] = f"[127.0.0.1]:{relay_to}"
        params.update(main_cf or {})
        self.params = params
        if master_cf is None:
            master_cf = self.default_master_cf()
        self.master_cf = master_cf
        self.write_config()

    def default_master_cf(self):
        return (
            f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
            "smtp      unix  -       -       n       -       -       smtp\n"
            "relay     unix  -       -       n       -       -       smtp\n")

    def write_config(self):
        (self.dir / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in self.params.items()))
        (self.dir / "master.cf").write_text(self.master_cf)

    def set(self, **params):
        """Change main.cf parameters (takes effect at start/reload)."""
        self.params.update(params)
        self.write_config()

    @property
    def env(self):
        e = dict(os.environ)
        e["MAIL_CONFIG"] = str(self.dir)
        return e

    def cmd(self, name, *args, timeout=60, input=None):
        """`mailgw -c INST name args...` -> Result."""
        return run([MAILGW, "-c", self.dir, name, *args], env=self.env,
                   timeout=timeout, input=input)

    def start(self, check=True):
        r = self.cmd("start", timeout=60)
        if check:
            assert r.rc == 0, f"mailgw start failed: {r}\n{self.log_text()[-3000:]}"
            assert listening(self.port), \
                f"mailgw start returned but nothing listens on {self.port}"
        return r

    def stop(self, check=True):
        r = self.cmd("stop", timeout=90)
        if check:
            assert r.rc == 0, f"mailgw stop failed: {r}\n{self.log_text()[-3000:]}"
        return r

    def status(self):
        return self.cmd("status").rc

    def reload(self):
        return self.cmd("reload")

    def master_pid(self):
        try:
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self):
        """Every live process of this instance: master and its children
        (also orphans of a killed master), found through /proc."""
        out = set(_pids_matching(f"MAIL_CONFIG={self.dir}\0", str(self.dir)))
        mp = self.master_pid()
        if mp is not None and os.path.exists(f"/proc/{mp}"):
            out.add(mp)
        live = []
        for p in sorted(out):
            st = proc_state(p)
            if st is not None and st != "Z":
                live.append(p)
        return live

    def children(self, role=None):
        """Live processes of this instance other than master. role filters
        on the process name if the program sets one (comm or cmdline),
        else all children are returned."""
        mp = self.master_pid()
        kids = [p for p in self.pids() if p != mp and proc_ppid(p) == mp]
        if role is None:
            return kids
        named = [p for p in kids if _comm(p) == role]
        return named

    def role_pids(self, role):
        """Live children of master that logged as mailgw/ROLE[PID] (the
        processes fork without exec, so the log names their role), newest
        first; else children whose comm/cmdline names the role."""
        mp = self.master_pid()
        seen = []
        for pid in reversed(re.findall(rf"mailgw/{role}\[(\d+)\]",
                                       self.log_text())):
            pid = int(pid)
            if pid not in seen and pid != mp and proc_ppid(pid) == mp \
                    and proc_state(pid) not in (None, "Z"):
                seen.append(pid)
        return seen or self.children(role)

    def kill_all(self, sig=signal.SIGKILL):
        for p in self.pids():
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        wait_until(lambda: not self.pids(), 20, "mailgw processes to die")

    def log_text(self):
        try:
            return self.maillog.read_text(errors="replace")
        except OSError:
            return ""

    def log_lines(self, regex):
        r = re.compile(regex)
        return [l for l in self.log_text().splitlines() if r.search(l)]

    def wait_log(self, regex, timeout=30, count=1):
        """Wait until regex matches at least count log lines; return them."""
        def ok():
            lines = self.log_lines(regex)
            return lines if len(lines) >= count else None
        try:
            return wait_until(ok, timeout, f"log line /{regex}/ x{count}",
                              interval=0.1)
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- maillog tail:\n"
                                 f"{self.log_text()[-4000:]}") from None

    def queue_files(self, queues=None):
        """Message files in the given queues (default: all but corrupt)."""
        out = []
        for q in queues or self.QUEUES:
            d = self.queue / q
            if d.is_dir():
                out += [p for p in d.rglob("*") if p.is_file()
                        and not p.name.startswith(".")]
        return sorted(out)

    def wait_queue_empty(self, timeout=60):
        try:
            wait_until(lambda: not self.queue_files(), timeout,
                       "the queue to empty", interval=0.2)
        except AssertionError as e:
            files = self.queue_files()
            raise AssertionError(
                f"{e}: {len(files)} left, e.g. {[str(f) for f in files[:5]]}\n"
                f"--- maillog tail:\n{self.log_text()[-3000:]}") from None

    def smtp(self, **kw):
        return SmtpConn(self.port, **kw)

    def teardown(self):
        if self.pids():
            try:
                self.cmd("stop", timeout=30)
            except subprocess.TimeoutExpired:
                pass
        for p in self.pids():
            kill_pid(p, timeout=2)
        if not os.environ.get("MAILGW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def saved_tls_level(params):
    return params.get("smtpd_tls_security_level", "") in ("may", "encrypt")


class PostfixReference(Gateway):
    """MAILGW_REFERENCE=postfix runs the mail-path tests against a real
    Postfix 3.7 logging as "mailgw" instead of mailgw, to check that the
    tests encode Postfix's behaviour. Same directory layout; commands map
    to postfix/postqueue/postsuper/postcat with -c INST."""

    TOOLS = {"mailq": ["/usr/sbin/postqueue", "-p"],
             "postqueue": ["/usr/sbin/postqueue"],
             "postsuper": ["/usr/sbin/postsuper"],
             "postcat": ["/usr/sbin/postcat"],
             "sendmail": ["/usr/sbin/sendmail"]}

    # A Postfix smtpd killed mid-message leaves its partial incoming/ file
    # until postsuper's clean-up; it is never delivered, so it is not
    # counted here (mailgw's temporary files are dot files, skipped).
    QUEUES = ("maildrop", "active", "deferred", "hold")

    def default_master_cf(self):
        return postfix_master_cf(self.port)

    def write_config(self):
        extra = {"compatibility_level": "3.6", "meta_directory": "/etc/postfix",
                 "mail_owner": "postfix", "syslog_name": "mailgw",
                 "smtp_dns_support_level": "disabled", "alias_maps": "",
                 "alias_database": "", "local_recipient_maps": ""}
        for d in (self.queue, self.dir / "data"):
            d.mkdir(exist_ok=True)
        pf = pwd.getpwnam("postfix")
        os.chown(self.dir / "data", pf.pw_uid, pf.pw_gid)
        if saved_tls_level(self.params) and not any(
                k in self.params for k in ("smtpd_tls_cert_file",
                                           "smtpd_tls_chain_files")):
            # mailgw makes its own certificate; Postfix needs one
            key, crt = self.dir / "pf-tls.key", self.dir / "pf-tls.crt"
            if not crt.exists():
                subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                                "-pkeyopt", "ec_paramgen_curve:P-256",
                                "-nodes", "-keyout", str(key), "-out",
                                str(crt), "-days", "2", "-subj",
                                "/CN=mx.test.example"],
                               check=True, capture_output=True, timeout=60)
            extra["smtpd_tls_cert_file"] = str(crt)
            extra["smtpd_tls_key_file"] = str(key)
        saved = self.params
        self.params = {k: v for k, v in {**saved, **extra,
                                         "mail_owner": "postfix"}.items()
                       if k != "dns_resolv_conf"}
        super().write_config()
        self.params = saved

    def cmd(self, name, *args, timeout=60, input=None):
        if name in self.TOOLS:
            argv = self.TOOLS[name][:1] + ["-c", self.dir] + \
                self.TOOLS[name][1:] + list(args)
            return run(argv, env=self.env, timeout=timeout, input=input)
        # postfix(1) prints errors only to a tty or syslog.
        line = " ".join(["/usr/sbin/postfix", "-c", str(self.dir), name, *args])
        return run(["script", "-qec", line, "/dev/null"], env=self.env,
                   timeout=timeout)

    def start(self, check=True):
        r = super().start(check=False)
        if check:
            assert r.rc == 0, f"postfix start failed: {r}\n{self.log_text()[-3000:]}"
            wait_until(lambda: listening(self.port), 30, "Postfix smtpd")
        return r


@pytest.fixture
def gateway(mailgw):
    """Factory: gateway(relay_to=SINKPORT, master_cf=None, **main_cf)
    returns a configured (not started) Gateway; every one is stopped and
    removed at teardown."""
    made = []

    kind = PostfixReference if os.environ.get("MAILGW_REFERENCE") == "postfix" \
        else Gateway

    def make(master_cf=None, relay_to=None, port=None, **main_cf):
        g = kind(main_cf=main_cf, master_cf=master_cf, relay_to=relay_to,
                    port=port)
        made.append(g)
        return g
    yield make
    for g in made:
        g.teardown()


@pytest.fixture
def smtp_sink():
    """Factory: smtp_sink(options=(), dump=True) -> started Sink."""
    made = []

    def make(options=(), dump=True, start=True, **kw):
        s = Sink(options=options, dump=dump, **kw)
        made.append(s)
        if start:
            s.start()
        return s
    yield make
    for s in made:
        s.cleanup()


@pytest.fixture
def smtp_source():
    """smtp_source(port, sessions=, count=, size=, sender=, rcpt=, extra=)
    runs smtp-source and asserts it exited 0."""
    def go(port, **kw):
        r = _smtp_source(port, **kw)
        assert r.returncode == 0, \
            f"smtp-source exited {r.returncode}: {r.stdout}{r.stderr}"
        return r
    return go


@pytest.fixture
def postfix_peer():
    """Factory: postfix_peer(**main_cf) -> a configured real Postfix
    (peers.PostfixPeer; call .start()); stopped and removed at teardown."""
    made = []

    def make(**main_cf):
        p = PostfixPeer(main_cf=main_cf)
        made.append(p)
        return p
    yield make
    for p in made:
        p.cleanup()


@pytest.fixture
def relay(gateway, smtp_sink):
    """A started gateway relaying everything to a started smtp-sink:
    returns (gw, sink)."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    gw.start()
    return gw, sink
