"""check_{helo,sender,recipient}_{mx,ns}_access with Postfix's semantics
(smtpd_check.c check_server_access): the MX hosts of the domain (the
domain itself when it has no MX record, nothing for a null MX), or its
name servers (those of the nearest parent domain that has some); each
host by name (with parent domains) and then by its addresses (with
prefixes; cidr tables see each address); an address literal is its own
MX host. Debian's nsd serves the test zones on a 127.53.x.y:53 of its
own. The 10.66/16 addresses are DNS data only: nothing connects there.
"""
import pytest

from peers import Nsd, SmtpConn

ZONES = {
    "mxt.test": (
        # clean: one MX with an address outside the listed net
        "good IN MX 10 mx1.good\nmx1.good IN A 192.0.2.1\n"
        # the MX host's name is listed by a parent domain
        "bad IN MX 10 mx.badhost.example.\n"
        # the MX host's address is in the listed net
        "dark IN MX 10 mx.dark\nmx.dark IN A 10.66.0.5\n"
        # the second MX host is the listed one
        "second IN MX 10 mx1.good\nsecond IN MX 20 mx.dark\n"
        # no MX: the domain itself is its mail host
        "aonly IN A 10.66.1.1\n"
        # null MX (RFC 7505): nothing to check
        "nullmx IN MX 0 .\n"
        # an MX host that does not exist
        "lame IN MX 10 nowhere\n"
        # an MX host the name table says OK to: not allowed
        "okmx IN MX 10 mx.okhost.example.\n"),
    "badhost.example": "mx IN A 192.0.2.50\n",
    "okhost.example": "mx IN A 192.0.2.60\n",
    "nsdel.test": "www IN A 192.0.2.80\n",
}


@pytest.fixture(scope="module")
def nsd():
    n = Nsd(ZONES).start().expect("dark.mxt.test", "MX",
                                  "10 mx.dark.mxt.test.")
    yield n
    n.cleanup()


@pytest.fixture
def mxgw(gateway, nsd):
    gw = gateway(mynetworks="127.0.0.2/32", smtpd_peername_lookup="no",
                 relay_domains="mxt.test, nsdel.test",
                 smtpd_relay_restrictions="permit_mynetworks, "
                                          "reject_unauth_destination")
    names = gw.dir / "mx_names"
    names.write_text("badhost.example REJECT mx name parent matched\n"
                     "okhost.example OK\n")
    nets = gw.dir / "mx_nets"
    nets.write_text("10.66.0.0/16 REJECT mx in dark net\n")
    ns = gw.dir / "ns_names"
    ns.write_text("ns.nsdel.test REJECT name server matched\n")
    gw.set(dns_resolv_conf=nsd.resolv_conf(gw.dir / "resolv.conf",
                                            timeout=5, attempts=3),
           smtpd_helo_restrictions=f"check_helo_mx_access cidr:{nets}",
           smtpd_sender_restrictions=f"check_sender_mx_access "
                                     f"texthash:{names}, "
                                     f"check_sender_mx_access cidr:{nets}",
           smtpd_recipient_restrictions=f"check_recipient_mx_access "
                                        f"cidr:{nets}, "
                                        f"check_recipient_ns_access "
                                        f"texthash:{ns}")
    gw.start()
    return gw


def rcpt(gw, sender, rcpt_to, helo="helo.client.test"):
    c = SmtpConn(gw.port, helo=helo)
    code, _ = c.cmd(f"MAIL FROM:<{sender}>")
    assert code == 250
    code, lines = c.cmd(f"RCPT TO:<{rcpt_to}>")
    c.quit()
    return f"{code} {' '.join(lines)}"


def test_sender_mx_access(mxgw):
    """Each sender domain's MX hosts against a name table and a cidr
    table: by the host name's parent domain, by an address, through the
    second MX, through the domain's own A record when it has no MX, and
    for an address literal; a clean domain, a null MX and an MX host
    without address pass (the last with Postfix's warning)."""
    gw = mxgw
    ok = "u@good.mxt.test"
    got = rcpt(gw, "a@bad.mxt.test", ok)
    assert got.startswith("554 5.7.1 <a@bad.mxt.test>: Sender address "
                          "rejected: mx name parent matched"), got
    for sender in ("a@dark.mxt.test", "a@second.mxt.test",
                   "a@aonly.mxt.test", "a@[10.66.3.3]"):
        got = rcpt(gw, sender, ok)
        assert got.startswith(f"554 5.7.1 <{sender}>: Sender address "
                              "rejected: mx in dark net"), got
    for sender in ("a@good.mxt.test", "a@nullmx.mxt.test",
                   "a@lame.mxt.test"):
        got = rcpt(gw, sender, ok)
        assert got.startswith("250"), f"{sender}: {got}"
    gw.wait_log(r"warning: Unable to look up MX host nowhere\.mxt\.test for "
                r"Sender address a@lame\.mxt\.test: Name or service not "
                r"known")
    gw.wait_log(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: 554 "
                r"5\.7\.1 <a@second\.mxt\.test>: Sender address rejected: "
                r"mx in dark net; from=<a@second\.mxt\.test> "
                r"to=<u@good\.mxt\.test> proto=ESMTP "
                r"helo=<helo\.client\.test>")


def test_recipient_and_helo_mx_ns_access(mxgw):
    """check_recipient_mx_access and check_helo_mx_access read the same
    MX hosts; check_recipient_ns_access finds the name servers of the
    nearest parent domain that has some."""
    gw = mxgw
    got = rcpt(gw, "a@good.mxt.test", "u@dark.mxt.test")
    assert got.startswith("554 5.7.1 <u@dark.mxt.test>: Recipient address "
                          "rejected: mx in dark net"), got
    got = rcpt(gw, "a@good.mxt.test", "u@www.nsdel.test")
    assert got.startswith("554 5.7.1 <u@www.nsdel.test>: Recipient address "
                          "rejected: name server matched"), got
    got = rcpt(gw, "a@good.mxt.test", "u@good.mxt.test")
    assert got.startswith("250"), got
    got = rcpt(gw, "a@good.mxt.test", "u@good.mxt.test",
               helo="dark.mxt.test")
    assert got.startswith("554 5.7.1 <dark.mxt.test>: Helo command "
                          "rejected: mx in dark net"), got


def test_ok_is_refused(mxgw):
    """OK from a table keyed by hosts the client chooses would let anybody
    in: Postfix answers 451 4.3.5 Server configuration error with its
    three warnings instead."""
    gw = mxgw
    got = rcpt(gw, "a@okmx.mxt.test", "u@good.mxt.test")
    assert got.startswith("451 4.3.5 Server configuration error"), got
    gw.wait_log(r"warning: restriction check_sender_mx_access returns OK "
                r"for a@okmx\.mxt\.test$")
    gw.wait_log(r"warning: this is not allowed for security reasons$")
    gw.wait_log(r"warning: use DUNNO instead of OK if you want to make an "
                r"exception$")
