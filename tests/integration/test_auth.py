"""SMTP AUTH on the server side (issue 6): swaks --auth PLAIN/LOGIN against
a submission service of mailgw (smtpd_sasl_auth_enable via master.cf -o),
users from `mailgw passwd`, relay permitted by permit_sasl_authenticated
and denied without it, Postfix's replies and log lines, the failure line
read by fail2ban's own postfix filter (fail2ban-regex, Debian's package),
smtpd_tls_auth_only refusing AUTH on a plaintext session, and
smtpd_client_auth_rate_limit.
"""
import base64
import re
import shutil
import subprocess

import pytest

from peers import SmtpConn, swaks, wait_until

PASSWORD = "correct horse battery"


def submission(gateway, sink, **extra):
    """mailgw relaying to sink, with 127.0.0.1 outside mynetworks (so only
    AUTH permits relaying), a port-25-like service without AUTH and a
    submission service with it."""
    gw = gateway(relay_to=sink.port, mynetworks="10.255.0.0/16",
                 smtpd_client_event_limit_exceptions="",
                 smtpd_sasl_authenticated_header="yes", **extra)
    from peers import free_port
    gw.sub_port = free_port()
    gw.master_cf = (
        f"127.0.0.1:{gw.port} inet n - n - - smtpd\n"
        f"127.0.0.1:{gw.sub_port} inet n - n - - smtpd\n"
        "  -o smtpd_sasl_auth_enable=yes\n"
        "smtp      unix  -       -       n       -       -       smtp\n"
        "relay     unix  -       -       n       -       -       smtp\n")
    gw.write_config()
    r = gw.cmd("passwd", "add", "alice", input=PASSWORD + "\n")
    assert r.rc == 0, r
    r = gw.cmd("passwd", "add", "bob", input="other\n")
    assert r.rc == 0, r
    return gw


def auth(gw, mech, user, password, *extra):
    return swaks(gw.sub_port, "--auth", mech, "--auth-user", user,
                 "--auth-password", password, "-f", "alice@test.example",
                 "-t", "someone@far.example", *extra)


def test_passwd_tool(gateway, smtp_sink):
    sink = smtp_sink()
    gw = submission(gateway, sink)
    r = gw.cmd("passwd", "list")
    assert r.rc == 0 and r.out.split() == ["alice", "bob"], r
    assert "pbkdf2" not in r.out
    db = gw.dir / "sasl_users.lmdb"
    assert oct(db.stat().st_mode & 0o777) == "0o640"
    # the stored value is a salted PBKDF2 hash, never the password
    r = gw.cmd("postmap", "-q", "alice", f"lmdb:{gw.dir}/sasl_users")
    assert re.fullmatch(r"pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]{24}\$"
                        r"[A-Za-z0-9+/=]{44}\n", r.out), r
    assert PASSWORD not in db.read_bytes().decode("latin-1")
    # never a password on argv: a third argument is refused
    r = gw.cmd("passwd", "add", "carol", "secret")
    assert r.rc != 0 and "usage" in r.err
    r = gw.cmd("passwd", "add", "carol", input="\n")
    assert r.rc != 0 and "empty password" in r.err
    assert gw.cmd("passwd", "del", "bob").rc == 0
    r = gw.cmd("passwd", "del", "bob")
    assert r.rc == 1 and "no such user" in r.err
    assert gw.cmd("passwd", "list").out.split() == ["alice"]


def test_auth_relay(gateway, smtp_sink):
    sink = smtp_sink()
    gw = submission(gateway, sink)
    gw.start()
    # EHLO offers AUTH on the submission service only
    c = SmtpConn(gw.sub_port)
    assert "AUTH" in c.ext and "AUTH=PLAIN" not in c.ext
    c.quit()
    c = SmtpConn(gw.port)
    assert "AUTH" not in c.ext
    code, text = c.cmd("AUTH PLAIN AGFsaWNlAHg=")
    assert (code, text) == (503, ["5.5.1 Error: authentication not enabled"])
    c.quit()

    # without AUTH: relaying is denied
    r = swaks(gw.sub_port, "-f", "alice@test.example",
              "-t", "someone@far.example")
    assert "454 4.7.1 <someone@far.example>: Relay access denied" in r.stdout

    # PLAIN and LOGIN with the right password: relayed
    for mech in ("PLAIN", "LOGIN"):
        r = auth(gw, mech, "alice", PASSWORD)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "235 2.7.0 Authentication successful" in r.stdout
    sink.wait_count(2)
    for m in sink.messages():
        text = m.content.decode()
        assert "(Authenticated sender: alice)" in text, text
        assert re.search(r"by mx\.test\.example \(mailgw\) with ESMTPA id",
                         text), text
    gw.wait_log(r"client=\S+\[127\.0\.0\.1\], sasl_method=PLAIN, "
                r"sasl_username=alice$")
    gw.wait_log(r"client=\S+\[127\.0\.0\.1\], sasl_method=LOGIN, "
                r"sasl_username=alice$")
    gw.wait_log(r"disconnect from \S+\[127\.0\.0\.1\] ehlo=1 auth=1 "
                r"mail=1 rcpt=1 data=1 quit=1 commands=6")
    # user names fold, as every mailgw table's keys
    r = auth(gw, "PLAIN", "Alice", PASSWORD)
    assert r.returncode == 0, r.stdout


def test_auth_failures(gateway, smtp_sink):
    sink = smtp_sink()
    gw = submission(gateway, sink, broken_sasl_auth_clients="yes")
    gw.start()
    c = SmtpConn(gw.sub_port)
    assert "AUTH=PLAIN" in c.ext  # old-style line for broken clients
    c.quit()
    for mech in ("PLAIN", "LOGIN"):
        r = auth(gw, mech, "alice", "wrong")
        assert r.returncode != 0
        assert ("535 5.7.8 Error: authentication failed: authentication "
                "failure") in r.stdout, r.stdout
    r = auth(gw, "PLAIN", "nosuchuser", PASSWORD)
    assert "535 5.7.8" in r.stdout
    # as Postfix 3.7: the login, when known, after the reason
    lines = gw.wait_log(r"warning: \S+\[127\.0\.0\.1\]: SASL (PLAIN|LOGIN) "
                        r"authentication failed: authentication failure, "
                        r"sasl_username=(alice|nosuchuser)$", count=3)
    gw.wait_log(r"disconnect from \S+\[127\.0\.0\.1\] ehlo=1 "
                r"auth=0/1 quit=1 commands=2/3")
    assert PASSWORD not in gw.log_text() and "wrong" not in gw.log_text()

    # dialogue details: "*" cancels, bad base64, AUTH twice, AUTH in MAIL
    c = SmtpConn(gw.sub_port)
    assert c.cmd("AUTH LOGIN") == (334, ["VXNlcm5hbWU6"])
    assert c.cmd("*") == (501, ["5.7.0 Authentication aborted"])
    assert c.cmd("AUTH PLAIN") == (334, [""])
    assert c.cmd("%%%") == (535, ["5.7.8 Error: authentication failed: "
                                  "Invalid base64 data in continued response"])
    assert c.cmd("AUTH CRAM-MD5")[0] == 535
    plain = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    assert c.cmd("MAIL FROM:<alice@test.example>")[0] == 250
    assert c.cmd(f"AUTH PLAIN {plain}") == (
        503, ["5.5.1 Error: MAIL transaction in progress"])
    assert c.cmd("RSET")[0] == 250
    assert c.cmd(f"AUTH PLAIN {plain}") == (
        235, ["2.7.0 Authentication successful"])
    assert c.cmd(f"AUTH PLAIN {plain}") == (
        503, ["5.5.1 Error: already authenticated"])
    # AUTH= on MAIL FROM (RFC 4954 section 5) is logged as sasl_sender
    assert c.cmd("MAIL FROM:<alice@test.example> AUTH=alice+40test.example"
                 )[0] == 250
    assert c.cmd("RCPT TO:<x@far.example>")[0] == 250
    code, _ = c.cmd("DATA")
    assert code == 354
    c.sock.sendall(b"Subject: t\r\n\r\nhi\r\n.\r\n")
    assert c.reply()[0] == 250
    c.quit()
    gw.wait_log(r"sasl_username=alice, sasl_sender=alice\+40test\.example$")
    gw.wait_log(r"warning: \S+\[127\.0\.0\.1\]: SASL LOGIN "
                r"authentication aborted")

    # fail2ban's own filter (postfix, mode=auth: the postfix-sasl jail)
    # finds the failures; only the daemon name differs (mailgw/smtpd)
    f2b = shutil.which("fail2ban-regex")
    assert f2b, "fail2ban is not installed (tools/bootstrap installs it)"
    out = subprocess.run(
        [f2b, str(gw.maillog),
         r"/etc/fail2ban/filter.d/postfix.conf[mode=auth, "
         r'_daemon="mailgw(-\w+)?/\w+(?:/smtp[ds])?"]'],
        capture_output=True, text=True, timeout=60)
    m = re.search(r"Failregex: (\d+) total", out.stdout)
    assert m, out.stdout + out.stderr
    # 3 wrong passwords, the bad base64 line; not the mechanism one
    assert int(m.group(1)) == len(lines) + 1, out.stdout


def test_sasl_exceptions_networks(gateway, smtp_sink):
    """Clients in smtpd_sasl_exceptions_networks are not offered AUTH in
    EHLO; the command still works for them, as in Postfix."""
    sink = smtp_sink()
    gw = submission(gateway, sink,
                    smtpd_sasl_exceptions_networks="127.0.0.0/8")
    gw.start()
    c = SmtpConn(gw.sub_port)
    assert "AUTH" not in c.ext
    plain = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    assert c.cmd(f"AUTH PLAIN {plain}")[0] == 235
    c.quit()


def test_auth_only_refused_on_plaintext(gateway, smtp_sink):
    sink = smtp_sink()
    gw = submission(gateway, sink, smtpd_tls_auth_only="yes")
    gw.start()
    c = SmtpConn(gw.sub_port)
    assert "AUTH" not in c.ext
    plain = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    assert c.cmd(f"AUTH PLAIN {plain}") == (
        504, ["5.5.4 Encryption required for requested authentication "
              "mechanism"])
    c.quit()
    r = auth(gw, "PLAIN", "alice", PASSWORD)
    assert r.returncode != 0
    assert "Relay access denied" not in r.stdout  # swaks stops at AUTH
    assert not sink.messages()


def test_auth_rate_limit(gateway, smtp_sink):
    sink = smtp_sink()
    gw = submission(gateway, sink, smtpd_client_auth_rate_limit="3",
                    anvil_rate_time_unit="60s")
    gw.start()
    c = SmtpConn(gw.sub_port)
    bad = base64.b64encode(b"\0alice\0nope").decode()
    for _ in range(3):
        assert c.cmd(f"AUTH PLAIN {bad}")[0] == 535
    assert c.cmd(f"AUTH PLAIN {bad}") == (
        450, ["4.7.1 Error: too many AUTH commands from 127.0.0.1"])
    c.quit()
    # a new connection from the same address is still limited
    c = SmtpConn(gw.sub_port)
    good = base64.b64encode(f"\0alice\0{PASSWORD}".encode()).decode()
    assert c.cmd(f"AUTH PLAIN {good}")[0] == 450
    c.quit()
    gw.wait_log(r"warning: AUTH command rate limit exceeded: 4 from "
                r"\S+\[127\.0\.0\.1\] for service ")


# ---------------------------------------------------------------- client
#
# The SMTP client authenticating to a smarthost: mailgw relays through a
# second mailgw that requires AUTH (its submission service), and through a
# real Postfix with Cyrus SASL (sasldb) below.

def client_gateway(gateway, server_port, entry, **extra):
    params = dict(smtp_sasl_auth_enable="yes",
                  smtp_sasl_security_options="noanonymous")
    params.update(extra)
    gw = gateway(relay_to=server_port, **params)
    (gw.dir / "sasl_passwd").write_text(entry)
    gw.set(smtp_sasl_password_maps=f"texthash:{gw.dir}/sasl_passwd")
    return gw


def send_through(gw):
    r = swaks(gw.port, "-f", "sender@test.example",
              "-t", "someone@far.example")
    assert r.returncode == 0, r.stdout


def test_client_auth_to_mailgw(gateway, smtp_sink):
    sink = smtp_sink()
    server = submission(gateway, sink)
    server.start()
    client = client_gateway(
        gateway, server.sub_port,
        f"[127.0.0.1]:{server.sub_port} alice:{PASSWORD}\n")
    client.start()
    send_through(client)
    sink.wait_count(1)
    text = sink.messages()[0].content.decode()
    assert "(Authenticated sender: alice)" in text, text
    server.wait_log(r"sasl_method=PLAIN, sasl_username=alice$")
    client.wait_log(rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{server.sub_port},"
                    r".* status=sent")
    # LOGIN when the filter asks for it; the server's name is a key too
    login = client_gateway(gateway, server.sub_port,
                           f"127.0.0.1 alice:{PASSWORD}\n",
                           smtp_sasl_mechanism_filter="login")
    login.start()
    send_through(login)
    sink.wait_count(2)
    server.wait_log(r"sasl_method=LOGIN, sasl_username=alice$")


def test_client_auth_failures(gateway, smtp_sink):
    sink = smtp_sink()
    server = submission(gateway, sink)
    server.start()
    # a wrong password: deferred with the server's reply (soft bounce)
    bad = client_gateway(gateway, server.sub_port,
                         f"[127.0.0.1] alice:wrong\n")
    bad.start()
    send_through(bad)
    bad.wait_log(r"status=deferred \(SASL authentication failed; server "
                 r"127\.0\.0\.1\[127\.0\.0\.1\] said: 535 5\.7\.8 Error: "
                 r"authentication failed: authentication failure\)")
    server.wait_log(r"SASL PLAIN authentication failed")
    # Postfix's default smtp_sasl_security_options (noplaintext) and no
    # TLS: no mechanism is allowed, nothing is sent in the clear
    strict = client_gateway(gateway, server.sub_port,
                            f"127.0.0.1 alice:{PASSWORD}\n",
                            smtp_sasl_security_options="noplaintext, "
                            "noanonymous")
    strict.start()
    send_through(strict)
    strict.wait_log(r"status=deferred \(SASL authentication failed; cannot "
                    r"authenticate to server 127\.0\.0\.1\[127\.0\.0\.1\]: "
                    r"no mechanism available\)")
    assert not sink.messages()


def test_client_auth_to_postfix(gateway, smtp_sink, postfix_peer):
    """A real Postfix 3.7 smarthost that relays only for SASL-authenticated
    clients (Cyrus SASL, auxprop sasldb made with Debian's saslpasswd2;
    Debian's Postfix reads $config_directory/sasl/smtpd.conf, which keeps
    the setup inside the test's directory)."""
    saslpasswd2 = shutil.which("saslpasswd2")
    assert saslpasswd2, "sasl2-bin is not installed (tools/bootstrap)"
    sink = smtp_sink()
    peer = postfix_peer(
        relayhost=f"[127.0.0.1]:{sink.port}", mynetworks="",
        smtpd_sasl_auth_enable="yes", smtpd_sasl_type="cyrus",
        smtpd_sasl_path="smtpd", smtpd_sasl_local_domain="test.example",
        smtpd_sasl_security_options="noanonymous",
        smtpd_sasl_authenticated_header="yes",
        smtpd_relay_restrictions="permit_sasl_authenticated, reject")
    sasldir = peer.etc / "sasl"
    sasldir.mkdir()
    db = peer.dir / "sasldb2"
    (sasldir / "smtpd.conf").write_text(
        "pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
        f"sasldb_path: {db}\nmech_list: PLAIN LOGIN\n")
    r = subprocess.run([saslpasswd2, "-c", "-p", "-f", str(db),
                        "-u", "test.example", "alice"],
                       input=PASSWORD, text=True, capture_output=True)
    assert r.returncode == 0, r
    pf = __import__("pwd").getpwnam("postfix")
    __import__("os").chown(db, pf.pw_uid, pf.pw_gid)
    peer.start()

    # without credentials Postfix refuses to relay: the setup is real
    plain = gateway(relay_to=peer.port)
    plain.start()
    send_through(plain)
    plain.wait_log(r"status=bounced .*Recipient address rejected: Access "
                   r"denied")

    for mech in ("plain", "login"):
        client = client_gateway(gateway, peer.port,
                                f"[127.0.0.1]:{peer.port} alice:{PASSWORD}\n",
                                smtp_sasl_mechanism_filter=mech)
        client.start()
        send_through(client)
        client.wait_log(r"status=sent")
    sink.wait_count(2)
    # Cyrus appends smtpd_sasl_local_domain to the login
    for m in sink.messages():
        assert "(Authenticated sender: alice@test.example)" in \
            m.content.decode()
    log = peer.log_text()
    for mech in ("PLAIN", "LOGIN"):
        assert re.search(rf"sasl_method={mech}, "
                         r"sasl_username=alice@test\.example", log), log


def test_auth_only_after_starttls(gateway, smtp_sink):
    """smtpd_tls_auth_only=yes: after STARTTLS (mailgw's self-signed
    certificate) AUTH is offered and works; ESMTPSA and both Received
    clauses, TLS first as Postfix writes them."""
    sink = smtp_sink()
    gw = submission(gateway, sink, smtpd_tls_auth_only="yes",
                    smtpd_tls_security_level="may",
                    smtpd_tls_received_header="yes")
    gw.start()
    r = auth(gw, "PLAIN", "alice", PASSWORD, "--tls")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0 Authentication successful" in r.stdout
    r = auth(gw, "LOGIN", "alice", "wrong", "--tls")
    assert "535 5.7.8" in r.stdout
    (m,) = sink.wait_count(1)
    text = m.content.decode()
    assert re.search(r"\(using TLSv1\.2 with cipher [^\n]*\)\n\t"
                     r"\(No client certificate requested\)\n\t"
                     r"\(Authenticated sender: alice\)\n\tby "
                     r"mx\.test\.example \(mailgw\) with ESMTPSA id", text), text
    gw.wait_log(r"SASL LOGIN authentication failed: authentication failure, "
                r"sasl_username=alice$")


def test_client_auth_over_tls(gateway, smtp_sink):
    """Postfix's usual smarthost setup: smtp_tls_security_level=encrypt,
    smtp_sasl_security_options left at noplaintext (no AUTH in the clear)
    and smtp_sasl_tls_security_options=noanonymous: PLAIN goes only inside
    TLS, to a server that offers AUTH only after STARTTLS."""
    sink = smtp_sink()
    server = submission(gateway, sink, smtpd_tls_auth_only="yes",
                        smtpd_tls_security_level="may")
    server.start()
    client = client_gateway(
        gateway, server.sub_port,
        f"[127.0.0.1]:{server.sub_port} alice:{PASSWORD}\n",
        smtp_sasl_security_options="noplaintext, noanonymous",
        smtp_sasl_tls_security_options="noanonymous",
        smtp_tls_security_level="encrypt", smtp_tls_loglevel="1")
    client.start()
    send_through(client)
    sink.wait_count(1)
    text = sink.messages()[0].content.decode()
    assert "with ESMTPSA id" in text and \
        "(Authenticated sender: alice)" in text, text
    client.wait_log(r"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]")
    client.wait_log(r"status=sent")
