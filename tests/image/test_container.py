"""The OCI image: built by the project's scripts, validated with skopeo and
umoci, reproducible, and run for real with runc in a network namespace the
test creates (a veth pair to the host side): a message sent to the
container's port 25 arrives at an smtp-sink on the host side.

Needs root (runc, ip netns) and `make image-oci` (make test does it)."""
import hashlib
import http.client
import json
import re
import ssl
import os
import pathlib
import shutil
import smtplib
import subprocess
import tarfile
import time
import uuid

import pytest

from conftest import IMAGE, TOP, HostSink, need, peers

# Docker's default capability set: what a user of `docker run` gives us.
DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
               "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
               "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
               "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def sh(*argv, check=True, **kw):
    return subprocess.run([str(a) for a in argv], check=check,
                          capture_output=True, text=True, timeout=120, **kw)


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def layout_json(layout, digest):
    return json.loads((layout / "blobs" / "sha256" / digest[7:]).read_bytes())


def test_oci_layout_skopeo_umoci():
    oci = need("oci")
    out = json.loads(sh("skopeo", "inspect", f"oci:{oci}:latest-amd64").stdout)
    assert out["Architecture"] == "amd64" and out["Os"] == "linux"
    raw = json.loads(sh("skopeo", "inspect", "--config",
                        f"oci:{oci}:latest-amd64").stdout)
    cfg = raw["config"]
    assert cfg["Entrypoint"] == ["/sbin/mailgw-container"]
    assert set(cfg["ExposedPorts"]) == {"25/tcp", "465/tcp", "587/tcp",
                                        "443/tcp"}
    assert set(cfg["Volumes"]) == {"/data"}
    assert raw["created"] == "1970-01-01T00:00:00Z"
    # The top tag is an index over every platform built.
    index = json.loads((oci / "index.json").read_bytes())
    top = [m for m in index["manifests"] if
           m["annotations"]["org.opencontainers.image.ref.name"] == "latest"]
    assert top and top[0]["mediaType"].endswith("image.index.v1+json")
    platforms = [m["platform"]["architecture"]
                 for m in layout_json(oci, top[0]["digest"])["manifests"]]
    assert "amd64" in platforms
    stat = sh("umoci", "stat", "--image", f"{oci}:latest-amd64").stdout
    assert "tools/image/mkoci" in stat


def test_oci_corrupt_blob_rejected(tmp_path):
    oci = tmp_path / "oci"
    shutil.copytree(need("oci"), oci)
    index = json.loads((oci / "index.json").read_bytes())
    m = [d for d in index["manifests"] if d.get("platform")][0]
    layer = layout_json(oci, m["digest"])["layers"][0]["digest"]
    blob = oci / "blobs" / "sha256" / layer[7:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    r = sh("skopeo", "copy", f"oci:{oci}:latest-amd64",
           f"dir:{tmp_path / 'copy'}", check=False)
    assert r.returncode != 0 and "digest" in (r.stderr + r.stdout).lower()
    r = sh("umoci", "unpack", "--image", f"{oci}:latest-amd64",
           tmp_path / "bundle", check=False)
    assert r.returncode != 0


def test_oci_archive_is_the_layout():
    archive = need("mailgw-oci.tar")
    with tarfile.open(archive) as t:
        names = t.getnames()
        members = t.getmembers()
    for n in ("./oci-layout", "./index.json", "./manifest.json"):
        assert n in names
    assert names == sorted(names)
    assert all(m.uid == 0 and m.gid == 0 and m.mtime == 0 for m in members)
    # What podman load reads: the archive as an OCI archive.
    out = json.loads(sh("skopeo", "inspect",
                        f"oci-archive:{archive}:latest-amd64").stdout)
    assert out["Architecture"] == "amd64"


def test_reproducible(tmp_path):
    """Same inputs, same bytes: the rootfs tar rebuilt from the same binary
    and skeleton, and the OCI layout rebuilt from that tar."""
    rootfs = need("x86_64/rootfs.tar")
    mailgw = need("x86_64/rootfs/usr/sbin/mailgw")
    sh(TOP / "tools/image/mkrootfs", "x86_64", mailgw, tmp_path / "x86_64")
    assert sha256(tmp_path / "x86_64/rootfs.tar") == sha256(rootfs)
    version = (TOP / "VERSION").read_text().strip()
    sh(TOP / "tools/image/mkoci", "--out", tmp_path / "oci", "--archive",
       tmp_path / "oci.tar", "--version", version,
       f"x86_64={tmp_path / 'x86_64/rootfs.tar'}")
    sh(TOP / "tools/image/mkoci", "--out", tmp_path / "oci2", "--archive",
       tmp_path / "oci2.tar", "--version", version,
       f"x86_64={rootfs}")
    assert (tmp_path / "oci/index.json").read_bytes() == \
        (tmp_path / "oci2/index.json").read_bytes()
    assert sha256(tmp_path / "oci.tar") == sha256(tmp_path / "oci2.tar")


class Netns:
    """A network namespace with a veth pair: host side HOST/30 in the
    root namespace, container side PEER/30 inside."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.name = f"mailgw-img-{tag}"
        self.host_if = f"mgh{tag}"
        n = int(tag[:2], 16)
        self.host = f"10.231.{n}.1"
        self.peer = f"10.231.{n}.2"

    def __enter__(self):
        sh("ip", "netns", "add", self.name)
        try:
            sh("ip", "link", "add", self.host_if, "type", "veth", "peer",
               "name", "eth0", "netns", self.name)
            sh("ip", "addr", "add", f"{self.host}/30", "dev", self.host_if)
            sh("ip", "link", "set", self.host_if, "up")
            ns = ("ip", "-n", self.name)
            sh(*ns, "addr", "add", f"{self.peer}/30", "dev", "eth0")
            sh(*ns, "link", "set", "eth0", "up")
            sh(*ns, "link", "set", "lo", "up")
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        sh("ip", "link", "del", self.host_if, check=False)
        sh("ip", "netns", "del", self.name, check=False)

    @property
    def path(self):
        return f"/run/netns/{self.name}"


def bundle(tmp_path, netns, env):
    b = tmp_path / "bundle"
    sh("umoci", "unpack", "--image", f"{need('oci')}:latest-amd64", b)
    cfgp = b / "config.json"
    cfg = json.loads(cfgp.read_text())
    p = cfg["process"]
    p["terminal"] = False
    p["env"] += [f"{k}={v}" for k, v in env.items()]
    for k in ("bounding", "effective", "permitted"):
        p["capabilities"][k] = DOCKER_CAPS
    p["capabilities"]["inheritable"] = []
    p["capabilities"]["ambient"] = []
    # As `docker run --read-only -v DATA:/data --tmpfs /tmp --tmpfs /run`.
    cfg["root"]["readonly"] = True
    data = tmp_path / "data"
    data.mkdir()
    mounts = [m for m in cfg["mounts"] if m["destination"] != "/data"]
    mounts += [
        {"destination": "/data", "type": "bind", "source": str(data),
         "options": ["rbind", "rw"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=1777"]},
        {"destination": "/run", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "mode=755"]},
    ]
    cfg["mounts"] = mounts
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = netns.path
    cfgp.write_text(json.dumps(cfg, indent=1))
    return b, data


def https(host, method, path, body=None, cookie=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE   # the appliance's self-signed cert
    c = http.client.HTTPSConnection(host, 443, timeout=30, context=ctx)
    headers = {"Host": host}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    return r.status, r.getheaders(), r.read().decode("utf-8", "replace")


def webui_login(host, password):
    def up():
        try:
            return https(host, "GET", "/")[0] == 200
        except OSError:
            return False
    peers.wait_until(up, 60, "the web UI over HTTPS", interval=0.5)
    status, headers, page = https(host, "GET", "/cgi-bin/webui.cgi/login")
    assert status == 200 and "password" in page, page
    pre = [v.split(";")[0] for k, v in headers if k.lower() == "set-cookie"]
    tok = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    from urllib.parse import quote
    status, headers, page = https(
        host, "POST", "/cgi-bin/webui.cgi/login",
        body=f"csrf={tok}&password={quote(password)}", cookie="; ".join(pre))
    assert status in (302, 303), (status, page)
    status, headers, page = https(host, "POST", "/cgi-bin/webui.cgi/login",
                                  body=f"csrf={tok}&password=wrong-password",
                                  cookie="; ".join(pre))
    assert status not in (302, 303), (status, page)


def test_container_relays_to_host(tmp_path):
    with Netns() as net:
        sink = HostSink(net.host, port=2526).start()
        name = f"mailgw-test-{uuid.uuid4().hex[:8]}"
        env = {"MAILGW_HOSTNAME": "gw.example.test",
               "MAILGW_DOMAINS": "example.test,example.org",
               "MAILGW_RELAYHOST": f"{net.host}:2526",
               "MAILGW_MYNETWORKS": "192.0.2.0/24",
               "MAILGW_ADMIN_PASSWORD": "correct horse battery"}
        b, data = bundle(tmp_path, net, env)
        log = tmp_path / "container.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(["runc", "run", "-b", str(b), name],
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        try:
            def banner():
                try:
                    with smtplib.SMTP(net.peer, 25, timeout=5) as s:
                        return s.noop()[0] == 250
                except OSError:
                    assert proc.poll() is None, log.read_text()
                    return False
            peers.wait_until(banner, 60, "the container's SMTP banner",
                             interval=0.3)
            with smtplib.SMTP(net.peer, 25, timeout=30) as s:
                code, ehlo = s.ehlo("client.test")
                assert code == 250 and b"gw.example.test" in ehlo
                s.sendmail("sender@outside.test", ["user@example.test"],
                           b"Subject: through the container\r\n"
                           b"Message-ID: <img-1@outside.test>\r\n\r\nhello\r\n")
                # Not an open relay: a foreign domain is refused.
                with pytest.raises(smtplib.SMTPRecipientsRefused):
                    s.sendmail("sender@outside.test", ["x@elsewhere.test"],
                               b"Subject: no\r\n\r\nno\r\n")
            # The default master.cf also listens on 587 (submission:
            # STARTTLS, then AUTH) and 465 (submissions: TLS at connect).
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE   # the self-signed certificate
            with smtplib.SMTP(net.peer, 587, timeout=30) as s:
                s.ehlo("client.test")
                assert s.has_extn("starttls") and not s.has_extn("auth")
                s.starttls(context=ctx)
                s.ehlo("client.test")
                assert "PLAIN" in s.esmtp_features.get("auth", "")
            with smtplib.SMTP_SSL(net.peer, 465, timeout=30, context=ctx) as s:
                s.ehlo("client.test")
                assert "PLAIN" in s.esmtp_features.get("auth", "")
                with pytest.raises(smtplib.SMTPRecipientsRefused):
                    s.sendmail("sender@outside.test", ["user@example.test"],
                               b"Subject: no login\r\n\r\nno\r\n")
            msgs = sink.wait_count(1, timeout=60)
            assert msgs[0].recipients == ["user@example.test"]
            assert msgs[0].header("Message-ID") == "<img-1@outside.test>"
            assert msgs[0].client_addr == net.peer
            # First run wrote the settings from the environment into /data.
            settings = (data / "etc/mailgw/settings.cf").read_text()
            assert "domains = example.test, example.org" in settings
            assert "smarthost_port = 2526" in settings
            assert "192.0.2.0/24" in settings
            main_cf = (data / "etc/mailgw/main.cf").read_text()
            assert f"relay_transport = relay:[{net.host}]:2526" in main_cf
            assert (data / "var/spool/mailgw/active").is_dir()
            # Logs go to stdout.
            peers.wait_until(lambda: "status=sent" in log.read_text(), 30,
                             "the delivery log line on stdout")
            # The web UI answers over HTTPS on 443, and the admin password
            # from the environment logs in.
            assert "admin password set from MAILGW_ADMIN_PASSWORD" in \
                log.read_text()
            # ... so no setup token is made.
            assert "setup token" not in log.read_text()
            webui_login(net.peer, "correct horse battery")
        finally:
            sh("runc", "kill", name, "TERM", check=False)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                sh("runc", "kill", name, "KILL", check=False)
                proc.wait(timeout=10)
            sh("runc", "delete", "-f", name, check=False)
            sink.stop()
        text = log.read_text()
        assert "terminating on signal 15" in text, text
        assert proc.returncode == 0, text
