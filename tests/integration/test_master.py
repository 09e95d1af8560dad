"""master: start/stop/reload/status against the real binary (issue 3).

Every test runs a real mailgw instance on 127.0.0.1 with a real smtp-sink
as the smarthost; sessions are real SMTP over sockets."""
import os
import re
import signal
import stat
import threading
import time

import pytest

from peers import SmtpConn, free_port, listening, make_message, wait_until

pytestmark = pytest.mark.skipif(
    os.environ.get("MAILGW_REFERENCE") == "postfix",
    reason="mailgw's own command contract (start/stop/reload/status)")


def _kids(gw, comm):
    out = []
    for k in gw.children():
        try:
            with open(f"/proc/{k}/comm") as f:
                if f.read().strip() == comm:
                    out.append(k)
        except OSError:
            pass
    return out


def _mode(p):
    st = os.stat(p, follow_symlinks=False)
    return stat.S_IMODE(st.st_mode), st.st_uid


def test_start_status_stop_and_layout(gateway, smtp_sink):
    import pwd
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    assert gw.status() != 0
    r = gw.start()
    assert "starting the mail system" in r.err
    assert gw.status() == 0
    pid = gw.master_pid()
    assert pid and os.path.exists(f"/proc/{pid}")
    owner = pwd.getpwnam("mailgw").pw_uid
    q = gw.queue
    for d in ("incoming", "active", "deferred", "hold", "corrupt"):
        assert _mode(q / d) == (0o700, owner), d
    assert _mode(q / "maildrop") == (0o1733, owner)
    assert _mode(q / "public") == (0o755, owner)
    assert stat.S_ISFIFO(os.stat(q / "public" / "qmgr").st_mode)
    assert _mode(q / "public" / "qmgr") == (0o622, owner)
    assert _mode(q / "pid") == (0o755, 0)
    assert _mode(q / "pid" / "master.sock") == (0o600, 0)
    # Children run as mail_owner, master as root.
    kids = gw.children()
    assert len(kids) == 2, kids
    for k in kids:
        with open(f"/proc/{k}/status") as f:
            uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
        assert set(map(int, uids)) == {owner}, (k, uids)
    assert {open(f"/proc/{k}/comm").read().strip() for k in kids} == \
        {"smtpd", "qmgr"}
    # A second start is refused while one runs.
    r = gw.cmd("start")
    assert r.rc == 1 and "already running" in r.err, r
    # Mail goes through.
    c = gw.smtp()
    code, text = c.send("a@src.test", ["b@dst.test"],
                        make_message("m1@test", "a@src.test", "b@dst.test"))
    c.quit()
    assert code == 250, text
    sink.wait_count(1)
    gw.wait_log(r"daemon started -- version \S+, configuration ")
    r = gw.stop()
    assert "stopping the mail system" in r.err
    assert gw.status() == 1
    assert not gw.pids()
    assert not listening(gw.port)
    gw.wait_log(r"mailgw/master\[\d+\]: terminating on request")
    r = gw.cmd("stop")
    assert r.rc == 1 and "not running" in r.err, r


def test_start_refuses_bad_configuration(gateway):
    gw = gateway()
    (gw.dir / "main.cf").write_text(
        (gw.dir / "main.cf").read_text() + "this is not a parameter line\n")
    r = gw.cmd("start")
    assert r.rc == 1, r
    assert re.search(r"main\.cf, line \d+: missing '='", r.err), r
    assert gw.status() != 0 and not gw.pids()

    gw = gateway(mail_owner="no-such-user-mailgw")
    r = gw.cmd("start")
    assert r.rc == 1, r
    assert "parameter mail_owner: unknown user name value: " \
        "no-such-user-mailgw" in r.err, r

    gw = gateway(master_cf="127.0.0.1:notaport inet n - n - - smtpd\n")
    r = gw.cmd("start")
    assert r.rc == 1, r
    assert "master.cf, line 1" in r.err and "bad port" in r.err, r

    # A port in use: the error names the address.
    busy = gateway()
    busy.start()
    gw = gateway(port=busy.port)
    r = gw.cmd("start")
    assert r.rc == 1, r
    assert f"bind 127.0.0.1:{busy.port}: Address in use" in r.err or \
        "Address already in use" in r.err, r


def test_stock_services_accepted_and_overrides_applied(gateway, smtp_sink):
    sink = smtp_sink()
    p2 = free_port()
    gw = gateway(relay_to=sink.port)
    gw.master_cf = (
        f"127.0.0.1:{gw.port} inet n - n - - smtpd\n"
        f"127.0.0.1:{p2} inet n - n - - smtpd\n"
        "  -o { myhostname = other.test.example }\n"
        "pickup    unix  n       -       n       60      1       pickup\n"
        "cleanup   unix  n       -       n       -       0       cleanup\n"
        "qmgr      unix  n       -       n       300     1       qmgr\n"
        "smtp      unix  -       -       n       -       -       smtp\n"
        "bounce    unix  -       -       n       -       0       bounce\n"
        "maildrop  unix  -       n       n       -       -       pipe\n"
        "  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n")
    gw.write_config()
    gw.start()
    assert listening(p2)
    for name in ("pickup", "cleanup", "qmgr", "bounce"):
        assert len(gw.log_lines(rf"service {name} \({name}\): built in")) == 1
    assert gw.log_lines(r"service smtp \(smtp\): delivery transport")
    assert gw.log_lines(r"warning: master.cf, line \d+: service maildrop "
                        r"\(unix pipe\): not supported; ignored")
    import socket
    s = socket.create_connection(("127.0.0.1", p2), timeout=10)
    banner = s.recv(512).decode()
    s.close()
    assert banner.startswith("220 other.test.example"), banner
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    banner = s.recv(512).decode()
    s.close()
    assert banner.startswith("220 mx.test.example"), banner
    # Two smtpd services: two smtpd processes, one qmgr.
    comms = sorted(open(f"/proc/{k}/comm").read().strip()
                   for k in gw.children())
    assert comms == ["qmgr", "smtpd", "smtpd"], comms


def _open_transaction(port):
    c = SmtpConn(port)
    assert c.cmd("MAIL FROM:<slow@src.test>")[0] == 250
    assert c.cmd("RCPT TO:<r@dst.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.sock.sendall(b"Subject: half\r\nMessage-ID: <half@test>\r\n\r\nfirst part\r\n")
    return c


def _finish(c):
    c.sock.sendall(b"second part\r\n.\r\n")
    code, lines = c.reply()
    c.quit()
    return code, " ".join(lines)


def test_reload_keeps_sessions_and_refuses_broken_config(gateway, smtp_sink):
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    gw.start()
    old_smtpd = _kids(gw, "smtpd")
    c = _open_transaction(gw.port)
    # Good reload: new children, the open session still completes.
    gw.set(smtpd_banner="$myhostname ESMTP reloaded")
    r = gw.reload()
    assert r.rc == 0, r
    gw.wait_log(r"mailgw/master\[\d+\]: reload -- version")
    wait_until(lambda: set(_kids(gw, "smtpd")) - set(old_smtpd), 20,
               "a new smtpd after reload")
    import socket
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    assert b"ESMTP reloaded" in s.recv(512)
    s.close()
    code, text = _finish(c)
    assert code == 250, text
    wait_until(lambda: any(m.header("Message-ID") == "<half@test>"
                           for m in sink.messages()), 60, "the message")
    # The old smtpd drains and exits once its session is over.
    wait_until(lambda: not (set(old_smtpd) & set(gw.children())), 30,
               "the old smtpd to exit")
    # Broken reload: refused with the reason, the old one keeps running.
    main_cf = (gw.dir / "main.cf").read_text()
    (gw.dir / "main.cf").write_text(main_cf + "broken line\n")
    before = sorted(gw.children())
    r = gw.reload()
    assert r.rc == 1, r
    assert "main.cf, line" in r.err and "reload refused" in r.err, r
    assert sorted(gw.children()) == before
    c = SmtpConn(gw.port)
    code, text = c.send("a@src.test", ["b@dst.test"],
                        make_message("after@test", "a@src.test", "b@dst.test"))
    c.quit()
    assert code == 250, text
    # SIGHUP reloads too (here: refused, logged).
    os.kill(gw.master_pid(), signal.SIGHUP)
    gw.wait_log(r"warning: reload refused")
    (gw.dir / "main.cf").write_text(main_cf)
    os.kill(gw.master_pid(), signal.SIGHUP)
    gw.wait_log(r"reload -- version", count=2)


def test_stop_lets_a_transaction_finish(gateway, smtp_sink):
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port, master_drain_time="20s")
    gw.start()
    c = _open_transaction(gw.port)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", gw.stop(check=False)))
    t.start()
    # The listener goes away at once; the open transaction stays.
    wait_until(lambda: not listening(gw.port), 10, "the listener to close")
    time.sleep(0.5)
    code, text = _finish(c)
    assert code == 250, text
    t.join(60)
    assert result["r"].rc == 0, result
    assert not gw.pids()
    # Nothing acknowledged is lost: delivered, or queued for the next start.
    delivered = any(m.header("Message-ID") == "<half@test>"
                    for m in sink.messages())
    if not delivered:
        gw.start()
        wait_until(lambda: any(m.header("Message-ID") == "<half@test>"
                               for m in sink.messages()), 60, "the message")


def test_killed_child_is_restarted_with_backoff(gateway, smtp_sink):
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    gw.start()
    master = gw.master_pid()
    (smtpd,) = gw.role_pids("smtpd")
    os.kill(smtpd, signal.SIGKILL)
    gw.wait_log(rf"mailgw/master\[{master}\]: warning: process smtpd pid "
                rf"{smtpd} killed by signal 9")
    # It died young: the restart is throttled, and said so.
    gw.wait_log(r"warning: service 127\.0\.0\.1:\d+ \(smtpd\): bad command "
                r"startup -- throttling for 1 s")
    wait_until(lambda: listening(gw.port) and gw.role_pids("smtpd")
               and smtpd not in gw.role_pids("smtpd"), 20, "a new smtpd")
    c = SmtpConn(gw.port)
    code, _ = c.send("a@src.test", ["b@dst.test"],
                     make_message("k@test", "a@src.test", "b@dst.test"))
    c.quit()
    assert code == 250
    sink.wait_count(1)


def test_killed_master_takes_its_children_along(gateway, smtp_sink):
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    gw.start()
    kids = gw.children()
    os.kill(gw.master_pid(), signal.SIGKILL)
    wait_until(lambda: not [k for k in kids if os.path.exists(f"/proc/{k}")
                            and open(f"/proc/{k}/stat").read().split()[2] != "Z"],
               30, "the orphaned children to exit")
    assert gw.status() == 1
    gw.start()
    assert gw.status() == 0


def test_start_fg_stays_in_the_foreground(gateway, smtp_sink):
    """start-fg (containers, init): the master is the process started, it
    logs to maillog_file, serves until SIGTERM and then exits 0."""
    import subprocess
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    proc = subprocess.Popen([str(gw_binary()), "-c", str(gw.dir), "start-fg"],
                            env=gw.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: listening(gw.port) or proc.poll() is not None, 30,
                   "start-fg to listen")
        assert proc.poll() is None, proc.communicate()
        wait_until(lambda: gw.master_pid() == proc.pid, 10,
                   "master.pid naming the foreground process")
        assert gw.status() == 0
        c = SmtpConn(gw.port)
        code, _ = c.send("a@src.test", ["b@dst.test"],
                         make_message("fg@test", "a@src.test", "b@dst.test"))
        c.quit()
        assert code == 250
        sink.wait_count(1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not gw.pids()
    gw.wait_log(rf"mailgw/master\[{proc.pid}\]: terminating on signal 15")


def test_ipv6_and_service_name_listeners(gateway, smtp_sink):
    """master.cf names as master(5) writes them: [::1]:port next to an
    IPv4 one, and a bare port on every inet_interfaces address."""
    import socket
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    sink = smtp_sink()
    p6 = free_port()
    p_any = free_port()
    gw = gateway(relay_to=sink.port, inet_protocols="all",
                 inet_interfaces="127.0.0.1, [::1]")
    gw.master_cf = (f"127.0.0.1:{gw.port} inet n - n - - smtpd\n"
                    f"[::1]:{p6} inet n - n - - smtpd\n"
                    f"{p_any} inet n - n - - smtpd\n"
                    "smtp unix - - n - - smtp\n")
    gw.write_config()
    gw.start()
    for host, port in (("::1", p6), ("127.0.0.1", p_any), ("::1", p_any)):
        c = socket.create_connection((host, port), timeout=10)
        assert c.recv(512).startswith(b"220 "), (host, port)
        c.close()
    # One smtpd process per service, whatever its number of addresses.
    assert len(_kids(gw, "smtpd")) == 3


def gw_binary():
    from conftest import MAILGW
    return MAILGW
