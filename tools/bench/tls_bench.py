#!/usr/bin/python3
"""TLS numbers for issue 6: full handshakes per second on one core with
the default (self-signed ECDSA P-256, or RSA 2048 with --rsa)
certificate, and the memory of an idle TLS session.

Handshakes: `openssl s_time -new` against an SMTPS (wrapper-mode)
service for a fixed time; the rate is handshakes per CPU-second of
mailgw's smtpd and keys processes (the server side's cost on one core,
independent of the client's share of the machine), and also per wall
second. Memory: N TLS sessions opened (handshake done, banner read) and
left idle; the smtpd process's RSS before and after, divided by N.

Usage: tools/bench/tls_bench.py [--rsa] [--seconds 10] [--sessions 500]
Runs as root on loopback, like the integration tests."""
import argparse
import os
import pathlib
import re
import socket
import ssl
import subprocess
import sys
import time

TOP = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests" / "integration"))
os.environ.setdefault("MAILGW_BUILD", str(TOP / "build"))

from conftest import Gateway  # noqa: E402


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsa", action="store_true")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--sessions", type=int, default=500)
    a = ap.parse_args()
    main_cf = {"smtpd_tls_security_level": "may",
               "smtpd_client_connection_count_limit": "0",
               "smtpd_tls_selfsigned_key_type": "rsa" if a.rsa else "ecdsa"}
    gw = Gateway(main_cf=main_cf)
    port = gw.port
    gw.master_cf = (f"127.0.0.1:{port} inet n - n - - smtpd\n"
                    "  -o smtpd_tls_wrappermode=yes\n")
    gw.write_config()
    try:
        gw.start()
        time.sleep(0.5)
        smtpd = [p for p in gw.children() if comm(p) == "smtpd"][0]
        keys = [int(p) for p in os.listdir("/proc") if p.isdigit()
                and comm(int(p)) == "keys" and ppid(int(p)) == smtpd][0]
        c0 = cpu_seconds(smtpd) + cpu_seconds(keys)
        t0 = time.monotonic()
        r = subprocess.run(["openssl", "s_time", "-connect",
                            f"127.0.0.1:{port}", "-new", "-time",
                            str(a.seconds)], capture_output=True, text=True)
        wall = time.monotonic() - t0
        cpu = cpu_seconds(smtpd) + cpu_seconds(keys) - c0
        m = re.search(r"(\d+) connections in [\d.]+s", r.stdout)
        n = int(m.group(1)) if m else 0
        kind = "RSA 2048" if a.rsa else "ECDSA P-256"
        print(f"handshakes ({kind}, TLS 1.2, "
              f"{'ECDHE-RSA' if a.rsa else 'ECDHE-ECDSA'}-AES128-GCM): "
              f"{n} in {wall:.1f}s wall = {n / wall:.0f}/s; server CPU "
              f"{cpu:.2f}s (smtpd+keys) = {n / cpu:.0f} handshakes per "
              f"CPU-second")

        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        time.sleep(1)
        before = rss_kib(smtpd)
        socks = []
        for _ in range(a.sessions):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            t = ctx.wrap_socket(s)
            t.recv(1024)  # the banner: the session is up
            socks.append(t)
        time.sleep(1)
        after = rss_kib(smtpd)
        per = (after - before) / a.sessions
        print(f"idle TLS sessions: {a.sessions}; smtpd RSS {before} -> "
              f"{after} KiB = {per:.1f} KiB per session")
        for t in socks:
            t.close()
    finally:
        gw.teardown()


if __name__ == "__main__":
    main()
