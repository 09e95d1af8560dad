"""LMTP through the whole gateway (issue 4): qmgr hands lmtp: routes to the
LMTP client, which delivers to Postfix's smtp-sink in LMTP mode (-L) over
TCP and over a UNIX-domain socket."""
import os
import subprocess
import tempfile

from peers import SMTP_SINK, SmtpConn, make_message, wait_until


def test_lmtp_inet_next_hop(gateway, smtp_sink):
    lmtp = smtp_sink(options=["-L"])
    gw = gateway(transport_maps=f"inline:{{ store.example=lmtp:inet:127.0.0.1:{lmtp.port} }}")
    gw.start()
    c = SmtpConn(gw.port)
    code, text = c.send("a@src.test", ["u1@store.example", "u2@store.example"],
                        make_message("lmtp1@test", "a@src.test", "u1@store.example"))
    c.quit()
    assert code == 250, text
    (m,) = lmtp.wait_count(1)
    assert sorted(m.recipients) == ["u1@store.example", "u2@store.example"]
    lines = gw.wait_log(r"mailgw/lmtp\[\d+\]: \w+: to=<u\d@store\.example>, "
                        rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{lmtp.port}, .*"
                        r"status=sent \(250 ", count=2)
    assert len(lines) == 2
    gw.wait_queue_empty()


def test_lmtp_unix_socket_deferred_then_delivered(gateway):
    d = tempfile.mkdtemp(prefix="mailgw-lmtp-", dir="/tmp")
    os.chmod(d, 0o777)
    sock = os.path.join(d, "lmtp")
    gw = gateway(transport_maps=f"inline:{{ store.example=lmtp:unix:{sock} }}")
    gw.start()
    c = SmtpConn(gw.port)
    code, _ = c.send("a@src.test", ["u@store.example"],
                     make_message("lmtp2@test", "a@src.test", "u@store.example"))
    c.quit()
    assert code == 250
    gw.wait_log(r"to=<u@store\.example>, .*dsn=4\.4\.1, status=deferred "
                r"\(connect to .*No such file or directory\)")
    out = open(os.path.join(d, "sink.out"), "ab")
    proc = subprocess.Popen([SMTP_SINK, "-u", "mailgw", "-L", "-c",
                             f"unix:{sock}", "10"], stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: os.path.exists(sock), 20, "the LMTP socket")
        os.chmod(sock, 0o777)
        assert gw.cmd("postqueue", "-f").rc == 0
        gw.wait_log(r"mailgw/lmtp\[\d+\]: \w+: to=<u@store\.example>, .*"
                    r"status=sent \(250 ")
        gw.wait_queue_empty()
    finally:
        proc.kill()
        proc.wait()
        out.close()
