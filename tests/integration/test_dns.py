"""Routing by DNS (issue 4): the SMTP client looks up MX records through
mailgw's own resolver, asking a real DNS server (Debian's nsd) that the
test starts on a loopback address of its own (127.53.x.y:53) and names in
dns_resolv_conf. Exchangers point to 127.0.0.x where smtp-sinks listen on
one port (smtp_tcp_port).

What is checked: preference order and fallback to the next exchanger when
the first refuses; the implicit MX (A record) of a domain without MX
records; a null MX bounces (RFC 7505); a CNAME chain; an answer too big
for UDP that is asked again over TCP; NXDOMAIN bounces; an MX pointing to
the gateway itself ("loops back to myself"); a server that never answers
defers and never bounces; relayhost without brackets uses MX; and a load
run that reports the resolver's cache hit rate and DNS queries per
relayed message (written to build/test-artifacts/dns-load.txt)."""
import os
import pathlib
import re
import socket

import pytest

from peers import Nsd, SmtpConn, free_port, listening, make_message, \
    smtp_source, wait_until

pytestmark = pytest.mark.skipif(
    os.environ.get("MAILGW_REFERENCE") == "postfix",
    reason="Postfix reads the host's /etc/resolv.conf; no test server")

BIG_MX = 30  # exchangers of big.dnstest: the answer needs TCP

ZONE = "\n".join([
    # preference order; the best exchanger refuses connections
    "pref IN MX 10 mx1.pref", "pref IN MX 20 mx2.pref",
    "mx1.pref IN A 127.0.0.2", "mx2.pref IN A 127.0.0.3",
    # the best exchanger takes it
    "best IN MX 50 mx2.pref", "best IN MX 5 mxb.best",
    "mxb.best IN A 127.0.0.4",
    # no MX: the domain's own address
    "amx IN A 127.0.0.5",
    # null MX
    "nullmx IN MX 0 .",
    # CNAME chain to a domain with an MX
    "alias IN CNAME alias2", "alias2 IN CNAME real",
    "real IN MX 10 mxr.real", "mxr.real IN A 127.0.0.6",
    # the exchanger is the gateway itself
    "self IN MX 10 me.self", "me.self IN A 127.0.0.1",
    # no MX, the domain's own address is the gateway's
    "selfa IN A 127.0.0.1",
    # relayhost by name
    "relay IN MX 10 mx2.pref",
    # IPv6 only
    "v6 IN MX 10 mx6.v6", "mx6.v6 IN AAAA ::1",
    # MX of a name without an address: the next one is used
    "half IN MX 10 noaddr.half", "half IN MX 20 mx2.pref",
    # names with a TXT record only: no address of any type
    'txtonly IN TXT "no mail here"',
    "notxt IN MX 10 txthost.notxt", 'txthost.notxt IN TXT "no mail"',
    # the better exchanger cannot be looked up (outside every zone nsd
    # serves: REFUSED), the other has no address
    "mixed IN MX 10 mx.elsewhere.invalid.", "mixed IN MX 20 txthost.notxt",
] + [f"big IN MX {i + 1} exchanger-with-a-rather-long-name-{i:02d}.big"
     for i in range(BIG_MX)]
  + [f"exchanger-with-a-rather-long-name-{i:02d}.big IN A 127.0.0.7"
     for i in range(BIG_MX)])


@pytest.fixture(scope="module")
def nsd():
    n = Nsd({"dnstest": ZONE}).start().expect(
        "pref.dnstest", "MX", lambda a: sorted(a.splitlines()) == [
            "10 mx1.pref.dnstest.", "20 mx2.pref.dnstest."])
    yield n
    n.cleanup()


def common_port():
    """A port free on every 127.0.0.x the exchangers use."""
    for _ in range(50):
        p = free_port("127.0.0.3")
        if not any(listening(p, f"127.0.0.{i}") for i in range(1, 8)):
            return p
    raise AssertionError("no common free port")


@pytest.fixture
def dnsgw(gateway, nsd):
    def make(port, **main_cf):
        gw = gateway(smtp_tcp_port=str(port), **main_cf)
        nsd.resolv_conf(gw.dir / "resolv.conf")
        return gw
    return make


def send(gw, rcpt, sender="s@amx.dnstest", msgid=None):
    c = SmtpConn(gw.port)
    code, text = c.send(sender, [rcpt],
                        make_message(msgid or f"{rcpt}@test", sender, rcpt))
    c.quit()
    assert code == 250, text


def dns_stats(gw):
    lines = gw.log_lines(r"statistics: dns queries=")
    assert lines, gw.log_text()[-3000:]
    m = re.search(r"queries=(\d+) cache_hits=(\d+) \((\d+)%\) network=(\d+) "
                  r"udp=(\d+) tcp=(\d+) timeouts=(\d+) tempfails=(\d+) "
                  r"coalesced=(\d+)",
                  lines[-1])
    keys = ("queries", "cache_hits", "hit_pct", "network", "udp", "tcp",
            "timeouts", "tempfails", "coalesced")
    return dict(zip(keys, map(int, m.groups())))


def test_mx_preference_fallback_and_implicit_mx(dnsgw, smtp_sink):
    port = common_port()
    mx2 = smtp_sink(host="127.0.0.3", port=port)
    mxb = smtp_sink(host="127.0.0.4", port=port)
    amx = smtp_sink(host="127.0.0.5", port=port)
    gw = dnsgw(port)
    gw.start()
    send(gw, "u@pref.dnstest")
    send(gw, "u@best.dnstest")
    send(gw, "u@amx.dnstest")
    # The best exchanger of pref refuses: logged, then the next one.
    gw.wait_log(rf"connect to mx1\.pref\.dnstest\[127\.0\.0\.2\]:{port}: "
                r"Connection refused")
    gw.wait_log(r"to=<u@pref\.dnstest>, relay=mx2\.pref\.dnstest"
                rf"\[127\.0\.0\.3\]:{port}, .*status=sent")
    gw.wait_log(r"to=<u@best\.dnstest>, relay=mxb\.best\.dnstest"
                rf"\[127\.0\.0\.4\]:{port}, .*status=sent")
    gw.wait_log(r"to=<u@amx\.dnstest>, relay=amx\.dnstest"
                rf"\[127\.0\.0\.5\]:{port}, .*status=sent")
    assert [m.recipients for m in mx2.wait_count(1)] == [["u@pref.dnstest"]]
    assert [m.recipients for m in mxb.wait_count(1)] == [["u@best.dnstest"]]
    assert [m.recipients for m in amx.wait_count(1)] == [["u@amx.dnstest"]]
    gw.wait_queue_empty()


def test_aaaa_exchanger(dnsgw, smtp_sink):
    """An exchanger with only an AAAA record, reached over IPv6 when
    inet_protocols allows it; with ipv4 only it has no usable address."""
    port = free_port("::1")
    mx6 = smtp_sink(host="::1", port=port)
    gw = dnsgw(port, inet_protocols="all")
    gw.start()
    send(gw, "u@v6.dnstest")
    gw.wait_log(rf"to=<u@v6\.dnstest>, relay=mx6\.v6\.dnstest\[::1\]:{port}, "
                r".*status=sent")
    assert mx6.wait_count(1)[0].recipients == ["u@v6.dnstest"]
    gw.stop()
    gw.set(inet_protocols="ipv4")
    gw.start()
    send(gw, "w@v6.dnstest")
    gw.wait_log(r"to=<w@v6\.dnstest>, relay=none, .*dsn=5\.4\.4, "
                r"status=bounced \(Host or domain name not found\. Name "
                r"service error for name=mx6\.v6\.dnstest type=A: Host found "
                r"but no data record of requested type\)")
    gw.wait_log(r"warning: no MX host for v6\.dnstest has a valid address "
                r"record")


def test_null_mx_nxdomain_and_loop_bounce(dnsgw, smtp_sink):
    port = common_port()
    amx = smtp_sink(host="127.0.0.5", port=port)  # the sender's domain
    gw = dnsgw(port)
    gw.start()
    send(gw, "u@nullmx.dnstest")
    send(gw, "u@nosuch.dnstest")
    send(gw, "u@self.dnstest")
    gw.wait_log(r"to=<u@nullmx\.dnstest>, relay=none, .*dsn=5\.1\.0, "
                r"status=bounced \(Domain nullmx\.dnstest does not accept "
                r"mail \(nullMX\)\)")
    gw.wait_log(r"to=<u@nosuch\.dnstest>, relay=none, .*dsn=5\.4\.4, "
                r"status=bounced \(Host or domain name not found\. Name "
                r"service error for name=nosuch\.dnstest type=A: Host not "
                r"found\)")
    gw.wait_log(r"to=<u@self\.dnstest>, relay=none, .*dsn=5\.4\.6, "
                r"status=bounced \(mail for self\.dnstest loops back to "
                r"myself\)")
    # The three notices reach the sender's domain, by its implicit MX.
    msgs = amx.wait_count(3)
    assert sorted(m.recipients[0] for m in msgs) == ["s@amx.dnstest"] * 3
    assert all(m.sender == "" for m in msgs)
    gw.wait_queue_empty()


def test_cname_chain_tcp_fallback_and_unresolvable_exchanger(dnsgw, smtp_sink):
    port = common_port()
    mx2 = smtp_sink(host="127.0.0.3", port=port)
    mxr = smtp_sink(host="127.0.0.6", port=port)
    big = smtp_sink(host="127.0.0.7", port=port)
    gw = dnsgw(port)
    gw.start()
    send(gw, "u@alias.dnstest")
    send(gw, "u@big.dnstest")
    send(gw, "u@half.dnstest")
    gw.wait_log(r"to=<u@alias\.dnstest>, relay=mxr\.real\.dnstest"
                rf"\[127\.0\.0\.6\]:{port}, .*status=sent")
    gw.wait_log(r"to=<u@big\.dnstest>, relay=exchanger-with-a-rather-long-"
                rf"name-00\.big\.dnstest\[127\.0\.0\.7\]:{port}, .*status=sent")
    gw.wait_log(r"to=<u@half\.dnstest>, relay=mx2\.pref\.dnstest"
                rf"\[127\.0\.0\.3\]:{port}, .*status=sent")
    mxr.wait_count(1)
    big.wait_count(1)
    mx2.wait_count(1)
    gw.wait_queue_empty()
    gw.stop()
    st = dns_stats(gw)
    assert st["tcp"] >= 1, st  # the big MX answer was truncated over UDP
    assert st["tempfails"] == 0, st


def test_silent_server_defers_never_bounces(gateway, smtp_sink):
    # A UDP socket on port 53 that never reads: every query times out.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = Nsd._free_addr()
    silent.bind((addr, 53))
    try:
        gw = gateway(maximal_backoff_time="3600s",
                     minimal_backoff_time="3600s")
        (gw.dir / "resolv.conf").write_text(
            f"nameserver {addr}\noptions timeout:1 attempts:1\n")
        gw.start()
        send(gw, "u@pref.dnstest", sender="s@sender.example")
        gw.wait_log(r"to=<u@pref\.dnstest>, relay=none, .*dsn=4\.4\.3, "
                    r"status=deferred \(Host or domain name not found\. "
                    r"Name service error for name=pref\.dnstest type=MX: "
                    r"Host not found, try again\)")
        assert not gw.log_lines(r"status=bounced")
        r = gw.cmd("mailq")
        assert "u@pref.dnstest" in r.out and "try again" in r.out, r
    finally:
        silent.close()


def test_relayhost_by_mx(dnsgw, smtp_sink):
    port = common_port()
    mx2 = smtp_sink(host="127.0.0.3", port=port)
    gw = dnsgw(port, relayhost=f"relay.dnstest:{port}")
    gw.start()
    send(gw, "u@elsewhere.example")
    gw.wait_log(r"to=<u@elsewhere\.example>, relay=mx2\.pref\.dnstest"
                rf"\[127\.0\.0\.3\]:{port}, .*status=sent")
    assert mx2.wait_count(1)[0].recipients == ["u@elsewhere.example"]


def test_relayhost_lookup_failure_defers(dnsgw):
    # A relayhost that does not exist is a configuration problem: defer
    # (4.3.5), never bounce, as Postfix does.
    gw = dnsgw(25, relayhost="nosuch.dnstest")
    gw.start()
    send(gw, "u@elsewhere.example", sender="s@sender.example")
    gw.wait_log(r"warning: relayhost configuration problem")
    gw.wait_log(r"to=<u@elsewhere\.example>, relay=none, .*dsn=4\.3\.5, "
                r"status=deferred \(Host or domain name not found")


def test_load_cache_hit_rate(dnsgw, smtp_sink):
    """A load run over four domains: the resolver's cache and connection
    reuse keep DNS queries per relayed message far below one."""
    port = common_port()
    sinks = [smtp_sink(host=f"127.0.0.{i}", port=port, dump=False)
             for i in (3, 4, 5, 6)]
    gw = dnsgw(port)
    gw.start()
    domains = ["pref", "best", "amx", "alias"]
    per = 100
    for d in domains:
        r = smtp_source(gw.port, sessions=2, count=per,
                        rcpt=f"load@{d}.dnstest", sender="s@amx.dnstest")
        assert r.returncode == 0, r.stdout + r.stderr
    total = per * len(domains)
    wait_until(lambda: sum(s.counted() or 0 for s in sinks) >= total, 120,
               f"{total} messages at the sinks")
    gw.wait_queue_empty()
    gw.stop()
    st = dns_stats(gw)
    per_msg = st["queries"] / total
    network_per_msg = st["network"] / total
    hit = 100.0 * st["cache_hits"] / st["queries"] if st["queries"] else 0
    text = (f"load run: {total} messages to {len(domains)} domains by MX, "
            f"2 smtp-source sessions per domain\n"
            f"dns queries (resolver calls): {st['queries']} = "
            f"{per_msg:.3f} per relayed message\n"
            f"answered from cache: {st['cache_hits']} ({hit:.1f}%)\n"
            f"sent to the server: {st['network']} = "
            f"{network_per_msg:.3f} per relayed message "
            f"(udp {st['udp']}, tcp {st['tcp']}); in-flight questions "
            f"shared: {st['coalesced']}\n")
    art = pathlib.Path(os.environ.get("MAILGW_BUILD", "build")) / "test-artifacts"
    art.mkdir(parents=True, exist_ok=True)
    (art / "dns-load.txt").write_text(text)
    print(text)
    assert st["tempfails"] == 0, st
    # Each domain needs its MX and its exchanger's A record once (the
    # CNAME chain one more); everything after that is the cache's.
    assert st["network"] <= 4 * len(domains), st
    assert per_msg < 1, st


def test_implicit_mx_to_self_loops(dnsgw):
    """No MX and an A record of our own address, port 25: 5.4.6 as
    Postfix's smtp_host_addr() loop check (not a delivery to ourselves)."""
    gw = dnsgw(25)
    gw.start()
    send(gw, "u@selfa.dnstest", sender="s@sender.example")
    gw.wait_log(r"to=<u@selfa\.dnstest>, relay=none, .*dsn=5\.4\.6, "
                r"status=bounced \(mail for selfa\.dnstest loops back to "
                r"myself\)")


def test_no_address_record_texts(dnsgw, smtp_sink):
    """Names that exist without an A or AAAA record: Postfix's texts from
    smtp_addr.c and dns_lookup_v() (the last type asked, AAAA, names the
    failure; 5.4.4), in the log and in the bounce; an exchanger that could
    not be looked up makes it a deferral (4.4.4) with the last text."""
    port = common_port()
    amx = smtp_sink(host="127.0.0.5", port=port)  # the sender's domain
    gw = dnsgw(port, inet_protocols="all")
    gw.start()
    send(gw, "u@txtonly.dnstest")
    send(gw, "u@notxt.dnstest")
    send(gw, "u@mixed.dnstest")
    nodata = ("Host or domain name not found. Name service error for "
              "name={} type=AAAA: Host found but no data record of "
              "requested type")
    want = {"u@txtonly.dnstest": nodata.format("txtonly.dnstest"),
            "u@notxt.dnstest": nodata.format("txthost.notxt.dnstest")}
    for rcpt, why in want.items():
        gw.wait_log(rf"to=<{re.escape(rcpt)}>, relay=none, .*dsn=5\.4\.4, "
                    rf"status=bounced \({re.escape(why)}\)$")
    gw.wait_log(r"warning: no MX host for notxt\.dnstest has a valid "
                r"address record")
    gw.wait_log(r"to=<u@mixed\.dnstest>, relay=none, .*dsn=4\.4\.4, "
                r"status=deferred \(" +
                re.escape(nodata.format("txthost.notxt.dnstest")) + r"\)$")
    # The notices carry the same text, in the report and the DSN.
    msgs = amx.wait_count(2)
    assert sorted(m.recipients[0] for m in msgs) == ["s@amx.dnstest"] * 2
    for m in msgs:
        body = m.content.decode()
        rcpt = re.search(r"^Final-Recipient: rfc822; (\S+)$", body,
                         re.M).group(1)
        why = want[rcpt]
        assert f"\n<{rcpt}>: {why}\n" in body, body
        assert "\nStatus: 5.4.4\n" in body, body
        assert f"\nDiagnostic-Code: X-Postfix; {why}\n" in body, body
