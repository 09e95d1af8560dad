"""pflogsumm (Debian package) reads mailgw's maillog and its totals match
what was sent: received, delivered, deferred, bounced, rejected.

pflogsumm counts, from Postfix's log format: received = smtpd "QID:
client=" lines; delivered = "status=sent" lines (bounce notifications
that go out count too); deferred = messages with a "status=deferred";
bounced = "status=bounced" lines; rejected = smtpd "reject:" lines.
"""
import re
import subprocess

from peers import PFLOGSUMM, SmtpConn, SmtpError, wait_until

N_OK, N_BOUNCE, N_DEFER, N_REJECT = 7, 3, 2, 4


def _pflogsumm(path, *extra):
    r = subprocess.run(["perl", PFLOGSUMM, "--syslog-name=mailgw", *extra,
                        str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    totals = {}
    for key in ("received", "delivered", "deferred", "bounced", "rejected"):
        m = re.search(rf"^\s*(\d+)\s+{key}\b", r.stdout, re.M)
        assert m, f"no '{key}' total in pflogsumm output:\n{r.stdout[:2000]}"
        totals[key] = int(m.group(1))
    return totals, r.stdout


def test_pflogsumm_totals(gateway, smtp_sink):
    good = smtp_sink()
    bad = smtp_sink(options=["-f", "RCPT", "-B", "550 5.1.1 No such user"])
    soft = smtp_sink(options=["-r", "RCPT", "-b", "450 4.2.0 Mailbox busy"])
    tm = (f"inline:{{ bad.example=smtp:{bad.nexthop}, "
          f"defer.example=smtp:{soft.nexthop} }}")
    # The test client (127.0.0.1) is not in mynetworks: relaying is allowed
    # only to relay_domains, so mail to other.org is rejected at RCPT.
    gw = gateway(relay_to=good.port, transport_maps=tm,
                 mynetworks="127.0.0.2/32",
                 relay_domains="example.net, bad.example, defer.example",
                 smtpd_relay_restrictions="permit_mynetworks, "
                                          "reject_unauth_destination",
                 minimal_backoff_time="600s", maximal_backoff_time="1200s",
                 queue_run_delay="600s")
    gw.start()
    plan = ([f"ok{i}@example.net" for i in range(N_OK)]
            + [f"gone{i}@bad.example" for i in range(N_BOUNCE)]
            + [f"busy{i}@defer.example" for i in range(N_DEFER)])
    c = SmtpConn(gw.port)
    for i, rcpt in enumerate(plan):
        code, text = c.send(f"s{i}@sender.test", [rcpt],
                            f"Subject: {i}\r\nMessage-ID: <pf{i}@sender.test>\r\n"
                            f"\r\nbody {i}\r\n".encode())
        assert code == 250, (rcpt, code, text)
    rejected = 0
    for i in range(N_REJECT):
        try:
            c.send(f"r{i}@sender.test", [f"x{i}@other.org"], b"Subject: no\r\n\r\nno\r\n")
        except SmtpError as e:
            assert e.code == 554 and "Relay access denied" in e.text, e
            rejected += 1
            code, l = c.cmd("RSET")
            assert code == 250, l
    c.quit()
    assert rejected == N_REJECT
    # Wait for every outcome: N_OK + N_BOUNCE DSNs sent, bounces, deferrals.
    gw.wait_log(r"status=bounced", count=N_BOUNCE, timeout=60)
    gw.wait_log(r"status=deferred", count=N_DEFER, timeout=60)
    wait_until(lambda: good.count() >= N_OK + N_BOUNCE, 60,
               "deliveries and bounce notifications at the sink")
    gw.wait_log(r"status=sent", count=N_OK + N_BOUNCE, timeout=60)
    wait_until(lambda: len(gw.queue_files()) == N_DEFER, 60,
               "only the deferred messages left in the queue")
    gw.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 5\.7\.1 "
                r"<x0@other\.org>: Relay access denied; from=<r0@sender\.test> "
                r"to=<x0@other\.org> proto=ESMTP helo=<client\.test>")

    want = {
        "received": N_OK + N_BOUNCE + N_DEFER,
        "delivered": N_OK + N_BOUNCE,   # bounce notifications are deliveries
        "deferred": N_DEFER,
        "bounced": N_BOUNCE,
        "rejected": N_REJECT,
    }
    totals, out = _pflogsumm(gw.maillog)
    assert totals == want, f"pflogsumm {totals} != sent {want}\n{out[:3000]}"
    # -d today selects the same lines (the log's date format is Postfix's).
    totals_today, out = _pflogsumm(gw.maillog, "-d", "today")
    assert totals_today == want, f"-d today: {totals_today}\n{out[:2000]}"
    # The per-domain and bounce details name the right things.
    assert re.search(r"example\.net", out), out
    assert "No such user" in out or "such user" in out, out
