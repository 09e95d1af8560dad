"""Boot tests of the board images under software emulation (qemu TCG):
x86_64 with SeaBIOS (legacy BIOS through GRUB's boot.img/core.img) and
with OVMF (UEFI), aarch64 `-M virt` with UEFI firmware. Each test seeds a
copy of the image's data partition with settings.cf (tools/image/
seed-data, no loop mount), boots it with `-netdev user,restrict=on` (the
guest reaches nothing but the forwards), waits for the SMTP banner on a
host port forward, and sends a message through the appliance to an
smtp-sink on the host's loopback (guestfwd 10.0.2.100:25), then opens
the web UI's first-run page over HTTPS (port 443 forward) and sets the
admin password with the setup token mailgw printed on the console. The time from
qemu's start to the banner goes to build/image/boot-times.json.

Needs `make image` (make test-image runs both)."""
import http.client
import json
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import IMAGE, TOP, need, peers

GUEST_SINK = "10.0.2.100"
BOOT_TIMEOUT = float(os.environ.get("MAILGW_BOOT_TIMEOUT", "420"))

BOARDS = {
    "x86_64-seabios": ("x86_64", [
        "qemu-system-x86_64", "-M", "pc", "-m", "512", "-vga", "none",
        "-drive", "file={img},format=raw,if=virtio",
        "-device", "virtio-net-pci,netdev=n0,romfile="]),
    "x86_64-ovmf": ("x86_64", [
        "qemu-system-x86_64", "-M", "pc", "-m", "512", "-vga", "none",
        "-drive", "if=pflash,format=raw,readonly=on,"
                  "file=/usr/share/OVMF/OVMF_CODE_4M.fd",
        "-drive", "if=pflash,format=raw,file={vars}",
        "-drive", "file={img},format=raw,if=virtio",
        "-device", "virtio-net-pci,netdev=n0,romfile="]),
    "aarch64-uefi": ("aarch64", [
        "qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57",
        "-m", "512", "-bios", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
        "-drive", "file={img},format=raw,if=none,id=d0",
        "-device", "virtio-blk-pci,drive=d0",
        "-device", "virtio-net-pci,netdev=n0,romfile="]),
}


def banner(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.settimeout(3)
            return s.recv(512).startswith(b"220 ")
    except OSError:
        return False


def record(name, seconds):
    path = IMAGE / "boot-times.json"
    try:
        times = json.loads(path.read_text())
    except (OSError, ValueError):
        times = {}
    times[name] = round(seconds, 1)
    path.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")


def setup_with_token(wport, token):
    """POST the first-run form over HTTPS; the status."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def req(method, body=None, cookie=None):
        c = http.client.HTTPSConnection("127.0.0.1", wport, timeout=60,
                                        context=ctx)
        h = {"Host": f"127.0.0.1:{wport}"}
        if cookie:
            h["Cookie"] = cookie
        if body:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, "/cgi-bin/webui.cgi/setup", body=body, headers=h)
        r = c.getresponse()
        return r.status, r.getheaders(), r.read().decode("utf-8", "replace")
    status, headers, page = req("GET")
    if status == 303:
        return status
    pre = "; ".join(v.split(";")[0] for k, v in headers
                    if k.lower() == "set-cookie")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    pw = "correct+horse+battery"
    status, _, page = req("POST", f"csrf={csrf}&token={token}&password={pw}"
                          f"&confirm={pw}", pre)
    return status


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_boot_relays(board, tmp_path, sink):
    arch, argv = BOARDS[board]
    img = tmp_path / "disk.img"
    subprocess.run(["cp", "--sparse=always", need(f"mailgw-{arch}.img"), img],
                   check=True)
    settings = tmp_path / "settings.cf"
    settings.write_text("hostname = gw.example.test\n"
                        "domains = example.test\n"
                        f"smarthost_host = {GUEST_SINK}\n"
                        "smarthost_port = 25\n")
    subprocess.run([TOP / "tools/image/seed-data", img, settings], check=True,
                   capture_output=True)
    vars_fd = tmp_path / "vars.fd"
    shutil.copy("/usr/share/OVMF/OVMF_VARS_4M.fd", vars_fd)
    port = peers.free_port()
    wport = peers.free_port()
    net = (f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:25,"
           f"hostfwd=tcp:127.0.0.1:{wport}-:443,"
           f"guestfwd=tcp:{GUEST_SINK}:25-cmd:busybox nc 127.0.0.1 "
           f"{sink.port}")
    serial = tmp_path / "serial.log"
    cmd = [a.format(img=img, vars=vars_fd) for a in argv] + [
        "-accel", "tcg", "-nographic", "-no-reboot",
        "-monitor", f"unix:{tmp_path / 'monitor'},server=on,wait=off",
        "-netdev", net, "-serial", f"file:{serial}"]
    start = time.monotonic()
    qemu = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "qemu.err", "wb"))
    try:
        def up():
            assert qemu.poll() is None, \
                serial.read_text(errors="replace")[-3000:]
            return banner(port)
        try:
            peers.wait_until(up, BOOT_TIMEOUT, f"{board}: SMTP banner",
                             interval=1)
        except AssertionError:
            raise AssertionError(serial.read_text(errors="replace")[-3000:])
        seconds = time.monotonic() - start
        record(board, seconds)
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            code, ehlo = s.ehlo("client.test")
            assert code == 250 and b"gw.example.test" in ehlo
            s.sendmail("sender@outside.test", ["user@example.test"],
                       b"Subject: through the board\r\n"
                       b"Message-ID: <" + board.encode() +
                       b"@outside.test>\r\n\r\nhello\r\n")
        msgs = sink.wait_count(1, timeout=120)
        assert msgs[0].recipients == ["user@example.test"]
        assert msgs[0].header("Message-ID") == f"<{board}@outside.test>"
        log = serial.read_text(errors="replace")
        assert "daemon started" in log
        # The web UI over HTTPS: no admin password yet, so the first-run
        # page (the appliance's self-signed certificate).
        def setup_page():
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            try:
                c = http.client.HTTPSConnection("127.0.0.1", wport,
                                                timeout=30, context=ctx)
                c.request("GET", "/cgi-bin/webui.cgi/setup")
                r = c.getresponse()
                return r.status == 200 and b"First-run setup" in r.read()
            except OSError:
                return False
        peers.wait_until(setup_page, 120, f"{board}: web UI over HTTPS",
                         interval=2)
        # The first-run page wants the setup token mailgw printed on the
        # console: a wrong one is refused, the printed one sets the
        # password.
        m = re.search(r"web UI setup token: ([0-9a-f]{32})",
                      serial.read_text(errors="replace"))
        assert m, serial.read_text(errors="replace")[-3000:]
        assert setup_with_token(wport, "0" * 32) == 400
        assert setup_with_token(wport, m.group(1)) == 303
        assert setup_with_token(wport, m.group(1)) == 303  # now: /login
        # The power button: acpid -> poweroff -> rcK stops mailgw
        # gracefully and unmounts /data; qemu exits (-no-reboot).
        with socket.socket(socket.AF_UNIX) as m:
            m.connect(str(tmp_path / "monitor"))
            m.sendall(b"system_powerdown\n")
            time.sleep(1)
        qemu.wait(timeout=180)
        log = serial.read_text(errors="replace")
        assert "rcK: stopping the mail system" in log and "rcK: done" in log, \
            log[-3000:]
        print(f"{board}: banner after {seconds:.1f} s")
    finally:
        peers.kill_pid(qemu.pid)
        qemu.wait(timeout=30)


def test_oci_index_carries_both_architectures():
    oci = need("oci")
    arches = {}
    for arch in ("amd64", "arm64"):
        out = subprocess.run(
            ["skopeo", "--override-arch", arch, "inspect", f"oci:{oci}:latest"],
            check=True, capture_output=True, text=True, timeout=60).stdout
        arches[arch] = json.loads(out)["Architecture"]
    assert arches == {"amd64": "amd64", "arm64": "arm64"}
