"""Local delivery through the whole gateway (issue 4): a recipient in
mydestination goes through alias_maps to an mbox file in
mail_spool_directory, in Postfix's mailbox format."""
import os
import pwd
import re

from peers import SmtpConn


def test_alias_to_mbox(gateway):
    gw = gateway()
    spool = gw.dir / "mail"
    spool.mkdir()
    pw = pwd.getpwnam("mailgw")
    os.chown(spool, pw.pw_uid, pw.pw_gid)
    (gw.dir / "team.inc").write_text("# the team\nmailgw\n")
    (gw.dir / "aliases").write_text(
        f"postmaster team\nteam :include:{gw.dir}/team.inc\n")
    gw.set(mydestination="$myhostname", mail_spool_directory=str(spool),
           alias_maps=f"texthash:{gw.dir}/aliases")
    gw.start()
    c = SmtpConn(gw.port)
    body = (b"From: <a@src.test>\r\nSubject: to the postmaster\r\n"
            b"Message-ID: <local1@src.test>\r\n\r\n"
            b"From the start of a line\r\nlast line\r\n")
    code, text = c.send("a@src.test", ["postmaster@mx.test.example"], body)
    c.quit()
    assert code == 250, text
    gw.wait_log(r"mailgw/local\[\d+\]: \w+: to=<postmaster@mx\.test\.example>, "
                r"relay=local, .*status=sent \(delivered to mailbox\)")
    gw.wait_queue_empty()
    box = (spool / "mailgw").read_bytes()
    assert re.match(rb"From a@src\.test  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d "
                    rb"\d{4}\n", box), box[:80]
    assert b"\nReturn-Path: <a@src.test>\n" in box
    assert b"\nDelivered-To: postmaster@mx.test.example\n" in box
    assert b"\n>From the start of a line\nlast line\n\n" in box
    assert b"\r" not in box
