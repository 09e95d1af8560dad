"""Relay through mailgw to a smarthost (smtp-sink): volume, and content
arriving intact (dot-stuffing, long lines, 8-bit, BDAT, DSN parameters).

Clients are smtp-source and swaks (real peers) and, for the ESMTP
parameters swaks cannot send (DSN, BDAT, SMTPUTF8), peers.SmtpConn.
"""
import collections
import re
import threading
import time

from peers import SmtpConn, postfix_master_cf, swaks, wait_until

N_LOAD = 2000
SESSIONS = 20
# Complete headers, so that no MTA adds any (Postfix adds a missing Date).
DATE = b"Date: Sat, 28 Nov 2026 20:00:00 +0000\r\n"


class MemSampler:
    """Samples the summed VmRSS of all the instance's processes and keeps
    each process's VmHWM, for the closing note of the issue."""

    def __init__(self, gw, interval=0.1):
        self.gw = gw
        self.interval = interval
        self.peak_sum = 0
        self.hwm = {}
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    @staticmethod
    def _status(pid):
        out = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM"):
                        out[k] = int(v.split()[0])
        except OSError:
            pass
        return out

    def run(self):
        while not self.stop_ev.is_set():
            total = 0
            for p in self.gw.pids():
                st = self._status(p)
                total += st.get("VmRSS", 0)
                if "VmHWM" in st:
                    self.hwm[p] = max(self.hwm.get(p, 0), st["VmHWM"])
            self.peak_sum = max(self.peak_sum, total)
            self.stop_ev.wait(self.interval)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop_ev.set()
        self.t.join()


def test_relay_thousands_nothing_lost(relay, smtp_source, capsys):
    """2000 messages of 1 KiB over 20 sessions: each arrives exactly once,
    the queue is empty afterwards, and the log has one status=sent and one
    removed line per message."""
    gw, sink = relay
    t0 = time.monotonic()
    with MemSampler(gw) as mem:
        # -N: a distinct recipient per message, so each one is identifiable.
        smtp_source(gw.port, sessions=SESSIONS, count=N_LOAD, size=1024,
                    sender="load@source.test", rcpt="rcpt@example.net",
                    extra=["-N"])
        t_acc = time.monotonic()
        msgs = sink.wait_count(N_LOAD, timeout=300)
        t_done = time.monotonic()
        gw.wait_queue_empty(timeout=60)
    rcpts = collections.Counter(r for m in msgs for r in m.recipients)
    dups = {r: n for r, n in rcpts.items() if n > 1}
    assert not dups, f"delivered more than once: {list(dups.items())[:10]}"
    assert len(msgs) == N_LOAD, f"{len(msgs)} messages at the sink, sent {N_LOAD}"
    assert len(rcpts) == N_LOAD
    assert all(re.fullmatch(r"\d+rcpt@example\.net", r) for r in rcpts), \
        list(rcpts)[:5]
    assert all(m.sender == "load@source.test" for m in msgs)
    # Every message carries mailgw's Received header on top.
    bad = [m for m in msgs if not m.content.startswith(b"Received: from ")]
    assert not bad, f"no Received header first: {bad[:3]}"
    assert all(m.header("Message-Id") for m in msgs)
    sent = gw.log_lines(r"status=sent")
    assert len(sent) == N_LOAD, f"{len(sent)} status=sent lines"
    removed = gw.log_lines(r": removed$")
    assert len(removed) == N_LOAD, f"{len(removed)} removed lines"
    with capsys.disabled():
        print(f"\n[relay] {N_LOAD} msgs x 1 KiB, {SESSIONS} sessions: "
              f"accepted in {t_acc - t0:.1f}s ({N_LOAD / (t_acc - t0):.0f}/s), "
              f"all at sink in {t_done - t0:.1f}s ({N_LOAD / (t_done - t0):.0f} msg/s "
              f"relayed); peak RSS sum of mailgw processes {mem.peak_sum} KiB; "
              f"{len(mem.hwm)} processes, largest VmHWM "
              f"{max(mem.hwm.values(), default=0)} KiB")


def _tricky_body(long_line=b"M" * 1500):
    """Lines that SMTP must carry exactly: leading dots, a lone dot, a line
    of 998 bytes (RFC 5322's limit), trailing spaces, an empty line; and
    one longer line, which Postfix's SMTP client folds (below)."""
    return (b".starts with a dot\r\n"
            b"..two dots\r\n"
            b".\r\n"
            b" . space dot\r\n"
            b"trailing spaces   \r\n"
            + b"L" * 998 + b"\r\n"
            + long_line + b"\r\n"
            b"\r\n"
            b"last line\r\n")


def _folded(msg):
    """msg as it must arrive: smtp_line_length_limit = 998 (Postfix's
    default) breaks longer lines by inserting CRLF SPACE."""
    return msg.replace(b"M" * 1500, b"M" * 998 + b"\r\n " + b"M" * 502)


def _arrived_intact(sink_msg, original, extra_tail=b""):
    """The sink's copy (LF line ends) is the original with only mailgw's
    header lines (Received, continuation lines) put on top."""
    want = original.replace(b"\r\n", b"\n")
    got = sink_msg.content
    if extra_tail and got.endswith(want + extra_tail):
        got = got[:-len(extra_tail)]
    assert got.endswith(want), (
        f"content changed in transit:\n--- sent\n{want[:800]!r}\n"
        f"--- arrived\n{got[:1200]!r}")
    prefix = got[:len(got) - len(want)].decode("utf-8", "replace")
    for line in prefix.splitlines():
        assert line.startswith(("Received:", " ", "\t")), \
            f"unexpected line added in transit: {line!r}"


def test_swaks_dot_stuffing_and_long_lines(relay, tmp_path):
    gw, sink = relay
    msg = (b"From: <a@sender.test>\r\nTo: <b@example.net>\r\n"
           b"Subject: dots\r\nMessage-ID: <dots.1@sender.test>\r\n" + DATE + b"\r\n"
           + _tricky_body())
    f = tmp_path / "msg.eml"
    f.write_bytes(msg)
    r = swaks(gw.port, "--from", "a@sender.test", "--to", "b@example.net",
              "--data", f"@{f}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"<-  250 .*", r.stdout.split(" -> .")[-1]), r.stdout[-800:]
    (m,) = sink.wait_count(1)
    # swaks ends DATA with an empty line of its own before the dot.
    _arrived_intact(m, _folded(msg), extra_tail=b"\n")
    assert m.sender == "a@sender.test"
    assert m.recipients == ["b@example.net"]
    gw.wait_queue_empty()


def test_8bitmime_body_intact(relay):
    gw, sink = relay
    body = ("Grüße aus Köln, ½ € — 日本語\r\n".encode("utf-8")
            + bytes(range(0x80, 0x100)).replace(b"\r", b"").replace(b"\n", b"")
            + b"\r\n")
    msg = (b"From: <a@sender.test>\r\nTo: <b@example.net>\r\n"
           b"Subject: 8bit\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n"
           b"Message-ID: <8bit.1@sender.test>\r\n" + DATE + b"\r\n" + body)
    c = SmtpConn(gw.port)
    assert "8BITMIME" in c.ext, c.ext
    code, l = c.cmd("MAIL FROM:<a@sender.test> BODY=8BITMIME")
    assert code == 250, l
    code, l = c.cmd("RCPT TO:<b@example.net>")
    assert code == 250, l
    code, l = c.cmd("DATA")
    assert code == 354, l
    c.sock.sendall(msg + b".\r\n")
    code, l = c.reply()
    assert code == 250, l
    c.quit()
    (m,) = sink.wait_count(1)
    _arrived_intact(m, msg)
    # smtp-sink announces 8BITMIME: mailgw passes BODY=8BITMIME on.
    assert "BODY=8BITMIME" in m.mail_args.upper(), m.mail_args


def test_bdat_chunks_arrive_intact(relay):
    """BDAT with chunk borders inside CRLF and a dot line; the sink
    (DATA only) gets the same bytes."""
    gw, sink = relay
    msg = (b"From: <a@sender.test>\r\nTo: <b@example.net>\r\n"
           b"Subject: bdat\r\nMessage-ID: <bdat.1@sender.test>\r\n" + DATE + b"\r\n"
           + _tricky_body())
    c = SmtpConn(gw.port)
    assert "CHUNKING" in c.ext, c.ext
    code, l = c.cmd("MAIL FROM:<a@sender.test>")
    assert code == 250, l
    code, l = c.cmd("RCPT TO:<b@example.net>")
    assert code == 250, l
    cuts = [0, 37, msg.index(b".\r\n") + 1, msg.index(b"L" * 10) + 700,
            msg.index(b"M" * 10) + 999, len(msg)]
    for i in range(len(cuts) - 1):
        chunk = msg[cuts[i]:cuts[i + 1]]
        last = i == len(cuts) - 2
        c.sock.sendall(f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode()
                       + chunk)
        code, l = c.reply()
        assert code == 250, (i, l)
    c.quit()
    (m,) = sink.wait_count(1)
    _arrived_intact(m, _folded(msg))


def test_dsn_parameters_passed_to_next_hop(relay):
    """smtp-sink announces DSN: ENVID/RET on MAIL and NOTIFY/ORCPT on RCPT
    are passed on unchanged."""
    gw, sink = relay
    c = SmtpConn(gw.port)
    assert "DSN" in c.ext, c.ext
    code, l = c.cmd("MAIL FROM:<a@sender.test> RET=HDRS ENVID=env+2B42")
    assert code == 250, l
    code, l = c.cmd("RCPT TO:<b@example.net> NOTIFY=SUCCESS,DELAY "
                    "ORCPT=rfc822;orig+2Bb@example.net")
    assert code == 250, l
    code, l = c.cmd("RCPT TO:<c@example.net> NOTIFY=NEVER")
    assert code == 250, l
    code, l = c.cmd("DATA")
    assert code == 354, l
    c.sock.sendall(b"Subject: dsn params\r\n\r\nbody\r\n.\r\n")
    code, l = c.reply()
    assert code == 250, l
    c.quit()
    msgs = sink.wait_count(1)
    gw.wait_queue_empty()
    msgs = sink.messages()
    args = [a for m in msgs for a in m.rcpt_args]
    margs = {m.mail_args for m in msgs}
    assert all("RET=HDRS" in a and "ENVID=env+2B42" in a for a in margs), margs
    b = [a for a in args if a.startswith("<b@example.net>")]
    cc = [a for a in args if a.startswith("<c@example.net>")]
    assert len(b) == 1 and len(cc) == 1, args
    assert "NOTIFY=SUCCESS,DELAY" in b[0] and \
        "ORCPT=rfc822;orig+2Bb@example.net" in b[0], b
    assert "NOTIFY=NEVER" in cc[0], cc


def test_multiple_recipients_one_copy(relay):
    """Three recipients of one message to the same next hop: one
    transaction (Postfix groups recipients per destination), all three
    recipients listed, each logged status=sent."""
    gw, sink = relay
    c = SmtpConn(gw.port)
    code, text = c.send("a@sender.test",
                        ["r1@example.net", "r2@example.org", "r3@example.com"],
                        b"Subject: three\r\nMessage-ID: <three@sender.test>\r\n"
                        b"\r\nhello\r\n")
    assert code == 250, text
    c.quit()
    gw.wait_queue_empty()
    msgs = sink.messages()
    rcpts = sorted(r for m in msgs for r in m.recipients)
    assert rcpts == ["r1@example.net", "r2@example.org", "r3@example.com"]
    assert len(msgs) == 1, msgs
    for r in ("r1@example.net", "r2@example.org", "r3@example.com"):
        gw.wait_log(rf"to=<{re.escape(r)}>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                    rf"{sink.port}, .*status=sent")


def test_log_trail(relay):
    """One message leaves Postfix's full log trail, in order, with one
    queue ID: client=, message-id=, from=, to= status=sent, removed."""
    gw, sink = relay
    r = swaks(gw.port, "--from", "trail@sender.test", "--to", "t@example.net",
              "--header", "Message-Id: <trail.1@sender.test>")
    assert r.returncode == 0, r.stdout
    sink.wait_count(1)
    removed = gw.wait_log(r"\]: [0-9A-Za-z]+: removed$")
    qid = re.search(r"\]: ([0-9A-Za-z]+): removed$", removed[0]).group(1)
    lines = gw.log_lines(rf"\]: {qid}: ")
    host = r"\w{3} [ \d]\d \d\d:\d\d:\d\d \S+"
    want = [
        rf"^{host} mailgw/smtpd\[\d+\]: {qid}: client=\S+\[127\.0\.0\.1\]$",
        rf"^{host} mailgw/cleanup\[\d+\]: {qid}: message-id=<trail\.1@sender\.test>$",
        rf"^{host} mailgw/qmgr\[\d+\]: {qid}: from=<trail@sender\.test>, "
        rf"size=\d+, nrcpt=1 \(queue active\)$",
        rf"^{host} mailgw/smtp\[\d+\]: {qid}: to=<t@example\.net>, "
        rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sink.port}, delay=[\d.]+, "
        rf"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent \(250 .*\)$",
        rf"^{host} mailgw/qmgr\[\d+\]: {qid}: removed$",
    ]
    pos = 0
    for w in want:
        idx = next((i for i in range(pos, len(lines)) if re.search(w, lines[i])),
                   None)
        assert idx is not None, f"missing or out of order: {w}\nlines:\n" + \
            "\n".join(lines)
        pos = idx + 1
    assert gw.log_lines(r"mailgw/smtpd\[\d+\]: connect from \S+\[127\.0\.0\.1\]$")
    wait_until(lambda: gw.log_lines(
        r"mailgw/smtpd\[\d+\]: disconnect from \S+\[127\.0\.0\.1\]"), 10,
        "disconnect line")


def _client_conns(port):
    """Established TCP connections whose remote end is 127.0.0.1:port
    (the client side of connections to the sink)."""
    want = "0100007F:%04X" % port
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[2] == want and fields[3] == "01":
                n += 1
    return n


def test_transport_maxproc_limits_connections_and_reuses_them(gateway, smtp_sink,
                                                              smtp_source):
    """master.cf's maxproc of the smtp transport (3) bounds the parallel
    connections to the next hop, and connections are reused across
    messages (far fewer sessions than messages at the sink)."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port, master_cf=None)
    gw.master_cf = gw.master_cf.replace(
        "smtp      unix  -       -       n       -       -       smtp",
        "smtp      unix  -       -       n       -       3       smtp")
    gw.write_config()
    # Let mail pile up first, then deliver it all at once.
    sink.stop()
    gw.start()
    smtp_source(gw.port, sessions=10, count=300, size=512, extra=["-N"])
    gw.wait_log(r"status=deferred", timeout=60)
    sink.start()
    peak = 0
    # The queue runs (queue_run_delay 1s) bring the deferred mail; no
    # postqueue -f, which closes the cached idle connections (QUIT) while
    # deliveries open new ones, so the count of established connections
    # would race the 221 replies.

    def done():
        nonlocal peak
        peak = max(peak, _client_conns(sink.port))
        return sink.count() >= 300
    wait_until(done, 120, "300 messages at the sink", interval=0.01)
    gw.wait_queue_empty()
    assert 1 <= peak <= 3, f"{peak} parallel connections with maxproc 3"
    msgs = sink.wait_count(300)
    assert len({r for m in msgs for r in m.recipients}) == 300
    sessions = int(re.findall(r"sess=(\d+)", sink.out.read_text())[-1])
    assert sessions < 300 / 5, f"{sessions} SMTP sessions for 300 messages"
    assert gw.log_lines(r"conn_use=\d+"), "no conn_use= in the delivery lines"


def test_postfix_stock_master_cf_relays(gateway, smtp_sink):
    """Postfix's stock master.cf (pickup, cleanup, qmgr, bounce, ... lines
    for services mailgw builds in or does not run) is accepted unchanged,
    and mail relays through it."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    gw.master_cf = postfix_master_cf(gw.port)
    gw.write_config()
    gw.start()
    r = swaks(gw.port, "--from", "stock@sender.test", "--to", "s@example.net")
    assert r.returncode == 0, r.stdout
    (m,) = sink.wait_count(1)
    assert m.recipients == ["s@example.net"]
    gw.wait_queue_empty()
