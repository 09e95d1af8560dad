"""Real SMTP peers for the integration tests, each started and stopped by PID.

- Sink: Postfix's smtp-sink on 127.0.0.1:free port, optionally dumping every
  accepted message to a file, with reply injection (-f/-r/-q/-Q).
- smtp_source(): Postfix's smtp-source as a load generator (exit status
  checked by the caller).
- SmtpClient helpers: a small SMTP client (threads, plain sockets) that
  records which Message-IDs the server acknowledged with 250, for crash
  tests where smtp-source's counters are not enough.
- PostfixPeer: a real Postfix instance in its own directory (own
  config_directory, queue_directory, data_directory, maillog_file, loopback
  listener), started with `postfix -c DIR start` and stopped by
  `postfix -c DIR stop` then by PID.

Nothing here binds anything but 127.0.0.1.
"""
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
SWAKS = "/usr/bin/swaks"
POSTFIX = "/usr/sbin/postfix"
POSTFIX_SENDMAIL = "/usr/sbin/sendmail"
PFLOGSUMM = "/usr/sbin/pflogsumm"


_given_ports = set()


def free_port(host="127.0.0.1"):
    """A TCP port that was free on host a moment ago and that this test
    run has not handed out before: the kernel may give the same ephemeral
    port to two calls in a row once the first probe socket is closed."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        with socket.socket(fam, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def listening(port, host="127.0.0.1"):
    """True when a socket listens on host:port (read from /proc/net/tcp,
    so probing does not open an SMTP session that counters would see)."""
    if ":" in host:  # /proc/net/tcp6: 32-bit words in host order
        raw = socket.inet_pton(socket.AF_INET6, host)
        want = "%s:%04X" % ("".join(raw[i:i + 4][::-1].hex().upper()
                                    for i in range(0, 16, 4)), port)
        anyaddr = "0" * 32 + ":%04X" % port
        table = "/proc/net/tcp6"
    else:
        want = "%s:%04X" % ("".join("%02X" % int(b) for b in
                                    reversed(host.split("."))), port)
        anyaddr = "00000000:%04X" % port
        table = "/proc/net/tcp"
    try:
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A" and fields[1] in (want, anyaddr):
                    return True
    except OSError:
        pass
    return False


def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until true; raise AssertionError naming what after
    timeout seconds (a failure bound, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def kill_pid(pid, timeout=10):
    """SIGTERM, then SIGKILL after timeout; reap if it is our child."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:
                if not os.path.exists(f"/proc/{pid}"):
                    return
                st = proc_state(pid)
                if st in (None, "Z"):
                    return
            time.sleep(0.05)


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def proc_ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def proc_name(pid):
    """comm and cmdline of pid, joined (for role matching)."""
    out = ""
    for f in ("comm", "cmdline"):
        try:
            with open(f"/proc/{pid}/{f}", "rb") as fh:
                out += fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            pass
    return out


# ---------------------------------------------------------------- smtp-sink

class SinkMessage:
    """One message dumped by smtp-sink -d: the envelope it saw and the
    content as received (dot-stuffing undone, CRLF as LF)."""

    def __init__(self, path, raw):
        self.path = path
        self.raw = raw
        self.client_addr = None
        self.proto = None
        self.helo = None
        self.mail_args = None
        self.rcpt_args = []
        lines = raw.split(b"\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            k, _, v = line.partition(b": ")
            if k == b"X-Client-Addr":
                self.client_addr = v.decode()
            elif k == b"X-Client-Proto":
                self.proto = v.decode()
            elif k == b"X-Helo-Args":
                self.helo = v.decode()
            elif k == b"X-Mail-Args":
                self.mail_args = v.decode("utf-8", "replace")
            elif k == b"X-Rcpt-Args":
                self.rcpt_args.append(v.decode("utf-8", "replace"))
            elif k == b"Received":
                # smtp-sink's own Received header: this line and its
                # continuation lines.
                i += 1
                while i < len(lines) and lines[i][:1] in (b"\t", b" "):
                    i += 1
                break
            else:
                break
            i += 1
        body = b"\n".join(lines[i:])
        # smtp-sink appends one empty line after the message.
        if body.endswith(b"\n\n"):
            body = body[:-1]
        self.content = body

    @property
    def sender(self):
        m = re.match(r"<([^>]*)>", self.mail_args or "")
        return m.group(1) if m else None

    @property
    def recipients(self):
        out = []
        for a in self.rcpt_args:
            m = re.match(r"<([^>]*)>", a)
            out.append(m.group(1) if m else a)
        return out

    def header(self, name):
        """First value of header name (unfolded), or None."""
        vals = self.headers(name)
        return vals[0] if vals else None

    def headers(self, name):
        head = self.content.split(b"\n\n", 1)[0].decode("utf-8", "replace")
        out = []
        cur = None
        for line in head.split("\n"):
            if line[:1] in (" ", "\t") and cur is not None:
                cur[1] += " " + line.strip()
                continue
            k, sep, v = line.partition(":")
            cur = [k, v.strip()] if sep else None
            if cur is not None:
                out.append(cur)
        return [v for k, v in out if k.lower() == name.lower()]

    @property
    def body(self):
        parts = self.content.split(b"\n\n", 1)
        return parts[1] if len(parts) > 1 else b""

    def __repr__(self):
        return (f"<SinkMessage {self.path.name} from={self.mail_args} "
                f"rcpt={self.rcpt_args}>")


class Sink:
    """smtp-sink on 127.0.0.1:port. options are extra smtp-sink options,
    e.g. ("-f", "RCPT") to answer 5xx to every RCPT, ("-r", "RCPT") for
    4xx. With dump=True every accepted message is written to its own file
    under dumpdir."""

    def __init__(self, *, options=(), dump=True, port=None, user="nobody",
                 hostname="sink.test", host="127.0.0.1"):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mailgw-sink-",
                                                 dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.dumpdir = self.dir / "dump"
        self.dumpdir.mkdir()
        pw = pwd.getpwnam(user)
        os.chown(self.dumpdir, pw.pw_uid, pw.pw_gid)
        self.user = user
        self.hostname = hostname
        self.host = host
        self.port = port or free_port(host)
        self.options = list(options)
        self.dump = dump
        self.proc = None
        self.out = self.dir / "sink.out"

    @property
    def nexthop(self):
        return f"[{self.host}]:{self.port}"  # [::1] as Postfix writes it

    def start(self, options=None):
        if options is not None:
            self.options = list(options)
        argv = [SMTP_SINK, "-u", self.user, "-c", "-h", self.hostname]
        if self.dump:
            # strftime template plus smtp-sink's random hex suffix.
            argv += ["-d", str(self.dumpdir) + "/%H%M%S."]
        addr = f"[{self.host}]" if ":" in self.host else self.host
        argv += self.options + [f"{addr}:{self.port}", "256"]
        out = open(self.out, "ab")
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        try:
            wait_until(lambda: listening(self.port, self.host) or
                       self.proc.poll() is not None,
                       20, f"smtp-sink on port {self.port}")
        finally:
            pass
        if self.proc.poll() is not None:
            raise AssertionError(f"smtp-sink exited {self.proc.returncode}: "
                                 f"{self.out.read_text(errors='replace')}")
        return self

    def stop(self):
        if self.proc is not None:
            kill_pid(self.proc.pid)
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self, options=None):
        self.stop()
        wait_until(lambda: not listening(self.port), 20,
                   f"port {self.port} to close")
        return self.start(options)

    def files(self):
        return sorted(p for p in self.dumpdir.rglob("*") if p.is_file())

    def count(self):
        return len(self.files())

    def messages(self):
        return [SinkMessage(p, p.read_bytes()) for p in self.files()]

    def wait_count(self, n, timeout=60):
        """Wait until at least n messages were dumped; return them."""
        wait_until(lambda: self.count() >= n, timeout,
                   f"{n} messages at the sink (have {self.count()})",
                   interval=0.2)
        # A dump file exists from DATA on; give the last ones time to be
        # closed by waiting for the counters to agree.
        wait_until(lambda: self.counted() is None or self.counted() >= n,
                   timeout, "smtp-sink counters", interval=0.1)
        # The counters of an earlier run of a restarted sink are in the
        # same output file, and a dump file grows from MAIL FROM on (one
        # whose recipients were all refused has none): also wait until n
        # files have recipients and none grows any more.
        last = {}

        def settled():
            now = {p: p.stat().st_size for p in self.files()}
            done = now == last and \
                sum(1 for m in self.messages() if m.rcpt_args) >= n
            last.clear()
            last.update(now)
            return done
        wait_until(settled, timeout, "smtp-sink dump files to settle",
                   interval=0.2)
        return [m for m in self.messages() if m.rcpt_args]

    def counted(self):
        """smtp-sink -c's last 'mesg=' counter, or None."""
        try:
            text = self.out.read_text(errors="replace")
        except OSError:
            return None
        m = re.findall(r"mesg=(\d+)", text)
        return int(m[-1]) if m else None

    def cleanup(self):
        self.stop()
        if not os.environ.get("MAILGW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- smtp-source

def smtp_source(port, *, sessions=1, count=1, size=1024, sender="src@source.test",
                rcpt="rcpt@example.net", extra=(), timeout=600):
    """Run smtp-source against 127.0.0.1:port; returns CompletedProcess
    (the caller asserts on returncode)."""
    argv = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", sender, "-t", rcpt, "-M", "source.test", *extra,
            f"127.0.0.1:{port}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def start_smtp_source(port, *, sessions=1, count=1, size=1024,
                      sender="src@source.test", rcpt="rcpt@example.net",
                      extra=()):
    """smtp-source in the background (a Popen; stop it by PID)."""
    argv = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-l", str(size),
            "-f", sender, "-t", rcpt, "-M", "source.test", *extra,
            f"127.0.0.1:{port}"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------- swaks

def swaks(port, *args, timeout=60):
    """swaks against 127.0.0.1:port; CompletedProcess with text output."""
    argv = [SWAKS, "--server", f"127.0.0.1:{port}", "--helo", "client.test",
            "--timeout", "30", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------- SMTP client

class SmtpError(Exception):
    def __init__(self, code, text):
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class SmtpConn:
    """A minimal blocking SMTP client over a plain socket: enough to send
    messages and see exactly which ones got a 250 after DATA."""

    def __init__(self, port, host="127.0.0.1", timeout=30, helo="client.test",
                 source=None):
        # source: the client's own address (any 127.0.0.x on loopback)
        self.sock = socket.create_connection(
            (host, port), timeout=timeout,
            source_address=(source, 0) if source else None)
        self.f = self.sock.makefile("rb")
        self.data_sent = False  # the last send() got as far as the dot
        self.expect(220)
        code, lines = self.cmd(f"EHLO {helo}")
        if code != 250:
            raise SmtpError(code, " ".join(lines))
        self.ext = {l.split()[0].upper() for l in lines[1:] if l.split()}

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("connection closed by server")
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append(line[4:])
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), lines

    def expect(self, want):
        code, lines = self.reply()
        if code != want:
            raise SmtpError(code, " ".join(lines))
        return lines

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def send(self, sender, rcpts, content):
        """One transaction; content is bytes with CRLF line ends. Returns
        the final reply (code, text); raises on a refused MAIL/RCPT/DATA."""
        self.data_sent = False
        code, l = self.cmd(f"MAIL FROM:<{sender}>")
        if code != 250:
            raise SmtpError(code, " ".join(l))
        for r in rcpts:
            code, l = self.cmd(f"RCPT TO:<{r}>")
            if code != 250:
                raise SmtpError(code, " ".join(l))
        code, l = self.cmd("DATA")
        if code != 354:
            raise SmtpError(code, " ".join(l))
        stuffed = re.sub(rb"(?m)^\.", b"..", content)
        if not stuffed.endswith(b"\r\n"):
            stuffed += b"\r\n"
        self.data_sent = True
        self.sock.sendall(stuffed + b".\r\n")
        code, l = self.reply()
        return code, " ".join(l)

    def quit(self):
        try:
            self.cmd("QUIT")
        except (OSError, ConnectionError):
            pass
        self.close()

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass


def make_message(msgid, sender, rcpt, size=1024, subject=None):
    """A message with a unique Message-ID, CRLF line ends."""
    hdr = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\n"
           f"Subject: {subject or msgid}\r\n"
           f"Message-ID: <{msgid}>\r\n\r\n")
    line = (msgid + " ").encode() * 8
    body = b""
    while len(body) < size:
        body += line[:70] + b"\r\n"
    return hdr.encode() + body


class AckingLoad:
    """Threads that send messages over SMTP and record, per Message-ID,
    whether the server acknowledged it with 250 after DATA. Connection
    errors (a killed smtpd) are expected: the thread reconnects. Stops
    after total messages acknowledged or stop()."""

    def __init__(self, port, *, threads=8, total=2000, sender="load@source.test",
                 rcpt="rcpt@example.net", size=1024, prefix="ack"):
        self.port = port
        self.nthreads = threads
        self.total = total
        self.sender = sender
        self.rcpt = rcpt
        self.size = size
        self.prefix = prefix
        self.acked = set()
        self.refused = {}      # msgid -> reply
        self.unknown = set()   # DATA sent, connection lost before reply
        self.errors = []
        self.lock = threading.Lock()
        self.seq = 0
        self.stopping = threading.Event()
        self.threads = []

    def _next(self):
        with self.lock:
            if self.seq >= self.total or self.stopping.is_set():
                return None
            self.seq += 1
            return f"{self.prefix}.{self.seq:06d}.{os.getpid()}@source.test"

    def _run(self):
        conn = None
        while not self.stopping.is_set():
            msgid = self._next()
            if msgid is None:
                break
            try:
                if conn is None:
                    conn = SmtpConn(self.port, timeout=30)
                content = make_message(msgid, self.sender, self.rcpt, self.size)
                code, text = conn.send(self.sender, [self.rcpt], content)
                with self.lock:
                    if code == 250:
                        self.acked.add(msgid)
                    else:
                        self.refused[msgid] = f"{code} {text}"
            except SmtpError as e:
                with self.lock:
                    self.refused[msgid] = str(e)
                if conn is not None:
                    conn.close()
                conn = None
            except (OSError, ConnectionError) as e:
                with self.lock:
                    if conn is not None and conn.data_sent:
                        self.unknown.add(msgid)
                    else:
                        self.refused[msgid] = f"connection: {e}"
                    self.errors.append(str(e))
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
        if conn is not None:
            conn.quit()

    def start(self):
        for _ in range(self.nthreads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def wait_acked(self, n, timeout=120):
        wait_until(lambda: self.acked_count() >= n, timeout,
                   f"{n} acknowledged messages (have {self.acked_count()})",
                   interval=0.02)

    def stop(self):
        self.stopping.set()
        self.join()

    def join(self, timeout=300):
        for t in self.threads:
            t.join(timeout)


# ---------------------------------------------------------------- Postfix

def postfix_master_cf(port):
    """Postfix's stock master.cf (chroot off) with smtpd on 127.0.0.1:port."""
    return f"""\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixPeer:
    """A real Postfix instance in its own directory, listening on
    127.0.0.1:port. main_cf adds/overrides main.cf lines."""

    def __init__(self, *, port=None, main_cf=None):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mailgw-postfix-",
                                                 dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.etc = self.dir / "etc"
        self.queue = self.dir / "queue"
        self.data = self.dir / "data"
        for d in (self.etc, self.queue, self.data):
            d.mkdir()
        pf = pwd.getpwnam("postfix")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        self.maillog = self.dir / "maillog"
        self.port = port or free_port()
        params = {
            "compatibility_level": "3.6",
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "meta_directory": "/etc/postfix",
            "maillog_file": str(self.maillog),
            "maillog_file_prefixes": f"/var, /dev/stdout, {self.dir}",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": "peer.test.example",
            "mydomain": "test.example",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "smtp_dns_support_level": "disabled",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "syslog_name": "postfix-peer",
        }
        params.update(main_cf or {})
        self.params = params
        self.write()

    def write(self):
        (self.etc / "main.cf").write_text(
            "".join(f"{k} = {v}\n" for k, v in self.params.items()))
        (self.etc / "master.cf").write_text(postfix_master_cf(self.port))

    def postfix(self, *args, timeout=60):
        # postfix(1) prints errors only to a tty or syslog: run under
        # script(1) so they reach our output.
        cmdline = " ".join([POSTFIX, "-c", str(self.etc), *args])
        return subprocess.run(["script", "-qec", cmdline, "/dev/null"],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def master_pid(self):
        try:
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self):
        r = self.postfix("check")
        assert r.returncode == 0, f"postfix check: {r.stdout}{r.stderr}{self.log_text()}"
        r = self.postfix("start")
        assert r.returncode == 0, f"postfix start: {r.stdout}{r.stderr}{self.log_text()}"
        wait_until(lambda: listening(self.port), 30,
                   f"Postfix smtpd on port {self.port}")
        return self

    def stop(self):
        pid = self.master_pid()
        if pid is not None and os.path.exists(f"/proc/{pid}"):
            try:
                self.postfix("stop", timeout=30)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + 15
            while os.path.exists(f"/proc/{pid}") and proc_state(pid) not in (None, "Z") \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
        # Leftovers (master killed, children orphaned): match on our
        # config directory in the command line of Postfix daemons.
        for p in _pids_matching(str(self.etc), str(self.queue)):
            kill_pid(p, timeout=5)

    def sendmail(self, sender, rcpts, content, timeout=60):
        return subprocess.run([POSTFIX_SENDMAIL, "-C", str(self.etc), "-i",
                               "-f", sender, *rcpts], input=content,
                              capture_output=True, timeout=timeout)

    def postqueue(self, *args):
        return subprocess.run(["/usr/sbin/postqueue", "-c", str(self.etc), *args],
                              capture_output=True, text=True, timeout=60)

    def log_text(self):
        try:
            return self.maillog.read_text(errors="replace")
        except OSError:
            return ""

    def queue_files(self):
        out = []
        for q in ("incoming", "active", "deferred", "hold", "maildrop"):
            d = self.queue / q
            if d.is_dir():
                out += [p for p in d.rglob("*") if p.is_file()]
        return out

    def cleanup(self):
        self.stop()
        if not os.environ.get("MAILGW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def _pids_matching(*needles):
    """PIDs (not ours) whose command line or initial environment contains
    one of needles."""
    out = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        for f in ("cmdline", "environ"):
            try:
                with open(f"/proc/{name}/{f}", "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if any(n.encode() in data for n in needles):
                out.append(int(name))
                break
    return out


NSD = "/usr/sbin/nsd"


class Nsd:
    """Debian's nsd, authoritative for the given zones, on port 53 of a
    loopback address of its own (127.53.x.y, free at start), so a
    resolv.conf can name it. zones: {origin: records} where records are
    zone-file lines relative to the origin; an SOA and NS are added.
    Stopped by PID."""

    def __init__(self, zones):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mailgw-nsd-",
                                                 dir="/tmp"))
        self.zones = zones
        self.addr = None
        self.proc = None

    @staticmethod
    def _free_addr():
        import random
        for _ in range(200):
            addr = f"127.53.{random.randint(1, 254)}.{random.randint(1, 254)}"
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    u.bind((addr, 53))
                    t.bind((addr, 53))
                return addr
            except OSError:
                continue
        raise AssertionError("no free 127.53.x.y:53 for nsd")

    def resolv_conf(self, path, timeout=1, attempts=2):
        pathlib.Path(path).write_text(
            f"nameserver {self.addr}\noptions timeout:{timeout} "
            f"attempts:{attempts}\n")
        return str(path)

    def query(self, name, rtype="SOA", tcp=False):
        """dig's short answer (for the test's own checks)."""
        argv = ["dig", "+short", "+time=1", "+tries=1", f"@{self.addr}",
                rtype, name]
        if tcp:
            argv.insert(1, "+tcp")
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return r.stdout.strip()

    def start(self):
        self.addr = self._free_addr()
        conf = [
            "server:", f"  ip-address: {self.addr}", "  port: 53",
            '  username: ""', '  chroot: ""', '  database: ""',
            f"  zonelistfile: {self.dir}/zone.list",
            f"  xfrdfile: {self.dir}/xfrd.state",
            f"  pidfile: {self.dir}/nsd.pid", f"  zonesdir: {self.dir}",
            f"  logfile: {self.dir}/nsd.log", "  verbosity: 1",
            "  server-count: 1", "  do-ip6: no",
            "remote-control:", "  control-enable: no"]
        for origin, records in self.zones.items():
            fn = origin.strip(".") + ".zone"
            (self.dir / fn).write_text(
                f"$ORIGIN {origin.rstrip('.')}.\n$TTL 300\n"
                f"@ IN SOA ns.{origin.rstrip('.')}. hostmaster.{origin.rstrip('.')}. "
                "1 3600 600 86400 60\n"
                f"@ IN NS ns\nns IN A {self.addr}\n" + records + "\n")
            conf += ["zone:", f"  name: {origin.rstrip('.')}",
                     f"  zonefile: {self.dir}/{fn}"]
        (self.dir / "nsd.conf").write_text("\n".join(conf) + "\n")
        r = subprocess.run(["nsd-checkconf", str(self.dir / "nsd.conf")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        out = open(self.dir / "nsd.out", "ab")
        self.proc = subprocess.Popen([NSD, "-d", "-c", str(self.dir / "nsd.conf")],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        first = next(iter(self.zones)).rstrip(".")
        try:
            wait_until(lambda: self.proc.poll() is not None or
                       self.query(first) != "", 30, f"nsd on {self.addr}:53")
        except BaseException:
            self.cleanup()
            raise
        if self.proc.poll() is not None:
            raise AssertionError(
                f"nsd exited {self.proc.returncode}: "
                f"{(self.dir / 'nsd.out').read_text(errors='replace')}"
                f"{(self.dir / 'nsd.log').read_text(errors='replace') if (self.dir / 'nsd.log').exists() else ''}")
        return self

    def expect(self, name, rtype, want, timeout=30):
        """The fixture's check that the zone answers as its tests assume:
        wait until dig's answer is want (a string, or a predicate on the
        answer), asking again on a loaded machine (dig waits 1 s); on
        failure stop nsd before raising. Returns self."""
        ok = want if callable(want) else (lambda a: a == want)
        try:
            wait_until(lambda: ok(self.query(name, rtype)), timeout,
                       f"nsd's {rtype} answer for {name}")
        except BaseException:
            self.cleanup()
            raise
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            kill_pid(self.proc.pid)
            self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
