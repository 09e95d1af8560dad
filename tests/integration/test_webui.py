"""The web UI end to end: `mailgw webui-tls` (HTTPS) in front of busybox
httpd serving build/webui.cgi as
webui_owner, master's control socket behind it, and Chromium driven by
playwright-core (tests/webui/webui_test.js): first run (with the setup
token master logged), login/logout, change of the admin password,
dashboard, mail users (added in the browser, then used for SMTP AUTH on
the submission port), settings (field errors, XSS probe), CSRF refusals, queue
actions, staged change -> diff -> apply; then a message sent over SMTP
arrives at the smarthost the browser configured. Screenshots of every page
go to build/test-artifacts/."""
import os
import pathlib
import re
import pwd
import shutil
import socket
import subprocess
import tempfile

import pytest

from peers import free_port, kill_pid, listening, swaks, wait_until

TOP = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("MAILGW_BUILD", TOP / "build"))
NODE_DIR = TOP / "tests" / "webui"
ARTIFACTS = BUILD / "test-artifacts"


def webui_user():
    for u in ("mailgw-web", "nobody"):
        try:
            return pwd.getpwnam(u)
        except KeyError:
            pass
    raise AssertionError("no user for webui_owner")


def settings_text(gw, smarthost_port, webui_dir, owner, submission=""):
    return "".join(f"{k} = {v}\n" for k, v in {
        "hostname": "gw.example.test",
        "domains": "example.test",
        "smarthost_host": "127.0.0.1",
        "smarthost_port": smarthost_port,
        "smarthost_tls": "none",
        "trusted_networks": "127.0.0.1/32",
        "smtp_listen": f"127.0.0.1:{gw.port}",
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "queue_directory": gw.queue,
        "data_directory": gw.dir / "data",
        "maillog_file": gw.maillog,
        "mail_owner": "mailgw",
        "webui_directory": webui_dir,
        "webui_owner": owner,
        "submission_listen": submission,
        "smtps_listen": "",
    }.items())


class Httpd:
    """busybox httpd on 127.0.0.1:port serving webui.cgi as user."""

    def __init__(self, confdir, user, env_extra=None):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="mailgw-www-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        (self.dir / "www" / "cgi-bin").mkdir(parents=True)
        shutil.copy(BUILD / "webui.cgi", self.dir / "www" / "cgi-bin" / "webui.cgi")
        os.chmod(self.dir / "www" / "cgi-bin" / "webui.cgi", 0o755)
        (self.dir / "httpd.conf").write_text("A:127.0.0.1\nD:*\n")
        self.port = free_port()
        env = dict(os.environ, MAIL_CONFIG=str(confdir), **(env_extra or {}))
        self.out = open(self.dir / "httpd.log", "wb")
        self.proc = subprocess.Popen(
            ["busybox", "httpd", "-f", "-p", f"127.0.0.1:{self.port}",
             "-h", str(self.dir / "www"), "-c", str(self.dir / "httpd.conf"),
             "-u", user],
            env=env, stdout=self.out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        wait_until(lambda: listening(self.port), 20, "busybox httpd")
        self.url = f"http://127.0.0.1:{self.port}/cgi-bin/webui.cgi"

    def stop(self):
        kill_pid(self.proc.pid, timeout=5)
        self.proc.wait()
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def httpd():
    made = []

    def make(*a, **kw):
        h = Httpd(*a, **kw)
        made.append(h)
        return h
    yield make
    for h in made:
        h.stop()


def test_webui_in_chromium(gateway, smtp_sink, httpd):
    if not (NODE_DIR / "node_modules" / "playwright-core").is_dir():
        pytest.fail("playwright-core is missing: run tools/bootstrap")
    sink = smtp_sink()
    gw = gateway()
    pw = webui_user()
    webui_dir = gw.dir / "webui"
    webui_dir.mkdir(mode=0o700)
    os.chown(webui_dir, pw.pw_uid, pw.pw_gid)
    # The smarthost starts on a closed port: mail waits in the queue.
    closed = free_port()
    sub_port = free_port()
    (gw.dir / "settings.cf").write_text(
        settings_text(gw, closed, webui_dir, pw.pw_name,
                      submission=f"127.0.0.1:{sub_port}"))
    r = gw.cmd("config", "apply")
    assert r.rc == 0, r
    gw.start()
    for who in ("keep", "delete"):
        r = gw.cmd("sendmail", "-f", f"{who}@example.test", "user@example.test",
                   input=f"Subject: {who} me\n\nbody\n")
        assert r.rc == 0, r
    gw.wait_log(r"status=deferred", count=2)
    # master made the one-time setup token at start and logged it.
    (line,) = gw.wait_log(r"web UI setup token: [0-9a-f]{32} ")
    token = re.search(r"setup token: ([0-9a-f]{32})", line).group(1)
    st = (webui_dir / "setup-token").stat()
    assert st.st_uid == pw.pw_uid and st.st_mode & 0o777 == 0o600
    assert token not in (gw.dir / "settings.cf").read_text()
    h = httpd(gw.dir, pw.pw_name)
    # The browser talks HTTPS to `mailgw webui-tls`, which relays to httpd.
    tls_port = free_port()
    tls = subprocess.Popen(
        [str(BUILD / "mailgw"), "-c", str(gw.dir), "webui-tls", "-u",
         pw.pw_name, f"127.0.0.1:{tls_port}", f"127.0.0.1:{h.port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: listening(tls_port), 20, "mailgw webui-tls")
        run_browser(gw, sink, webui_dir,
                    f"https://127.0.0.1:{tls_port}/cgi-bin/webui.cgi", token)
    finally:
        kill_pid(tls.pid, timeout=5)
        tls.wait()
    # Flushed from the browser: the kept message reached the new smarthost;
    # the deleted one did not.
    wait_until(lambda: len(sink.messages()) >= 1, 30, "the kept message")
    # A message over SMTP from an untrusted client goes there too.
    r = swaks(gw.port, "--local-interface", "127.0.0.2", "--from",
              "someone@elsewhere.test", "--to", "user@example.test",
              "--header", "Subject: through the browser's smarthost")
    assert r.returncode == 0, r.stdout
    wait_until(lambda: len(sink.messages()) >= 2, 30, "the SMTP message")
    # The user the browser added submits over 587-style submission.
    r = swaks(sub_port, "--tls", "--auth", "PLAIN", "--auth-user", "alice",
              "--auth-password", "submission secret 1", "--from",
              "alice@example.test", "--to", "friend@example.test",
              "--header", "Subject: from a web UI user")
    assert r.returncode == 0, r.stdout
    r = swaks(sub_port, "--tls", "--auth", "PLAIN", "--auth-user", "bob",
              "--auth-password", "submission secret 1", "--from",
              "bob@example.test", "--to", "friend@example.test",
              "--quit-after", "AUTH")
    assert "535 5.7.8" in r.stdout, r.stdout
    wait_until(lambda: len(sink.messages()) >= 3, 30, "the submitted message")
    texts = [m.raw.decode(errors="replace") for m in sink.messages()]
    assert not any("delete me" in t for t in texts)
    # Every login event is in the web UI's log.
    log = (webui_dir / "webui.log").read_text()
    assert "login failed from 127.0.0.1" in log
    assert "admin password set from 127.0.0.1" in log
    assert "setup token wrong from 127.0.0.1" in log
    assert "admin password changed from 127.0.0.1" in log
    assert "user alice added by 127.0.0.1: done" in log
    # The password went to mailgw passwd on stdin: never in a log.
    assert "submission secret" not in log + gw.log_text()
    assert "control: users add alice (uid" in gw.log_text()
    # The token is spent; a restart of master makes none (a password is
    # set).
    assert not (webui_dir / "setup-token").exists()
    assert gw.cmd("webui-token").rc == 1
    # The CGI wrote only its own directory (master gives it the control
    # socket).
    owned = [p for p in gw.dir.rglob("*") if not p.is_symlink()
             and not p.is_socket() and p.stat().st_uid == pw.pw_uid]
    assert all(webui_dir in p.parents or p == webui_dir for p in owned), owned


def run_browser(gw, sink, webui_dir, url, token):
    env = dict(os.environ, WEBUI_URL=url, SINK_PORT=str(sink.port),
               SETUP_TOKEN=token,
               MAIN_CF=str(gw.dir / "main.cf"), ARTIFACTS=str(ARTIFACTS))
    p = subprocess.run(["node", str(NODE_DIR / "webui_test.js")], env=env,
                       capture_output=True, text=True, timeout=240,
                       cwd=NODE_DIR)
    print(p.stdout)
    assert p.returncode == 0, (
        f"{p.stdout}\n{p.stderr}\n--- webui.log:\n"
        f"{(webui_dir / 'webui.log').read_text() if (webui_dir / 'webui.log').exists() else ''}"
        f"\n--- maillog tail:\n{gw.log_text()[-3000:]}")


def test_control_socket_refuses_bad_jobs(gateway):
    """Master checks every job again: unknown actions, bad queue IDs and
    master's own commands from webui_owner are refused."""
    gw = gateway()
    pw = webui_user()
    webui_dir = gw.dir / "webui"
    webui_dir.mkdir(mode=0o700)
    (gw.dir / "settings.cf").write_text(
        settings_text(gw, free_port(), webui_dir, pw.pw_name))
    assert gw.cmd("config", "apply").rc == 0
    gw.start()
    sock = str(gw.queue / "pid" / "master.sock")

    def ask(req, uid=None):
        pid = os.fork()
        if pid == 0:  # a client as webui_owner (or root)
            try:
                if uid is not None:
                    os.setuid(uid)
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(20)
                s.connect(sock)
                s.sendall(req.encode() + b"\n")
                data = b""
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    data += d
                os.write(w, data[:4000])
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        return os.read(r, 65536).decode()

    r, w = os.pipe()
    assert ask("queue delete ../../etc/passwd", pw.pw_uid).startswith(
        "error not a queue ID")
    assert ask("queue frobnicate", pw.pw_uid).startswith("error unknown")
    assert ask("queue list; rm -rf /", pw.pw_uid).startswith("error")
    assert ask("stop", pw.pw_uid).startswith("error not allowed")
    assert ask("reload", pw.pw_uid).startswith("error not allowed")
    assert ask("status", pw.pw_uid).startswith("ok ")
    assert ask("queue list", pw.pw_uid).endswith("status 0\n")
    assert ask("users add alice", pw.pw_uid).startswith(
        "error a user name and a password are needed")
    assert ask("users del ../../etc/passwd", pw.pw_uid).startswith(
        "error not a user name")
    assert ask("users add bob; id x", pw.pw_uid).startswith("error")
    assert ask("users add carol pass\tword", pw.pw_uid).startswith("error")
    assert ask("users add carol a good password", pw.pw_uid) == "status 0\n"
    assert ask("users list", pw.pw_uid) == "carol\nstatus 0\n"
    assert "a good password" not in gw.log_text()
    assert gw.status() == 0
    # A staged file that changes a system key is refused by apply -u.
    staged = webui_dir / "settings.staged"
    staged.write_text(settings_text(gw, free_port(), webui_dir, pw.pw_name)
                      .replace("mail_owner = mailgw", "mail_owner = root"))
    out = ask("apply", pw.pw_uid)
    assert "mail_owner may not be changed from the web UI" in out, out
    assert out.endswith("status 1\n"), out
    os.close(r)
    os.close(w)


def https_request(port, src, method, path, body=None, cookie=None,
                  headers=None):
    """One request over `mailgw webui-tls` from source address src."""
    import http.client
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE     # webui-tls' self-signed certificate
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=60,
                                    context=ctx, source_address=(src, 0))
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = cookie
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        c.request(method, "/cgi-bin/webui.cgi" + path, body=body, headers=h)
        r = c.getresponse()
        return r.status, r.getheaders(), r.read().decode("utf-8", "replace")
    finally:
        c.close()


def form_start(port, src, path):
    """GET a pre-session form: its cookie and CSRF token."""
    status, headers, page = https_request(port, src, "GET", path)
    assert status == 200, (status, page)
    cookie = "; ".join(v.split(";")[0] for k, v in headers
                       if k.lower() == "set-cookie")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', page).group(1)
    return cookie, csrf


def test_login_limit_per_client_behind_proxy(gateway, httpd):
    """Behind `mailgw webui-tls` httpd sees every client as 127.0.0.1; the
    proxy tells the CGI the real address in a field keyed with a secret
    (client-sent copies are dropped), so the login limit is per client:
    127.0.0.2 is locked out after 5 failures, 127.0.0.3 still logs in."""
    from urllib.parse import quote
    gw = gateway()
    pw = webui_user()
    webui_dir = gw.dir / "webui"
    webui_dir.mkdir(mode=0o700)
    os.chown(webui_dir, pw.pw_uid, pw.pw_gid)
    (gw.dir / "settings.cf").write_text(
        settings_text(gw, free_port(), webui_dir, pw.pw_name))
    assert gw.cmd("config", "apply").rc == 0
    gw.start()
    (line,) = gw.wait_log(r"web UI setup token: [0-9a-f]{32} ")
    token = re.search(r"setup token: ([0-9a-f]{32})", line).group(1)
    h = httpd(gw.dir, pw.pw_name)
    port = free_port()
    tls = subprocess.Popen(
        [str(BUILD / "mailgw"), "-c", str(gw.dir), "webui-tls", "-u",
         pw.pw_name, f"127.0.0.1:{port}", f"127.0.0.1:{h.port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: listening(port), 20, "mailgw webui-tls")
        wait_until(lambda: (webui_dir / "proxy-key").exists(), 20,
                   "the proxy key")
        password = "correct horse battery"
        pwq = quote(password)
        cookie, csrf = form_start(port, "127.0.0.3", "/setup")
        status, _, page = https_request(
            port, "127.0.0.3", "POST", "/setup", cookie=cookie,
            body=f"csrf={csrf}&token={token}&password={pwq}&confirm={pwq}")
        assert status == 303, (status, page)
        # 127.0.0.2 fails five times, claiming other addresses in forged
        # fields (dropped by the proxy: its own field carries the key).
        forged = [{}, {"X-Mailgw-Client": "0" * 32 + " 127.0.0.9"},
                  {"x_mailgw_client": "127.0.0.9"},
                  {"X-Mailgw-Client": "127.0.0.9"}, {}]
        cookie, csrf = form_start(port, "127.0.0.2", "/login")
        for extra in forged:
            status, _, page = https_request(
                port, "127.0.0.2", "POST", "/login", cookie=cookie,
                body=f"csrf={csrf}&password=wrong+password", headers=extra)
            assert status == 403 and "Wrong password" in page, (status, page)
        # Locked out, even with the right password.
        status, _, page = https_request(
            port, "127.0.0.2", "POST", "/login", cookie=cookie,
            body=f"csrf={csrf}&password={pwq}")
        assert status == 429 and "Too many failed" in page, (status, page)
        # Another client is not.
        cookie, csrf = form_start(port, "127.0.0.3", "/login")
        status, headers, page = https_request(
            port, "127.0.0.3", "POST", "/login", cookie=cookie,
            body=f"csrf={csrf}&password={pwq}")
        assert status == 303, (status, page)
        assert dict((k.lower(), v) for k, v in headers)["location"] \
            .endswith("/dashboard")
    finally:
        kill_pid(tls.pid, timeout=5)
        tls.wait()
    # Straight to httpd (not through the proxy), a field with a wrong key
    # is not believed: the failure counts for 127.0.0.1.
    import urllib.request
    req = urllib.request.Request(
        h.url + "/login", headers={"X-Mailgw-Client": "f" * 32 + " 127.0.0.3"})
    with urllib.request.urlopen(req, timeout=60) as r:
        page = r.read().decode()
        cookie = "; ".join(v.split(";")[0] for k, v in r.getheaders()
                           if k.lower() == "set-cookie")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{32})"', page).group(1)
    req = urllib.request.Request(
        h.url + "/login", data=f"csrf={csrf}&password=nope".encode(),
        headers={"X-Mailgw-Client": "f" * 32 + " 127.0.0.3",
                 "Cookie": cookie})
    try:
        urllib.request.urlopen(req, timeout=60)
        raise AssertionError("a wrong password was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 403
    log = (webui_dir / "webui.log").read_text()
    assert log.count("login failed from 127.0.0.2") == 5, log
    assert "login refused from 127.0.0.2: too many failures" in log, log
    assert "login from 127.0.0.3" in log and \
        "admin password set from 127.0.0.3" in log, log
    assert "login failed from 127.0.0.1" in log, log
    assert "127.0.0.9" not in log and "failed from 127.0.0.3" not in log, log
