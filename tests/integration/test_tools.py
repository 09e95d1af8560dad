"""The queue tools: sendmail, mailq/postqueue, postsuper, postcat.

Each test gets a fresh instance directory under /tmp (traversable by the
mailgw user) with main.cf and a queue laid out as gateway/queue/layout.h
says (what `mailgw start` creates). Queue files are written here from
Python following docs/queue-format.md, so that the listing, postsuper and
postcat are checked against files this test knows byte by byte; sendmail's
output is read back the same way. Non-root submission runs the real
binary as user nobody.
"""
import contextlib
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import time
import zlib

import pytest

from conftest import MAILGW, run

ALPHABET = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
QUEUES = ("incoming", "active", "deferred", "hold", "corrupt")
ENV_UTC = dict(os.environ, TZ="UTC")


def b52(n, width=0):
    s = ""
    while n:
        n, r = divmod(n, 52)
        s = ALPHABET[r] + s
    return s.rjust(width, "0") if width else (s or "0")


def make_qid(sec, usec, ino):
    return b52(sec, 6) + b52(usec, 4) + b52(ino)


def rec(t, value):
    if isinstance(value, str):
        value = value.encode()
    return t.encode() + str(len(value)).encode() + b" " + value + b"\n"


def appended(t, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    crc = zlib.crc32(t.encode() + payload) & 0xFFFFFFFF
    return rec(t, b"%08x " % crc + payload)


def qfile(sender, rcpts, content, arrival=1700000000, extra=b""):
    """A whole queue file (initial part + appended records)."""
    out = b"MAILGW-QUEUE 1\n" + rec("T", f"{arrival}.000000")
    out += rec("S", sender)
    for r in rcpts:
        out += rec("R", r)
    out += rec("M", "%020d" % len(content)) + content + rec("E", "")
    return out + extra


def parse_qfile(data):
    """The initial part of a queue file: (records, content)."""
    assert data.startswith(b"MAILGW-QUEUE 1\n")
    pos = len(b"MAILGW-QUEUE 1\n")
    recs = []
    while True:
        t = chr(data[pos])
        sp = data.index(b" ", pos)
        n = int(data[pos + 1:sp])
        value = data[sp + 1:sp + 1 + n]
        assert data[sp + 1 + n:sp + 2 + n] == b"\n"
        pos = sp + 2 + n
        recs.append((t, value))
        if t == "M":
            content = data[pos:pos + int(value)]
            assert data[pos + int(value):pos + int(value) + 4] == b"E0 \n"
            return recs, content


def make_layout(spool):
    """queue_directory as layout.h says master creates it."""
    owner = pwd.getpwnam("mailgw")
    os.mkdir(spool, 0o755)
    for q, mode in [(q, 0o700) for q in QUEUES] + [
            ("maildrop", 0o1733), ("public", 0o755), ("pid", 0o755)]:
        os.mkdir(os.path.join(spool, q))
        os.chmod(os.path.join(spool, q), mode)
        if q != "pid":
            os.chown(os.path.join(spool, q), owner.pw_uid, owner.pw_gid)


class Instance:
    """A configuration directory and a queue laid out as layout.h says."""

    def __init__(self, extra_conf=""):
        self.top = tempfile.mkdtemp(prefix="mailgw-", dir="/tmp")
        os.chmod(self.top, 0o755)
        self.etc = os.path.join(self.top, "etc")
        self.spool = os.path.join(self.top, "spool")
        os.mkdir(self.etc)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"queue_directory = {self.spool}\n"
                    "myhostname = gw.example.com\n" + extra_conf)
        open(os.path.join(self.etc, "master.cf"), "w").close()
        make_layout(self.spool)

    def q(self, name):
        return os.path.join(self.spool, name)

    def cmd(self, name, *args, user=None, input=None, env=None):
        argv = [str(MAILGW), "-c", self.etc, name, *args]
        if user:
            argv = ["runuser", "-u", user, "--"] + argv
        return run(argv, input=input, env=env or ENV_UTC, cwd="/")

    def put(self, queue, qid, data, mode=0o600):
        path = os.path.join(self.q(queue), qid)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def where(self, qid):
        return [q for q in QUEUES if os.path.exists(os.path.join(self.q(q), qid))]

    @contextlib.contextmanager
    def qmgr_fifo(self):
        """The trigger FIFO (public/qmgr, 0622) with a reader standing in
        for qmgr; yields a function that returns what arrived."""
        fifo = os.path.join(self.q("public"), "qmgr")
        os.mkfifo(fifo)
        os.chmod(fifo, 0o622)
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            yield lambda: os.read(fd, 4096)
        finally:
            os.close(fd)

    def maildrop(self):
        return sorted(os.listdir(self.q("maildrop")))

    def cleanup(self):
        shutil.rmtree(self.top, ignore_errors=True)


@pytest.fixture
def inst():
    i = Instance()
    yield i
    i.cleanup()


def envelope(recs, t):
    return [v.decode() for (k, v) in recs if k == t]


def headers(content):
    head = content.split(b"\r\n\r\n", 1)[0].decode()
    return re.findall(r"^([A-Za-z-]+):", head, re.M)


# ---- sendmail ----

def test_sendmail_root_writes_maildrop_file(inst):
    r = inst.cmd("sendmail", "-F", "Joe User", "bob@example.net",
                 "carol", input="Subject: hi\n\nline 1\nline 2\n")
    assert r.rc == 0, r
    names = inst.maildrop()
    assert len(names) == 1 and re.fullmatch(r"[0-9A-Za-z]{16}", names[0])
    path = os.path.join(inst.q("maildrop"), names[0])
    st = os.stat(path)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o644
    recs, content = parse_qfile(open(path, "rb").read())
    assert envelope(recs, "S") == ["root@gw.example.com"]
    # An unqualified recipient gets @$myorigin (= $myhostname).
    assert envelope(recs, "R") == ["bob@example.net", "carol@gw.example.com"]
    assert envelope(recs, "l") == ["local"]
    # Canonical CRLF, the missing headers added after the existing ones.
    assert b"\n" not in content.replace(b"\r\n", b"")
    assert headers(content) == ["Subject", "Message-Id", "Date", "From"]
    text = content.decode()
    assert f"Message-Id: <{names[0]}@gw.example.com>\r\n" in text
    assert "From: Joe User <root@gw.example.com>\r\n" in text
    assert re.search(r"Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000 "
                     r"\(UTC\)\r\n", text)
    assert text.endswith("\r\n\r\nline 1\r\nline 2\r\n")


def test_sendmail_as_nobody(inst):
    r = inst.cmd("sendmail", "-f", "<sender@example.org>", "rcpt@example.net",
                 user="nobody", input="From: Someone <s@example.org>\n"
                 "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
                 "Message-ID: <x@y>\n\nbody\n")
    assert r.rc == 0, r
    (name,) = inst.maildrop()
    path = os.path.join(inst.q("maildrop"), name)
    st = os.stat(path)
    assert st.st_uid == pwd.getpwnam("nobody").pw_uid
    assert stat.S_IMODE(st.st_mode) == 0o644
    recs, content = parse_qfile(open(path, "rb").read())
    assert envelope(recs, "S") == ["sender@example.org"]
    # Present headers are kept, nothing added.
    assert headers(content) == ["From", "Date", "Message-ID"]


def test_sendmail_default_sender_is_login_of_real_uid(inst):
    r = inst.cmd("sendmail", "a@example.net", user="nobody", input="x\n")
    assert r.rc == 0, r
    (name,) = inst.maildrop()
    recs, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert envelope(recs, "S") == ["nobody@gw.example.com"]
    assert "From: " in content.decode()


def test_sendmail_t_takes_to_cc_bcc_and_removes_bcc(inst):
    msg = ("To: Bob <bob@example.net>, \"Smith, J\" <j@example.org>\n"
           "Cc: undisclosed-recipients:;, carol@example.com (Carol)\n"
           "Bcc: secret@example.org\n"
           "Subject: t\n\nhello\n")
    r = inst.cmd("sendmail", "-t", "extra@example.net", input=msg)
    assert r.rc == 0, r
    (name,) = inst.maildrop()
    recs, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert envelope(recs, "R") == [
        "extra@example.net", "bob@example.net", "j@example.org",
        "carol@example.com", "secret@example.org"]
    assert b"Bcc" not in content and b"secret" not in content
    assert headers(content)[:3] == ["To", "Cc", "Subject"]


def test_sendmail_t_without_recipients(inst):
    r = inst.cmd("sendmail", "-t", input="Subject: none\n\nx\n")
    assert r.rc == 75
    assert r.err == ("sendmail: fatal: root(0): No recipient addresses "
                     "found in message header\n")
    assert inst.maildrop() == []


def test_sendmail_no_recipients_is_usage_error(inst):
    r = inst.cmd("sendmail", input="x\n")
    assert r.rc == 75
    assert "Recipient addresses must be specified" in r.err


def test_sendmail_dot_line_ends_input_unless_i(inst):
    body = "first\n.\nafter the dot\n"
    assert inst.cmd("sendmail", "a@example.net", input=body).rc == 0
    (name,) = inst.maildrop()
    _, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert content.endswith(b"\r\nfirst\r\n")
    os.unlink(os.path.join(inst.q("maildrop"), name))
    for opt in ("-i", "-oi"):
        assert inst.cmd("sendmail", opt, "a@example.net", input=body).rc == 0
        (name,) = inst.maildrop()
        _, content = parse_qfile(
            open(os.path.join(inst.q("maildrop"), name), "rb").read())
        assert content.endswith(b"\r\nfirst\r\n.\r\nafter the dot\r\n")
        os.unlink(os.path.join(inst.q("maildrop"), name))


def test_sendmail_line_ends_become_crlf(inst):
    data = b"Subject: x\r\n\r\na\rb\r\nc\nd"
    r = subprocess.run([str(MAILGW), "-c", inst.etc, "sendmail",
                        "a@example.net"], input=data, capture_output=True)
    assert r.returncode == 0, r
    (name,) = inst.maildrop()
    _, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert content.endswith(b"\r\n\r\na\r\nb\r\nc\r\nd\r\n")


def test_sendmail_size_limit(inst):
    with open(os.path.join(inst.etc, "main.cf"), "a") as f:
        f.write("message_size_limit = 2000\n")
    r = inst.cmd("sendmail", "a@example.net", input="x" * 100 + "\n" +
                 ("y" * 70 + "\n") * 100)
    assert r.rc == 75
    assert r.err.strip() == "sendmail: fatal: root(0): message file too big"
    # Nothing left behind, not even the temporary file.
    assert os.listdir(inst.q("maildrop")) == []


def test_sendmail_large_message_streams(inst):
    """10 MB in, memory stays bounded (the header buffer is 100 KB)."""
    line = "z" * 998 + "\n"
    body = "Subject: big\n\n" + line * 10000
    r = inst.cmd("sendmail", "a@example.net", input=body)
    assert r.rc == 0, r
    (name,) = inst.maildrop()
    _, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert content.count(b"z" * 998 + b"\r\n") == 10000


def test_sendmail_dsn_options(inst):
    r = inst.cmd("sendmail", "-N", "success,delay", "-R", "hdrs",
                 "-V", "env+id", "-B", "8BITMIME", "a@example.net",
                 input="x\n")
    assert r.rc == 0, r
    (name,) = inst.maildrop()
    recs, _ = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert envelope(recs, "N") == ["SUCCESS,DELAY"]
    assert envelope(recs, "r") == ["HDRS"]
    assert envelope(recs, "e") == ["env+2Bid"]
    assert envelope(recs, "B") == ["8BITMIME"]
    os.unlink(os.path.join(inst.q("maildrop"), name))
    assert inst.cmd("sendmail", "-o7", "a@example.net", input="x\n").rc == 0
    (name,) = inst.maildrop()
    recs, _ = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert envelope(recs, "B") == ["7BIT"]


def test_sendmail_option_errors_as_postfix(inst):
    """Postfix 3.7's sendmail: every fatal error exits 75; bad -N/-R/-V
    values are ignored with a warning."""
    r = inst.cmd("sendmail", "-bz")
    assert (r.rc, r.err) == (75, "sendmail: fatal: unsupported: -bz\n")
    r = inst.cmd("sendmail", "-Z", "a@example.net", input="x\n")
    assert (r.rc, r.err) == (75, "sendmail: invalid option -- 'Z'\n"
                                 "sendmail: fatal: usage: sendmail [options]\n")
    r = inst.cmd("sendmail", "-qR")
    assert (r.rc, r.err) == (75, "sendmail: fatal: specify: -qRsitename\n")
    r = inst.cmd("sendmail", "-B", "bogus", "a@example.net", input="x\n")
    assert (r.rc, r.err) == (75, "sendmail: fatal: -B option needs 8BITMIME "
                                 "or 7BIT\n")
    assert inst.maildrop() == []
    r = inst.cmd("sendmail", "-N", "never,success", "-R", "bogus", "-V",
                 "a\x01b", "a@example.net", input="x\n")
    assert r.rc == 0
    assert r.err == ("sendmail: warning: bad -N option value -- ignored\n"
                     "sendmail: warning: bad -R option value -- ignored\n"
                     "sendmail: warning: bad syntax in -V option value -- "
                     "ignored\n")
    (name,) = inst.maildrop()
    recs, _ = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert [k for k, v in recs if k in "Nre"] == []


def test_sendmail_bs_session(inst):
    dialogue = ("EHLO client.example\r\n"
                "MAIL FROM:<s@example.org> SIZE=100\r\n"
                "RCPT TO:<r1@example.net> NOTIFY=FAILURE\r\n"
                "RCPT TO:<r2@example.net>\r\n"
                "DATA\r\n"
                "Subject: smtp\r\n\r\n..dotted\r\nbody\r\n.\r\n"
                "MAIL FROM:<>\r\nDATA\r\nRSET\r\nQUIT\r\n")
    r = inst.cmd("sendmail", "-bs", user="nobody", input=dialogue)
    assert r.rc == 0, r
    codes = [line[:4] for line in r.out.splitlines() if line]
    assert codes[0] == "220 "
    assert "250-PIPELINING" in r.out and "250-DSN" in r.out
    tail = [c for c in codes if not c.startswith("250-")][1:]
    assert tail == ["250 ", "250 ", "250 ", "250 ", "354 ", "250 ", "250 ",
                    "554 ", "250 ", "221 "], r.out
    (name,) = inst.maildrop()
    assert f"250 2.0.0 Ok: queued as {name}" in r.out
    recs, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert envelope(recs, "S") == ["s@example.org"]
    assert envelope(recs, "R") == ["r1@example.net", "r2@example.net"]
    assert envelope(recs, "N") == ["FAILURE"]
    assert content.endswith(b"\r\n\r\n.dotted\r\nbody\r\n")


def test_sendmail_queues_while_mail_system_is_down(inst):
    """No qmgr reads the FIFO: the trigger fails, the message stays."""
    os.mkfifo(os.path.join(inst.q("public"), "qmgr"), 0o622)
    r = inst.cmd("sendmail", "a@example.net", input="x\n", user="nobody")
    assert r.rc == 0, r
    assert len(inst.maildrop()) == 1


def test_sendmail_triggers_pickup(inst):
    with inst.qmgr_fifo() as got:
        assert inst.cmd("sendmail", "a@example.net", input="x\n").rc == 0
        assert got() == b"M\n"


# ---- mailq / postqueue ----

def sample_queue(inst):
    """Four messages in four queues with known content; returns their IDs."""
    content = b"Subject: x\r\n\r\n" + b"y" * 1000 + b"\r\n"
    a = make_qid(1700000000, 10, 1001)
    inst.put("active", a, qfile("alice@example.org",
                                ["r1@example.net", "r2@example.net"], content))
    d = make_qid(1700000100, 20, 1002)
    inst.put("deferred", d, qfile(
        "", ["x1@example.net", "x2@example.net", "x3@example.net",
             "done@example.net"], content, arrival=1700000100,
        extra=appended("F", "0 4.4.1 connect to mx.example.net[192.0.2.1]:25: "
                            "Connection refused")
        + appended("F", "1 4.4.1 connect to mx.example.net[192.0.2.1]:25: "
                        "Connection refused")
        + appended("D", "3 sent 2.0.0 250 ok")
        + appended("Y", "1700000400 1")))
    h = make_qid(1700000200, 30, 1003)
    inst.put("hold", h, qfile("bob@example.org", ["y@example.net"], content,
                              arrival=1700000200,
                              extra=appended("H", "1")))
    i = make_qid(1700000300, 40, 1004)
    inst.put("incoming", i, qfile("carol@example.org", ["z@example.net"],
                                  b"", arrival=1700000300))
    return a, d, h, i, len(content)


def test_mailq_listing_format(inst):
    a, d, h, i, size = sample_queue(inst)
    expect = (
        "----Queue ID----- --Size-- ---Arrival Time---- "
        "--Sender/Recipient------\n"
        f"{a + '*':<17} {size:>8} Tue Nov 14 22:13:20 alice@example.org\n"
        f"{'':47}r1@example.net\n"
        f"{'':47}r2@example.net\n"
        "\n"
        f"{i:<17} {0:>8} Tue Nov 14 22:18:20 carol@example.org\n"
        f"{'':47}z@example.net\n"
        "\n"
        f"{d:<17} {size:>8} Tue Nov 14 22:15:00 MAILER-DAEMON\n"
        f"{'(connect to mx.example.net[192.0.2.1]:25: Connection refused)':>78}"
        "\n"
        f"{'':47}x1@example.net\n"
        f"{'':47}x2@example.net\n"
        f"{'(reason unavailable)':>78}\n"
        f"{'':47}x3@example.net\n"
        "\n"
        f"{h + '!':<17} {size:>8} Tue Nov 14 22:16:40 bob@example.org\n"
        f"{'':47}y@example.net\n"
        "\n"
        f"-- {3 * size // 1024} Kbytes in 4 Requests.\n")
    for argv in (("mailq",), ("postqueue", "-p"), ("sendmail", "-bp")):
        r = inst.cmd(*argv)
        assert (r.rc, r.out) == (0, expect), (argv, r)


def test_mailq_empty(inst):
    r = inst.cmd("mailq")
    assert (r.rc, r.out) == (0, "Mail queue is empty\n")


def test_mailq_one_request_singular(inst):
    inst.put("deferred", make_qid(1700000000, 1, 7),
             qfile("a@b.c", ["d@e.f"], b"x\r\n" * 600))
    r = inst.cmd("mailq")
    assert r.out.endswith("\n-- 1 Kbytes in 1 Request.\n")


def test_mailq_needs_privilege(inst):
    r = inst.cmd("mailq", user="nobody")
    assert r.rc == 69
    assert "mailq: fatal: Queue report unavailable: permission denied" in r.err


def test_postqueue_json(inst):
    a, d, h, i, size = sample_queue(inst)
    r = inst.cmd("postqueue", "-j")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    objs = [json.loads(x) for x in lines]
    assert [(o["queue_name"], o["queue_id"]) for o in objs] == [
        ("active", a), ("incoming", i), ("deferred", d), ("hold", h)]
    dq = objs[2]
    assert dq == {
        "queue_name": "deferred", "queue_id": d, "arrival_time": 1700000100,
        "message_size": size, "forced_expire": False,
        "sender": "MAILER-DAEMON",
        "recipients": [
            {"address": "x1@example.net", "delay_reason":
             "connect to mx.example.net[192.0.2.1]:25: Connection refused"},
            {"address": "x2@example.net", "delay_reason":
             "connect to mx.example.net[192.0.2.1]:25: Connection refused"},
            {"address": "x3@example.net"}]}
    # Postfix's key order and spacing.
    assert lines[1].startswith('{"queue_name": "incoming", "queue_id": "')


def test_postqueue_flush_when_down(inst):
    for args in (("-f",), ("-s", "example.com")):
        r = inst.cmd("postqueue", *args)
        assert r.rc == 69
        assert r.err == ("postqueue: fatal: Cannot flush mail queue - mail "
                         "system is down\n")


def test_postqueue_flush_requests(inst):
    with inst.qmgr_fifo() as got:
        assert inst.cmd("postqueue", "-f", user="nobody").rc == 0
        assert inst.cmd("postqueue", "-s", "Mail.Example.COM").rc == 0
        assert inst.cmd("sendmail", "-q").rc == 0
        assert inst.cmd("sendmail", "-qR", "Other.example").rc == 0
        assert got() == (b"F\nS mail.example.com\nF\n"
                                    b"S other.example\n")
    r = inst.cmd("postqueue", "-s", "bad site")
    assert r.rc == 64 and 'Invalid request: "bad site"' in r.err


def test_postqueue_usage(inst):
    r = inst.cmd("postqueue")
    assert r.rc == 69 and "usage: postqueue" in r.err
    r = inst.cmd("postqueue", "-Z")
    assert r.rc == 69
    assert r.err.startswith("postqueue: invalid option -- 'Z'\n"
                            "postqueue: fatal: usage: postqueue")


# ---- postsuper ----

def records_after_end(path):
    data = open(path, "rb").read()
    recs, content = parse_qfile(data)
    end = data.index(b"E0 \n", data.index(content) + len(content)
                     if content else 0) + 4
    out = []
    pos = end
    while pos < len(data):
        t = chr(data[pos])
        sp = data.index(b" ", pos)
        n = int(data[pos + 1:sp])
        value = data[sp + 1:sp + 1 + n]
        crc, payload = value.split(b" ", 1)
        assert int(crc, 16) == zlib.crc32(t.encode() + payload) & 0xFFFFFFFF
        out.append((t, payload.decode()))
        pos = sp + 2 + n
    return out


def test_postsuper_hold_release_requeue_delete(inst):
    a, d, h, i, size = sample_queue(inst)
    r = inst.cmd("postsuper", "-h", d)
    assert r.rc == 0, r
    assert r.err == (f"postsuper: {d}: placed on hold\n"
                     "postsuper: Placed on hold: 1 message\n")
    assert inst.where(d) == ["hold"]
    assert records_after_end(os.path.join(inst.q("hold"), d))[-1] == ("H", "1")
    assert f"{d}!" in inst.cmd("mailq").out

    before = int(time.time())
    r = inst.cmd("postsuper", "-H", d)
    assert r.err == (f"postsuper: {d}: released from hold\n"
                     "postsuper: Released from hold: 1 message\n")
    assert inst.where(d) == ["deferred"]
    tail = records_after_end(os.path.join(inst.q("deferred"), d))
    assert tail[-2] == ("H", "0")
    assert tail[-1][0] == "Y"
    when, attempts = tail[-1][1].split()
    assert int(when) >= before and attempts == "1"
    out = inst.cmd("mailq").out
    assert f"{d}!" not in out and f"{d} " in out

    r = inst.cmd("postsuper", "-r", d)
    assert r.err == (f"postsuper: {d}: requeued\n"
                     "postsuper: Requeued: 1 message\n")
    assert inst.where(d) == ["incoming"]

    r = inst.cmd("postsuper", "-d", d)
    assert r.err == (f"postsuper: {d}: removed\n"
                     "postsuper: Deleted: 1 message\n")
    assert inst.where(d) == []


def test_postsuper_all_and_queue_names(inst):
    a, d, h, i, size = sample_queue(inst)
    r = inst.cmd("postsuper", "-h", "ALL", "deferred")
    assert r.err == f"postsuper: {d}: placed on hold\n" \
                    "postsuper: Placed on hold: 1 message\n"
    assert sorted(os.listdir(inst.q("hold"))) == sorted([d, h])
    r = inst.cmd("postsuper", "-H", "ALL")
    assert r.err.endswith("postsuper: Released from hold: 2 messages\n")
    assert sorted(os.listdir(inst.q("deferred"))) == sorted([d, h])
    # A maildrop file counts too, as in Postfix.
    assert inst.cmd("sendmail", "a@example.net", input="x\n").rc == 0
    r = inst.cmd("postsuper", "-d", "ALL")
    assert r.rc == 0
    assert r.err.endswith("postsuper: Deleted: 5 messages\n"), r
    for q in QUEUES:
        assert os.listdir(inst.q(q)) == []
    assert inst.maildrop() == []
    assert inst.cmd("mailq").out == "Mail queue is empty\n"


def test_postsuper_ids_from_stdin(inst):
    a, d, h, i, size = sample_queue(inst)
    r = inst.cmd("postsuper", "-d", "-", input=f"{a}\n{i}\nnot-an-id\n")
    assert r.err == (f"postsuper: {a}: removed\n"
                     f"postsuper: {i}: removed\n"
                     "postsuper: warning: invalid mail queue id: not-an-id\n"
                     "postsuper: Deleted: 2 messages\n")


def test_postsuper_counts_what_was_asked(inst):
    """As Postfix 3.7: a count for every operation asked for, even 0."""
    r = inst.cmd("postsuper", "-d", make_qid(1700000000, 1, 99))
    assert (r.rc, r.err) == (0, "postsuper: Deleted: 0 messages\n")
    r = inst.cmd("postsuper", "-r", "ALL", "-h", "ALL")
    assert (r.rc, r.err) == (0, "postsuper: Requeued: 0 messages\n"
                                "postsuper: Placed on hold: 0 messages\n")
    r = inst.cmd("postsuper", "-d", "ALL", "bogus")
    assert (r.rc, r.err) == (1, "postsuper: fatal: invalid directory name: "
                                "bogus\n")


def test_postsuper_root_only(inst):
    r = inst.cmd("postsuper", "-d", "ALL", user="nobody")
    assert r.rc == 1
    assert "reserved for the superuser" in r.err


def test_postsuper_triggers_rescan(inst):
    a, d, h, i, size = sample_queue(inst)
    with inst.qmgr_fifo() as got:
        assert inst.cmd("postsuper", "-r", "ALL").rc == 0
        assert got() == b"R\n"
    assert sorted(os.listdir(inst.q("incoming"))) == sorted([a, d, h, i])
    # Requeue from hold/ releases the message.
    assert records_after_end(os.path.join(inst.q("incoming"), h))[-2] == \
        ("H", "0")


# ---- postcat ----

def test_postcat_queue_file(inst):
    a, d, h, i, size = sample_queue(inst)
    r = inst.cmd("postcat", "-q", d)
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0] == f"*** ENVELOPE RECORDS deferred/{d} ***"
    assert lines[1].split()[:2] == ["message_size:", str(size)]
    assert lines[2] == "message_arrival_time: Tue Nov 14 22:15:00 2023"
    assert "sender: " in lines
    assert lines.index("recipient: x1@example.net") < \
        lines.index("recipient: done@example.net")
    start = lines.index(f"*** MESSAGE CONTENTS deferred/{d} ***")
    end = lines.index(f"*** HEADER EXTRACTED deferred/{d} ***")
    assert lines[start + 1:end] == ["Subject: x", "", "y" * 1000]
    assert "done_recipient: done@example.net (sent 2.0.0 250 ok)" in lines
    assert lines[-1] == f"*** MESSAGE FILE END deferred/{d} ***"


def test_postcat_sections(inst):
    a, d, h, i, size = sample_queue(inst)
    # As Postfix 3.7: labels only with -e; the body starts with the empty
    # line.
    r = inst.cmd("postcat", "-h", "-q", a)
    assert r.out == "Subject: x\n"
    r = inst.cmd("postcat", "-b", "-q", a)
    assert r.out == "\n" + "y" * 1000 + "\n"
    r = inst.cmd("postcat", "-hb", "-q", a)
    assert r.out == "Subject: x\n\n" + "y" * 1000 + "\n"
    r = inst.cmd("postcat", "-e", "-q", a)
    assert r.out.startswith(f"*** ENVELOPE RECORDS active/{a} ***\n")
    assert "recipient: r2@example.net\n" in r.out
    assert (f"*** MESSAGE CONTENTS active/{a} ***\n"
            f"*** HEADER EXTRACTED active/{a} ***\n") in r.out


def test_postcat_file_and_errors(inst):
    a, d, h, i, size = sample_queue(inst)
    path = os.path.join(inst.q("active"), a)
    r = inst.cmd("postcat", path)
    assert r.rc == 0 and f"*** ENVELOPE RECORDS {path} ***" in r.out
    r = inst.cmd("postcat", "-q", make_qid(1700000000, 1, 99))
    assert r.rc == 1 and "open queue file" in r.err
    r = inst.cmd("postcat", "-q", "bogus")
    assert r.rc == 1 and "bad mail queue ID: bogus" in r.err
    r = inst.cmd("postcat", "-q", a, user="nobody")
    assert r.rc == 1


# ---- end to end: mailgw start, pickup, relay to smtp-sink ----

def start_or_skip(gw):
    r = gw.start(check=False)
    if r.rc != 0 and "not built yet" in r.err:
        pytest.skip(f"the mail system is not built yet: {r.err.strip()}")
    assert r.rc == 0, f"mailgw start failed: {r}\n{gw.log_text()[-3000:]}"


def test_sendmail_mail_reaches_the_smarthost(gateway, smtp_sink):
    """Submitted while mailgw is down (as nobody), then once it runs (as
    root, -t): both arrive at the sink with the headers sendmail added;
    the queue is empty afterwards and flushing works while it runs."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    # The layout exists before the first start only if master made it:
    # make it the way layout.h says, as master would.
    inst_queue = gw.queue
    if not inst_queue.exists():
        make_layout(str(inst_queue))
    r = run(["runuser", "-u", "nobody", "--", str(MAILGW), "-c", gw.dir,
             "sendmail", "-F", "No Body", "down@example.net"],
            input="Subject: while down\n\nqueued while down\n", cwd="/")
    assert r.rc == 0, r
    assert len(os.listdir(inst_queue / "maildrop")) == 1
    start_or_skip(gw)
    msgs = sink.wait_count(1)
    m = msgs[0]
    assert m.sender == "nobody@mx.test.example"
    assert m.recipients == ["down@example.net"]
    assert m.header("From") == "No Body <nobody@mx.test.example>"
    assert m.header("Subject") == "while down"
    assert m.header("Message-Id").endswith("@mx.test.example>")
    assert m.header("Date")
    assert m.body == b"queued while down\n"

    r = gw.cmd("sendmail", "-t", input="To: a@example.net\nCc: b@example.net\n"
               "Bcc: c@example.net\nSubject: running\n\nbody\n")
    assert r.rc == 0, r
    msgs = sink.wait_count(2)
    # The sink names its files by second and a random suffix: pick the
    # message by content, not by position.
    got = sorted(r for m in msgs if m.header("Subject") == "running"
                 for r in m.recipients)
    assert got == ["a@example.net", "b@example.net", "c@example.net"]
    assert all(m.header("Bcc") is None for m in msgs)
    gw.wait_queue_empty()
    assert gw.cmd("mailq").out == "Mail queue is empty\n"
    assert gw.cmd("postqueue", "-f").rc == 0


def test_tools_log_to_maillog_file(inst):
    """As Postfix's commands log to the mail log too: "mailgw/postsuper[PID]:
    QID: removed" in maillog_file, besides stderr."""
    log = os.path.join(inst.top, "maillog")
    with open(os.path.join(inst.etc, "main.cf"), "a") as f:
        f.write(f"maillog_file = {log}\n")
    a, d, h, i, size = sample_queue(inst)
    r = inst.cmd("postsuper", "-d", a)
    assert r.err == (f"postsuper: {a}: removed\n"
                     "postsuper: Deleted: 1 message\n")
    text = open(log).read()
    assert re.search(rf"mailgw/postsuper\[\d+\]: {a}: removed$", text, re.M)
    assert re.search(r"mailgw/postsuper\[\d+\]: Deleted: 1 message$", text,
                     re.M)


def test_postsuper_leaves_a_torn_file_to_qmgr(inst):
    """A crash during an append leaves a torn record; postsuper neither
    cuts it (qmgr may be appending) nor appends after it (that record
    would not count): it says so and leaves the file where it is."""
    qid = make_qid(1700000000, 5, 2001)
    inst.put("deferred", qid, qfile("a@b.c", ["d@e.f"], b"x\r\n",
                                    extra=appended("Y", "1700000400 1")[:-4]))
    before = open(os.path.join(inst.q("deferred"), qid), "rb").read()
    r = inst.cmd("postsuper", "-h", qid)
    assert r.rc == 0
    assert r.err == (f"postsuper: warning: deferred/{qid}: the last update is "
                     "incomplete (a crash); not changed until the mail system "
                     "has repaired it\n"
                     "postsuper: Placed on hold: 0 messages\n")
    assert inst.where(qid) == ["deferred"]
    assert open(os.path.join(inst.q("deferred"), qid), "rb").read() == before
    # Deleting it needs no append: that works.
    assert inst.cmd("postsuper", "-d", qid).err.endswith("Deleted: 1 message\n")


def test_sendmail_bs_size_limit_and_two_messages(inst):
    with open(os.path.join(inst.etc, "main.cf"), "a") as f:
        f.write("message_size_limit = 1000\n")
    big = "x" * 80 + "\r\n"
    dialogue = ("EHLO c\r\nMAIL FROM:<a@b.c> SIZE=5000\r\n"
                "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n" +
                big * 20 + ".\r\n"
                "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nsmall\r\n.\r\n"
                "MAIL FROM:<a@b.c>\r\nRCPT TO:<g@e.f>\r\nDATA\r\nagain\r\n.\r\n"
                "QUIT\r\n")
    r = inst.cmd("sendmail", "-bs", input=dialogue)
    assert r.rc == 0, r
    lines = [l for l in r.out.splitlines() if not l.startswith("250-")]
    assert lines[1] == "250 CHUNKING"
    assert lines[2] == "552 5.3.4 Message size exceeds fixed limit"
    assert lines[6] == "552 5.3.4 Error: message file too big"
    assert [l[:3] for l in lines[7:]] == ["250", "250", "354", "250", "250",
                                          "250", "354", "250", "221"]
    assert len(inst.maildrop()) == 2
    assert not [n for n in os.listdir(inst.q("maildrop"))
                if n.startswith(".")]


# ---- against the real Postfix 3.7 ----

def mask_listing(text):
    """A mailq listing with the fields that differ between two systems
    (queue ID, size, arrival time) blanked, columns kept."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^(\S+?)([*!]?)( +)(\d+) (\w{3} \w{3} [ \d]\d "
                     r"\d\d:\d\d:\d\d) (.*)$", line)
        if m:
            assert len(line) - len(m.group(6)) == 47, line
            line = f"{'ID' + m.group(2):<17} {'SIZE':>8} {'TIME':<19} " \
                   f"{m.group(6)}"
        out.append(line)
    return out


@pytest.fixture
def postfix_ref():
    from peers import PostfixPeer
    made = []

    def make(**main_cf):
        p = PostfixPeer(main_cf={"myhostname": "gw.example.com",
                                 "enable_long_queue_ids": "yes", **main_cf})
        made.append(p)
        return p
    yield make
    for p in made:
        p.cleanup()


def test_mailq_layout_matches_postfix(inst, postfix_ref):
    """Postfix's postqueue -p (long queue IDs, showq run by root while the
    system is down) and mailgw's mailq list the same maildrop submission
    in the same columns and words."""
    pf = postfix_ref()
    subprocess.run(["/usr/sbin/postfix", "-c", str(pf.etc),
                    "set-permissions"], capture_output=True)
    argv = ["-f", "sender@example.org", "bob@example.net", "carol@example.net"]
    r = subprocess.run(["/usr/sbin/sendmail", "-C", str(pf.etc), *argv],
                       input=b"hello\n", capture_output=True)
    assert r.returncode == 0, r
    theirs = subprocess.run(["/usr/sbin/postqueue", "-c", str(pf.etc), "-p"],
                            capture_output=True, text=True)
    assert theirs.returncode == 0, theirs
    assert inst.cmd("sendmail", *argv, input="hello\n").rc == 0
    ours = inst.cmd("mailq")
    assert mask_listing(ours.out) == mask_listing(theirs.stdout)
    assert mask_listing(ours.out)[1] == \
        f"{'ID':<17} {'SIZE':>8} {'TIME':<19} sender@example.org"


def test_added_headers_match_postfix(inst, postfix_ref, tmp_path):
    """What sendmail adds to a bare message is what Postfix's cleanup adds
    (apart from its Received line, which pickup writes): Message-Id,
    Date, From with the quoted full name, in that order, after the
    message's own headers; Bcc gone with -t."""
    hc = tmp_path / "hc"
    hc.write_text("/^Subject:/ HOLD\n")
    os.chmod(tmp_path, 0o755)
    pf = postfix_ref(header_checks=f"regexp:{hc}")
    pf.start()
    msg = b"Subject: t\nTo: x@example.net\nBcc: hidden@example.net\n\nbody\n"
    r = subprocess.run(["/usr/sbin/sendmail", "-C", str(pf.etc), "-F",
                        "Joe Q. User", "-t"], input=msg, capture_output=True)
    assert r.returncode == 0, r
    from peers import wait_until
    held = wait_until(lambda: os.listdir(pf.queue / "hold"), 60,
                      "Postfix to hold the message")
    theirs = subprocess.run(["/usr/sbin/postcat", "-c", str(pf.etc), "-h",
                             "-q", held[0]], capture_output=True, text=True)
    assert theirs.returncode == 0, theirs
    # Drop Received (pickup's) and the label line.
    lines = theirs.stdout.splitlines()
    assert lines[0].startswith("Received: by gw.example.com (Postfix")
    while lines[1][:1] in (" ", "\t"):
        del lines[1]
    their_head = "\n".join(lines[1:])
    r = inst.cmd("sendmail", "-F", "Joe Q. User", "-t", input=msg.decode())
    assert r.rc == 0, r
    (name,) = inst.maildrop()
    _, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    our_head = content.decode().split("\r\n\r\n")[0].replace("\r\n", "\n")
    norm = lambda h: re.sub(r"<[^@<>]+@gw\.example\.com>", "<ID@gw.example.com>",
                            re.sub(r"Date: .*", "Date: DATE", h)).strip()
    assert norm(our_head) == norm(their_head)
    assert "From: \"Joe Q. User\" <root@gw.example.com>" in our_head
    date = re.search(r"^Date: (.*)$", their_head, re.M).group(1)
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} "
                        r"\(\w+\)", date)
    assert re.search(r"^Date: " + r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d "
                     r"[+-]\d{4} \(\w+\)$", our_head, re.M)


def test_sendmail_from_line_and_resent_fields(inst):
    """As Postfix: a leading mbox "From " line is dropped; with Resent-
    fields, -t takes Resent-To/Cc/Bcc only and the added fields are the
    Resent- ones."""
    msg = ("From someone Sat Nov 28 10:00:00 2026\n"
           "Subject: x\nTo: a@example.net\nFrom: orig@example.org\n"
           "Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <o@x>\n"
           "Resent-To: r@example.net\nResent-Bcc: rb@example.net\n\nbody\n")
    r = inst.cmd("sendmail", "-t", input=msg)
    assert r.rc == 0, r
    (name,) = inst.maildrop()
    recs, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert envelope(recs, "R") == ["r@example.net", "rb@example.net"]
    assert headers(content) == [
        "Subject", "To", "From", "Date", "Message-ID", "Resent-To",
        "Resent-Message-Id", "Resent-Date", "Resent-From"]
    assert not content.startswith(b"From ")


def test_sendmail_bs_bdat(inst):
    chunk1 = "Subject: b\r\n\r\nline one\r\nline"
    chunk2 = " two\r\n"
    dialogue = ("EHLO c\r\nBDAT 5\r\nxxxxx"
                "MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n"
                f"BDAT {len(chunk1)}\r\n{chunk1}"
                f"BDAT {len(chunk2)} LAST\r\n{chunk2}"
                "QUIT\r\n")
    r = inst.cmd("sendmail", "-bs", input=dialogue)
    assert r.rc == 0, r
    lines = [l for l in r.out.splitlines() if not l.startswith("250-")]
    (name,) = inst.maildrop()
    assert lines[1:] == [
        "250 CHUNKING", "503 5.5.1 Error: need MAIL command",
        "250 2.1.0 Ok", "250 2.1.5 Ok", f"250 2.0.0 Ok: {len(chunk1)} bytes",
        f"250 2.0.0 Ok: queued as {name}", "221 2.0.0 Bye"]
    _, content = parse_qfile(
        open(os.path.join(inst.q("maildrop"), name), "rb").read())
    assert content.startswith(b"Subject: b\r\nMessage-Id: <")
    assert content.endswith(b"\r\n\r\nline one\r\nline two\r\n")


def test_sendmail_header_edge_cases(inst):
    """Headers only (no empty line, no body); no headers at all; a header
    section over header_size_limit (the rest is body, after an empty
    line)."""
    with open(os.path.join(inst.etc, "main.cf"), "a") as f:
        f.write("header_size_limit = 2000\n")

    def submit(text):
        assert inst.cmd("sendmail", "a@example.net", input=text).rc == 0
        (name,) = inst.maildrop()
        path = os.path.join(inst.q("maildrop"), name)
        _, content = parse_qfile(open(path, "rb").read())
        os.unlink(path)
        return content

    c = submit("Subject: only\n")
    assert c.startswith(b"Subject: only\r\nMessage-Id: ")
    assert c.endswith(b">\r\n") and b"\r\n\r\n" not in c
    c = submit("just a body line\n")
    assert headers(c) == ["Message-Id", "Date", "From"]
    assert c.endswith(b"\r\n\r\njust a body line\r\n")
    many = "".join(f"X-H{i}: {'v' * 60}\n" for i in range(100))
    c = submit(many + "\nbody\n")
    head, body = c.split(b"\r\n\r\n", 1)
    assert head.startswith(b"X-H0: ") and b"From: " in head
    assert len(head) < 2000 + 300  # the cut, then the added fields
    assert body.endswith(b"X-H99: " + b"v" * 60 + b"\r\n\r\nbody\r\n")


def test_postqueue_i_flushes_one_deferred_message(inst):
    a, d, h, i, size = sample_queue(inst)
    with inst.qmgr_fifo() as got:
        before = int(time.time())
        r = inst.cmd("postqueue", "-i", d)
        assert (r.rc, r.err) == (0, "")
        assert got() == b"I\n"
    assert inst.where(d) == ["incoming"]
    t, payload = records_after_end(os.path.join(inst.q("incoming"), d))[-1]
    assert t == "Y" and int(payload.split()[0]) >= before
    assert payload.split()[1] == "1"  # attempts kept
    # Held or active messages are not flushed; unknown IDs are no error.
    assert inst.cmd("postqueue", "-i", h).rc == 0
    assert inst.where(h) == ["hold"]
    assert inst.cmd("postqueue", "-i", make_qid(1700000000, 1, 99)).rc == 0
    r = inst.cmd("postqueue", "-i", d, user="nobody")
    assert r.rc == 69 and "permission denied" in r.err


def test_maillog_stdout_does_not_mix_into_output(inst):
    """maillog_file = /dev/stdout is for the daemons (containers); the
    commands keep their stdout for their own output."""
    with open(os.path.join(inst.etc, "main.cf"), "a") as f:
        f.write("maillog_file = /dev/stdout\n")
    inst.put("deferred", make_qid(1700000000, 1, 7), b"garbage")
    r = inst.cmd("mailq")
    assert r.out == "Mail queue is empty\n"
    assert "warning: deferred/" in r.err


def test_sendmail_bs_etrn(inst):
    with inst.qmgr_fifo() as got:
        r = inst.cmd("sendmail", "-bs", input="EHLO c\r\nETRN Mail.Example.COM"
                     "\r\nETRN bad!site\r\nQUIT\r\n")
        assert got() == b"S mail.example.com\n"
    lines = [l for l in r.out.splitlines() if not l.startswith("250-")]
    assert lines[2:] == ["250 Queuing started",
                         "501 5.5.4 Error: invalid parameter syntax",
                         "221 2.0.0 Bye"]
    r = inst.cmd("sendmail", "-bs", input="ETRN example.com\r\nQUIT\r\n")
    assert "458 Unable to queue messages" in r.out


def test_sendmail_envelope_within_pickup_limit(inst):
    """pickup refuses a maildrop file over message_size_limit + 64 KiB
    (layout.h): sendmail never writes one."""
    many = [f"recipient-number-{i:05d}@example.net" for i in range(2500)]
    r = inst.cmd("sendmail", *many, input="x\n")
    assert r.rc == 75
    assert "too many recipients: the envelope is over 65536 bytes" in r.err
    assert os.listdir(inst.q("maildrop")) == []
    assert inst.cmd("sendmail", *many[:1000], input="x\n").rc == 0


def test_sendmail_smtputf8_autodetect(inst):
    """Postfix's smtputf8_autodetect_classes covers sendmail: UTF-8 in the
    envelope or the header asks for SMTPUTF8; plain ASCII does not."""
    for rcpt, text, want in (("a@example.net", "Subject: plain\n\nx\n", []),
                             ("jösé@exämple.net", "x\n", [""]),
                             ("a@example.net", "Subject: grüße\n\nx\n", [""])):
        assert inst.cmd("sendmail", rcpt, input=text).rc == 0
        (name,) = inst.maildrop()
        path = os.path.join(inst.q("maildrop"), name)
        recs, _ = parse_qfile(open(path, "rb").read())
        assert envelope(recs, "U") == want, (rcpt, text)
        os.unlink(path)


def test_postsuper_purge_and_corrupt(inst):
    old = os.path.join(inst.q("incoming"), ".tmp.123.1")
    new = os.path.join(inst.q("incoming"), ".tmp.123.2")
    for p in (old, new):
        open(p, "w").close()
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    assert inst.cmd("postsuper", "-p").rc == 0
    assert not os.path.exists(old) and os.path.exists(new)
    # The postmaster may empty corrupt/ by name.
    qid = make_qid(1700000000, 1, 5)
    inst.put("corrupt", qid, b"garbage")
    r = inst.cmd("postsuper", "-d", "ALL", "corrupt")
    assert r.err == f"postsuper: {qid}: removed\npostsuper: Deleted: 1 message\n"
    # postcat on such a file warns and, as Postfix, exits 0.
    path = inst.put("hold", qid, b"garbage")
    r = inst.cmd("postcat", path)
    assert (r.rc, r.err) == (0, f"postcat: warning: {path}: input is not a "
                                "valid queue file\n")


def test_maildrop_names_as_mailq_lists_them(inst):
    """A submission not yet picked up is listed by its maildrop name, and
    postcat -q / postsuper -d take that name (as Postfix's tools take the
    IDs showq prints for maildrop files)."""
    assert inst.cmd("sendmail", "-f", "s@example.org", "r@example.net",
                    input="Subject: md\n\nx\n").rc == 0
    (name,) = inst.maildrop()
    out = inst.cmd("mailq").out
    assert out.splitlines()[1].startswith(f"{name:<17} ")
    r = inst.cmd("postcat", "-q", name)
    assert r.rc == 0, r
    assert f"*** ENVELOPE RECORDS maildrop/{name} ***" in r.out
    assert "Subject: md\n" in r.out
    r = inst.cmd("postsuper", "-h", name)
    assert r.err.startswith(f"postsuper: warning: invalid mail queue id: {name}")
    r = inst.cmd("postsuper", "-d", name)
    assert r.err == f"postsuper: {name}: removed\npostsuper: Deleted: 1 message\n"
    assert inst.maildrop() == []
