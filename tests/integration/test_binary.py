"""The multi-call binary itself: static build, dispatch, help, version."""
import subprocess

from conftest import MAILGW, run


def test_static_musl_binary(mailgw):
    out = subprocess.run(["file", "-b", str(mailgw)], capture_output=True,
                         text=True, check=True).stdout
    assert "statically linked" in out
    assert "stripped" in out and "not stripped" not in out
    # A static binary has no interpreter and no dynamic section.
    ld = run(["ldd", mailgw])
    assert "not a dynamic executable" in (ld.out + ld.err)


def test_version(mailgw):
    r = run([mailgw, "--version"])
    assert r.rc == 0
    assert r.out.startswith("mailgw ")


def test_help_lists_commands(mailgw):
    r = run([mailgw, "help"])
    assert r.rc == 0
    for name in ("postconf", "postmap", "postalias", "newaliases", "help"):
        assert f"  {name} " in r.out


def test_unknown_command_exits_2(mailgw):
    r = run([mailgw, "frobnicate"])
    assert r.rc == 2
    assert "unknown command 'frobnicate'" in r.err
    assert "mailgw help" in r.err


def test_no_command_prints_usage_and_exits_2(mailgw):
    r = run([mailgw])
    assert r.rc == 2
    assert "usage:" in r.out


def test_symlink_dispatch_equals_subcommand(mailgw, cmd, confdir):
    (confdir / "main.cf").write_text("myhostname = a.example\n")
    via_link = cmd("postconf", "-c", confdir, "-n")
    via_arg = run([MAILGW, "postconf", "-c", confdir, "-n"])
    assert via_link.rc == via_arg.rc == 0
    assert via_link.out == via_arg.out
    assert "myhostname = a.example" in via_link.out


def test_symlink_under_unknown_name_falls_back_to_argv1(tmp_path, mailgw):
    link = tmp_path / "gw"
    link.symlink_to(mailgw)
    r = run([link, "--version"])
    assert r.rc == 0 and r.out.startswith("mailgw ")
