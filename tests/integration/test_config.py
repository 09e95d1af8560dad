"""`mailgw config check|render|apply`: the settings file and the templates
(conf-templates/), the atomic swap and the reload of a running gateway,
and the default rendering being a safe inbound gateway (no open relay)."""
import os
import re

from peers import swaks, wait_until


def settings_text(gw, sink_port, **over):
    s = {
        "hostname": "gw.example.test",
        "domains": "example.test, Example.ORG",
        "smarthost_host": "127.0.0.1",
        "smarthost_port": str(sink_port),
        "smarthost_tls": "none",
        "trusted_networks": "127.0.0.1/32",
        "smtp_listen": f"127.0.0.1:{gw.port}",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "queue_directory": str(gw.queue),
        "data_directory": str(gw.dir / "data"),
        "maillog_file": str(gw.maillog),
        "mail_owner": "mailgw",
        # 587 and 465 are the defaults; a test binds only free ports.
        "submission_listen": "",
        "smtps_listen": "",
    }
    s.update(over)
    return "".join(f"{k} = {v}\n" for k, v in s.items() if v is not None)


def apply(gw, text):
    (gw.dir / "settings.cf").unlink(missing_ok=True)
    (gw.dir / "settings.cf").write_text(text)
    return gw.cmd("config", "apply")


def test_render_default_is_a_safe_gateway(gateway, smtp_sink):
    sink = smtp_sink()
    gw = gateway()
    r = apply(gw, settings_text(gw, sink.port))
    assert r.rc == 0, r
    main = (gw.dir / "main.cf").read_text()
    assert os.path.islink(gw.dir / "main.cf")
    assert "relay_domains = example.test, example.org\n" in main
    assert "mynetworks = 127.0.0.1/32\n" in main
    assert f"relay_transport = relay:[127.0.0.1]:{sink.port}\n" in main
    assert ("smtpd_relay_restrictions = permit_mynetworks, "
            "reject_unauth_destination\n") in main
    assert gw.cmd("postconf", "-n").rc == 0
    gw.start()
    # Not trusted (127.0.0.2), foreign domain: refused.
    r = swaks(gw.port, "--local-interface", "127.0.0.2", "--from",
              "spam@foreign.test", "--to", "victim@elsewhere.test",
              "--quit-after", "RCPT")
    assert re.search(r"<\*\* +554 5\.7\.1 .*Relay access denied", r.stdout), \
        r.stdout
    # Not trusted, accepted domain: relayed to the smarthost.
    r = swaks(gw.port, "--local-interface", "127.0.0.2", "--from",
              "someone@foreign.test", "--to", "user@example.org")
    assert r.returncode == 0, r.stdout
    wait_until(lambda: len(sink.messages()) == 1, 30, "message at the sink")
    # Trusted client: outbound relay allowed (accepted, not refused).
    r = swaks(gw.port, "--from", "me@example.test", "--to",
              "friend@elsewhere.test", "--quit-after", "RCPT")
    assert "<-  250 2.1.5" in r.stdout, r.stdout


def test_apply_reloads_and_bad_settings_change_nothing(gateway, smtp_sink):
    sink = smtp_sink()
    gw = gateway()
    assert apply(gw, settings_text(gw, sink.port)).rc == 0
    gw.start()
    before = {n: (gw.dir / n).read_text() for n in ("main.cf", "master.cf")}
    cur = os.readlink(gw.dir / ".rendered" / "current")
    # An invalid hostname: refused, the reason given, nothing changed.
    r = apply(gw, settings_text(gw, sink.port, hostname="bad host!"))
    assert r.rc == 1
    assert "hostname: not a fully qualified host name" in r.err, r
    assert "nothing changed" in r.err
    assert os.readlink(gw.dir / ".rendered" / "current") == cur
    for n, t in before.items():
        assert (gw.dir / n).read_text() == t
    # An unknown key, a value with a newline smuggled through a
    # continuation line: refused too.
    r = apply(gw, settings_text(gw, sink.port) + "relayhost = evil\n")
    assert r.rc == 1 and "unknown setting \"relayhost\"" in r.err, r
    r = apply(gw, settings_text(gw, sink.port, admin_email="a@b.test\n"
                                " smtpd_relay_restrictions = permit"))
    assert r.rc == 1 and "admin_email" in r.err, r
    # A good change: swapped and reloaded.
    r = apply(gw, settings_text(gw, sink.port, message_size_mb="1"))
    assert r.rc == 0, r
    assert "message_size_limit = 1048576\n" in (gw.dir / "main.cf").read_text()
    gw.wait_log(r"reload -- version")
    assert os.readlink(gw.dir / ".rendered" / "current") != cur
    assert gw.status() == 0


def test_check_and_render(gateway):
    gw = gateway()
    (gw.dir / "settings.cf").write_text(
        settings_text(gw, 25, trusted_networks="10.0.0.1/8",
                      smarthost_user="u"))
    r = gw.cmd("config", "check")
    assert r.rc == 1
    assert "trusted_networks: \"10.0.0.1/8\" has host bits set" in r.err, r
    assert "smarthost_password: required with a smarthost login" in r.err
    (gw.dir / "settings.cf").write_text(
        settings_text(gw, 25, smarthost_user="u", smarthost_password="p w",
                      smarthost_tls="encrypt"))
    out = gw.dir / "out"
    out.mkdir()
    r = gw.cmd("config", "render", str(out))
    assert r.rc == 0, r
    assert "smtp_sasl_auth_enable = yes" in (out / "main.cf").read_text()
    assert (out / "smarthost_passwd").read_text().endswith(
        "[127.0.0.1]:25 u:p w\n")
    assert oct((out / "smarthost_passwd").stat().st_mode & 0o777) == "0o640"
    r = gw.cmd("config", "schema")
    assert r.rc == 0 and "| hostname |" in r.out


def test_smarthost_login_over_tls(gateway, smtp_sink):
    """The smarthost login of the settings: rendered into
    smtp_sasl_password_maps (a file root and mail_owner read), sent only
    inside TLS; the smarthost is a second mailgw offering AUTH after
    STARTTLS only (test_auth's submission service)."""
    from test_auth import PASSWORD, submission
    sink = smtp_sink()
    server = submission(gateway, sink, smtpd_tls_auth_only="yes",
                        smtpd_tls_security_level="may")
    server.start()
    gw = gateway()
    # A login without TLS is refused by the settings check.
    r = apply(gw, settings_text(gw, server.sub_port, smarthost_user="alice",
                                smarthost_password=PASSWORD))
    assert r.rc == 1 and "smarthost_user: a login needs Smarthost TLS" \
        in r.err, r
    r = apply(gw, settings_text(gw, server.sub_port, smarthost_user="alice",
                                smarthost_password=PASSWORD,
                                smarthost_tls="encrypt"))
    assert r.rc == 0, r
    st = os.stat(gw.dir / "smarthost_passwd")
    assert oct(st.st_mode & 0o777) == "0o640" and st.st_uid == 0
    gw.start()
    r = swaks(gw.port, "--local-interface", "127.0.0.2", "--from",
              "someone@foreign.test", "--to", "user@example.test")
    assert r.returncode == 0, r.stdout
    # The rendered main.cf keeps Postfix's retry times: if the first
    # attempt is deferred (a loaded machine), ask for the retry now.
    try:
        (m,) = sink.wait_count(1, timeout=20)
    except AssertionError:
        gw.cmd("postqueue", "-f")
        (m,) = sink.wait_count(1, timeout=60)
    assert "(Authenticated sender: alice)" in m.content.decode(), \
        gw.log_text()[-3000:]
    gw.wait_log(r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent")


def test_submission_services(gateway, smtp_sink):
    """The default master.cf has mail submission on 587 (STARTTLS, then
    AUTH) and submissions on 465 (TLS at connect, then AUTH), as Postfix's
    stock master.cf comments them; rendered on free ports here, they
    relay only for users of `mailgw passwd`."""
    from test_auth import PASSWORD
    sink = smtp_sink()
    gw = gateway()
    (gw.dir / "settings.cf").write_text(
        "hostname = gw.example.test\ndomains = example.test\n"
        "smarthost_host = 127.0.0.1\n")
    out = gw.dir / "default"
    out.mkdir()
    r = gw.cmd("config", "render", str(out))
    assert r.rc == 0, r
    master = (out / "master.cf").read_text()
    sub = re.search(r"^submission +inet +n +- +n +- +- +smtpd\n((?:  -o .*\n)+)",
                    master, re.M)
    subs = re.search(r"^submissions +inet +n +- +n +- +- +smtpd\n((?:  -o .*\n)+)",
                     master, re.M)
    assert sub and subs, master
    for want in ("smtpd_tls_security_level=encrypt",
                 "smtpd_sasl_auth_enable=yes",
                 "smtpd_relay_restrictions=permit_sasl_authenticated,reject"):
        assert f"  -o {want}\n" in sub.group(1)
    for want in ("smtpd_tls_wrappermode=yes", "smtpd_sasl_auth_enable=yes",
                 "smtpd_relay_restrictions=permit_sasl_authenticated,reject"):
        assert f"  -o {want}\n" in subs.group(1)
    # Running, on free loopback ports instead of 587 and 465.
    from peers import free_port
    p587, p465 = free_port(), free_port()
    r = apply(gw, settings_text(gw, sink.port,
                                submission_listen=f"127.0.0.1:{p587}",
                                smtps_listen=f"127.0.0.1:{p465}"))
    assert r.rc == 0, r
    assert gw.cmd("passwd", "add", "alice", input=PASSWORD + "\n").rc == 0
    gw.start()
    # 587 without TLS: no AUTH offered, nothing accepted.
    r = swaks(p587, "--local-interface", "127.0.0.2", "--from",
              "alice@example.test", "--to", "friend@far.test",
              "--quit-after", "RCPT")
    assert "250-AUTH" not in r.stdout, r.stdout
    assert re.search(r"<\*\* +530 5\.7\.0 Must issue a STARTTLS command "
                     r"first", r.stdout), r.stdout
    # STARTTLS without a login: no relaying (trusted_networks does not
    # count here, 127.0.0.1 is in it).
    r = swaks(p587, "--tls", "--from", "alice@example.test", "--to",
              "friend@far.test", "--quit-after", "RCPT")
    assert re.search(r"<~\* +554 5\.7\.1 .*Access denied", r.stdout), \
        r.stdout
    # STARTTLS and AUTH: relayed (to the smarthost, the only next hop).
    r = swaks(p587, "--tls", "--auth", "PLAIN", "--auth-user", "alice",
              "--auth-password", PASSWORD, "--from", "alice@example.test",
              "--to", "user@example.test", "--header",
              "Subject: over submission")
    assert r.returncode == 0, r.stdout
    # 465: TLS from the first byte, AUTH inside.
    r = swaks(p465, "--tlsc", "--auth", "LOGIN", "--auth-user", "alice",
              "--auth-password", PASSWORD, "--from", "alice@example.test",
              "--to", "user@example.test", "--header",
              "Subject: over submissions")
    assert r.returncode == 0, r.stdout
    assert "TLS started" in r.stdout, r.stdout
    r = swaks(p465, "--tlsc", "--auth", "PLAIN", "--auth-user", "alice",
              "--auth-password", "wrong", "--from", "alice@example.test",
              "--to", "user@example.test", "--quit-after", "AUTH")
    assert re.search(r"<~\* +535 5\.7\.8 ", r.stdout), r.stdout
    msgs = sink.wait_count(2, timeout=60)
    subjects = sorted(m.header("Subject") for m in msgs)
    assert subjects == ["over submission", "over submissions"]
    gw.wait_log(r"smtpd\[\d+\]: \w+: client=\S*\[127\.0\.0\.1\], "
                r"sasl_method=LOGIN, sasl_username=alice")
