"""postconf as a user runs it, checked against the real Postfix 3.7.

The reference is Debian's /usr/sbin/postconf at compatibility_level 3.6:
defaults must match it except for the differences listed (and explained)
in EXCEPTIONS; -n, -M and -e/-X must produce what Postfix produces on the
same files.
"""
import os
import re
import shutil

import pytest

from conftest import MAILGW, REAL_POSTCONF, TOP, run

DEBIAN_MAIN_CF = "/usr/share/postfix/main.cf.debian"
DEBIAN_MASTER_CF = "/usr/share/postfix/master.cf.dist"
ETC_MASTER_CF = "/etc/postfix/master.cf"

# Parameters later features rely on: postconf -d must list every one.
REQUIRED = """
myhostname mydomain myorigin mydestination mynetworks mynetworks_style
inet_interfaces inet_protocols relayhost relay_domains transport_maps
alias_maps alias_database queue_directory command_directory daemon_directory
data_directory mail_owner setgid_group message_size_limit mailbox_size_limit
maillog_file syslog_name compatibility_level smtpd_banner
smtpd_client_restrictions smtpd_helo_restrictions smtpd_sender_restrictions
smtpd_relay_restrictions smtpd_recipient_restrictions smtpd_data_restrictions
smtpd_end_of_data_restrictions smtpd_delay_reject smtpd_helo_required
smtpd_timeout smtpd_recipient_limit smtpd_soft_error_limit
smtpd_hard_error_limit smtpd_error_sleep_time
smtpd_client_connection_count_limit smtpd_client_connection_rate_limit
smtpd_client_message_rate_limit smtpd_forbid_bare_newline
smtpd_sasl_auth_enable smtpd_sasl_type smtpd_sasl_path
smtpd_sasl_security_options header_checks body_checks body_checks_size_limit
content_filter smtpd_tls_security_level smtpd_tls_cert_file
smtpd_tls_key_file smtpd_tls_CAfile smtpd_tls_protocols smtpd_tls_ciphers
smtpd_tls_mandatory_protocols smtpd_tls_mandatory_ciphers smtpd_tls_loglevel
smtpd_tls_received_header smtpd_tls_session_cache_database
smtpd_tls_session_cache_timeout smtp_tls_security_level smtp_tls_cert_file
smtp_tls_key_file smtp_tls_CAfile smtp_tls_protocols smtp_tls_ciphers
smtp_tls_mandatory_protocols smtp_tls_mandatory_ciphers smtp_tls_loglevel
smtp_tls_session_cache_database smtp_tls_session_cache_timeout
postscreen_access_list postscreen_dnsbl_sites postscreen_dnsbl_threshold
postscreen_greet_action postscreen_pipelining_enable postscreen_cache_map
postscreen_cache_retention_time postscreen_cache_cleanup_interval
smtp_connect_timeout smtp_helo_timeout smtp_mail_timeout smtp_rcpt_timeout
smtp_data_init_timeout smtp_data_xfer_timeout smtp_data_done_timeout
smtp_quit_timeout smtp_mx_address_limit smtp_mx_session_limit
default_destination_concurrency_limit default_process_limit
minimal_backoff_time maximal_backoff_time queue_run_delay
maximal_queue_lifetime bounce_queue_lifetime delay_warning_time
notify_classes bounce_notice_recipient 2bounce_notice_recipient
double_bounce_sender recipient_delimiter smtputf8_enable
append_dot_mydomain disable_vrfy_command strict_rfc821_envelopes biff
local_recipient_maps virtual_alias_maps sender_canonical_maps
recipient_canonical_maps default_transport local_transport relay_transport
lmtp_connect_timeout lmtp_lhlo_timeout lmtp_tcp_port lmtp_tls_security_level
""".split()

# Where mailgw's default differs from Postfix's on purpose.
EXCEPTIONS = {
    # host-dependent: compared separately with Postfix's computed values
    "myhostname", "mydomain", "mynetworks",
    # per process
    "process_id", "process_name",
    # mailgw's own paths, user and names
    "config_directory", "queue_directory", "data_directory",
    "daemon_directory", "mail_owner", "mail_name", "mail_version",
    "sample_directory",
    # Debian's build puts docs there; the appliance ships none ("no")
    "readme_directory", "html_directory",
    # one log name, no multi-instance: "mailgw" not postfix/instance
    "syslog_name",
    # table types mailgw lacks: no nis: in alias_maps, no proxy: in
    # local_recipient_maps
    "alias_maps", "local_recipient_maps",
    # Postfix's built-in level is 0; mailgw has only the modern (3.6)
    "compatibility_level",
    # issue 6: the server's safe default is TLS 1.2 (BearSSL has no 1.3)
    "smtpd_tls_protocols", "smtpd_tls_mandatory_protocols",
}

MAP_TYPES = "btree cidr hash inline lmdb pcre regexp static texthash unix"

REFUSED = ["-x", "-P", "-F", "-a", "-A", "-l", "-t", "-T", "-b", "-p", "-f",
           "-H", "-E", "-#"]


def postfix_eval(value):
    """Postfix's compatibility and stress expressions at level 3.6 with no
    stress, as mailgw's table holds them."""
    comp = re.compile(r"\$\{\{\$compatibility_level\} <level \{([0-9.]+)\}"
                      r" \? \{([^{}]*)\} : \{([^{}]*)\}\}")

    def level(m):
        want = tuple(int(x) for x in m.group(1).split("."))
        return m.group(2) if (3, 6) < want else m.group(3)
    value = comp.sub(level, value)
    return re.sub(r"\$\{stress\?\{([^{}]*)\}:\{([^{}]*)\}\}",
                  lambda m: m.group(2), value)


def normalise(value):
    return [w for w in re.split(r"[\s,]+", value) if w]


def parse_lines(text):
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" =")
        out[name] = value.strip()
    return out


@pytest.fixture
def pfdir(postfix_confdir):
    """Postfix's config dir with Debian's master.cf (per-transport names)."""
    shutil.copy(DEBIAN_MASTER_CF, postfix_confdir / "master.cf")
    return postfix_confdir


def real(*args):
    r = run([REAL_POSTCONF, *args])
    assert r.rc == 0, r
    return r


def test_defaults_list_required(mailgw, confdir):
    r = run([mailgw, "postconf", "-c", confdir, "-d"])
    assert r.rc == 0, r
    names = parse_lines(r.out)
    missing = [n for n in REQUIRED if n not in names]
    assert not missing
    assert len(names) >= 150
    assert list(names) == sorted(names)


def test_defaults_equal_postfix(mailgw, confdir, pfdir):
    ours = parse_lines(run([mailgw, "postconf", "-c", confdir, "-d"]).out)
    theirs = parse_lines(real("-c", pfdir, "-d").out)
    shared = sorted(set(ours) & set(theirs) - EXCEPTIONS)
    assert len(shared) >= 150
    diffs = [(n, ours[n], postfix_eval(theirs[n])) for n in shared
             if normalise(ours[n]) != normalise(postfix_eval(theirs[n]))]
    assert not diffs, "\n".join(f"{n}: mailgw {a!r} postfix {b!r}"
                                for n, a, b in diffs)
    # Every exception is a real parameter of both (no stale entries).
    assert EXCEPTIONS <= set(ours)


def test_host_defaults_equal_postfix(mailgw, confdir, pfdir):
    for name in ("myhostname", "mydomain"):
        ours = run([mailgw, "postconf", "-c", confdir, "-dh", name])
        assert ours.out == real("-c", pfdir, "-dh", name).out
    # At level 3.6 Postfix's mynetworks_style is host.
    ours = run([mailgw, "postconf", "-c", confdir, "-h", "mynetworks"])
    assert ours.out == real("-c", pfdir, "-h", "mynetworks").out


def test_map_types(mailgw):
    r = run([mailgw, "postconf", "-m"])
    assert r.rc == 0
    assert sorted(r.out.split()) == MAP_TYPES.split()


def test_debian_main_cf_loads_with_warnings_only(mailgw, tmp_path):
    d = tmp_path / "debian"
    d.mkdir()
    shutil.copy(DEBIAN_MAIN_CF, d / "main.cf")
    shutil.copy(DEBIAN_MASTER_CF, d / "master.cf")
    ours = run([mailgw, "postconf", "-c", d, "-n"])
    assert ours.rc == 0, ours
    assert "error" not in ours.err and "fatal" not in ours.err
    assert ours.out == real("-c", d, "-n").out
    assert "smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)" \
        in ours.out
    assert f"config_directory = {d}" in ours.out


@pytest.mark.parametrize("master", [DEBIAN_MASTER_CF, ETC_MASTER_CF])
def test_master_services_as_postfix(mailgw, tmp_path, master):
    if not os.path.exists(master):
        pytest.skip(f"{master} is not installed")
    d = tmp_path / "m"
    d.mkdir()
    (d / "main.cf").write_text("compatibility_level = 3.6\n")
    shutil.copy(master, d / "master.cf")
    ours = run([mailgw, "postconf", "-c", d, "-M"])
    assert ours.rc == 0, ours
    assert ours.err == ""
    assert ours.out == real("-c", d, "-M").out
    one = run([mailgw, "postconf", "-c", d, "-M", "smtp/inet"])
    assert one.out.splitlines() == [ours.out.splitlines()[0]]


def test_master_errors_name_file_and_line(mailgw, confdir):
    (confdir / "master.cf").write_text(
        "smtp inet n - y - - smtpd\n# c\nbad foo n - y - - smtpd\n")
    r = run([mailgw, "postconf", "-c", confdir, "-M"])
    assert r.rc == 1
    assert f"{confdir}/master.cf, line 3: invalid type field \"foo\"" in r.err


def test_names_values_and_unknown(mailgw, confdir):
    (confdir / "main.cf").write_text(
        "myorigin = example.com\nrelayhost =   [mx.example]:587  \n")
    r = run([mailgw, "postconf", "-c", confdir, "myorigin", "relayhost",
             "no_such_parameter", "biff"])
    assert r.rc == 0
    assert r.out == ("myorigin = example.com\n"
                     "relayhost = [mx.example]:587\nbiff = yes\n")
    assert "postconf: warning: no_such_parameter: unknown parameter" in r.err
    h = run([mailgw, "postconf", "-c", confdir, "-h", "myorigin", "biff"])
    assert h.out == "example.com\nyes\n"
    d = run([mailgw, "postconf", "-c", confdir, "-d", "myorigin",
             "smtpd_reject_footer"])
    assert d.out == "myorigin = $myhostname\nsmtpd_reject_footer =\n"


def test_no_arguments_shows_effective_values(mailgw, confdir):
    (confdir / "main.cf").write_text("biff = no\nmy_list = a, b\n"
                                     "mydestination = $my_list\n")
    r = run([mailgw, "postconf", "-c", confdir])
    assert r.rc == 0, r
    values = parse_lines(r.out)
    assert list(values) == sorted(values)
    assert values["biff"] == "no"
    assert values["mydestination"] == "$my_list"
    assert values["my_list"] == "a, b"         # user-defined and used
    assert values["smtputf8_enable"] == "yes"


def test_nondefault_and_unused_warning(mailgw, confdir, pfdir):
    text = ("compatibility_level = 3.6\nfoo = bar\nbaz = $foo\nqux=1\n"
            "myorigin = a   b\t c\n")
    (confdir / "main.cf").write_text(text)
    (pfdir / "main.cf").write_text(text)
    ours = run([mailgw, "postconf", "-c", confdir, "-n"])
    theirs = real("-c", pfdir, "-n")
    assert ours.rc == 0
    assert ours.out.replace(str(confdir), "DIR") == \
        theirs.out.replace(str(pfdir), "DIR")
    assert f"{confdir}/main.cf, line 3: unused parameter: baz=$foo" in ours.err
    assert f"{confdir}/main.cf, line 4: unused parameter: qux=1" in ours.err
    assert "foo=bar" not in ours.err


def test_errors_name_file_line_parameter(mailgw, confdir):
    (confdir / "main.cf").write_text(
        "# header\nbiff = maybe\nsmtpd_timeout = 10x\n"
        "a = $b\nb = $a\nmyorigin = $a\nmessage_size_limit = -1\n")
    r = run([mailgw, "postconf", "-c", confdir, "-n"])
    assert r.rc == 1
    f = f"{confdir}/main.cf"
    assert f"{f}, line 2: biff: bad value \"maybe\": expected yes or no" \
        in r.err
    assert f"{f}, line 3: smtpd_timeout: bad value \"10x\"" in r.err
    assert f"{f}, line 6: myorigin: parameter expansion loop" in r.err
    assert f"{f}, line 7: message_size_limit: bad value \"-1\"" in r.err
    (confdir / "main.cf").write_text("ok = 1\nnot a parameter line\n")
    r = run([mailgw, "postconf", "-c", confdir])
    assert r.rc == 1
    assert (f"{f}, line 2: missing '=' after attribute name: \"not\""
            in r.err)


def edit_both(mailgw, confdir, pfdir, text, *args):
    (confdir / "main.cf").write_text(text)
    (pfdir / "main.cf").write_text(text)
    ours = run([mailgw, "postconf", "-c", confdir, *args])
    assert ours.rc == 0, ours
    real("-c", pfdir, *args)
    return (confdir / "main.cf").read_text(), (pfdir / "main.cf").read_text()


def test_edit_and_remove_as_postfix(mailgw, confdir, pfdir):
    text = ("compatibility_level = 3.6\n# keep this comment\n"
            "myorigin = a,\n   b\n# mid\n  c\n\n  d\nmyorigin = second\n"
            "relayhost = x\n# end\n")
    ours, theirs = edit_both(mailgw, confdir, pfdir, text, "-e",
                             "myorigin = new", "mydomain=example.com",
                             "relayhost= [x]:25 ")
    assert ours == theirs
    assert "# keep this comment\n" in ours and "# mid\n" in ours
    assert ours.endswith("# end\nmydomain = example.com\n")
    ours, theirs = edit_both(mailgw, confdir, pfdir, ours, "-X",
                             "relayhost", "not_there")
    assert ours == theirs
    assert "relayhost" not in ours
    r = run([mailgw, "postconf", "-c", confdir, "-h", "mydomain"])
    assert r.out == "example.com\n"


def test_edit_is_atomic_and_keeps_mode(mailgw, confdir):
    cf = confdir / "main.cf"
    cf.write_text("# c\nbiff = no\n")
    cf.chmod(0o640)
    r = run([mailgw, "postconf", "-c", confdir, "-e", "biff = yes"])
    assert r.rc == 0, r
    assert cf.read_text() == "# c\nbiff = yes\n"
    assert (cf.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in confdir.iterdir()) == \
        ["main.cf", "master.cf"]


def test_edit_refuses_bad_values(mailgw, confdir):
    cf = confdir / "main.cf"
    cf.write_text("# c\nbiff = no\n")
    r = run([mailgw, "postconf", "-c", confdir, "-e", "biff = maybe"])
    assert r.rc == 1
    assert f"{cf}, line 2: biff: bad value \"maybe\"" in r.err
    assert f"not changing {cf}" in r.err
    assert cf.read_text() == "# c\nbiff = no\n"
    r = run([mailgw, "postconf", "-c", confdir, "-e", "no equals sign"])
    assert r.rc == 1
    assert "name=value" in r.err


@pytest.mark.parametrize("opt", REFUSED)
def test_refused_options(mailgw, confdir, opt):
    r = run([mailgw, "postconf", "-c", confdir, opt])
    assert r.rc == 1
    assert f"option {opt} is not supported by mailgw" in r.err


def test_usage_errors(mailgw, confdir):
    for args in (["-d", "-n"], ["-e"], ["-Z"]):
        r = run([mailgw, "postconf", "-c", confdir, *args])
        assert r.rc == 1
        assert "usage: postconf" in r.err


def test_symlink_dispatch(cmd, confdir):
    (confdir / "main.cf").write_text("myorigin = link.example\n")
    via_link = cmd("postconf", "-c", confdir, "-n", "-h", "myorigin")
    via_arg = run([MAILGW, "postconf", "-c", confdir, "-n", "-h",
                   "myorigin"])
    assert via_link.rc == via_arg.rc == 0
    assert via_link.out == via_arg.out == "link.example\n"
    names = ["-d", "myorigin", "biff", "process_name"]
    assert cmd("postconf", *names).out == run([MAILGW, "postconf", *names]).out
    assert "process_name = postconf\n" in cmd("postconf", *names).out


def test_mail_config_environment(mailgw, confdir):
    (confdir / "main.cf").write_text("myorigin = env.example\n")
    env = dict(os.environ, MAIL_CONFIG=str(confdir))
    r = run([mailgw, "postconf", "-h", "myorigin"], env=env)
    assert r.out == "env.example\n"


def test_parameter_docs_are_current(mailgw):
    r = run([mailgw, "postconf-doc"])
    assert r.rc == 0
    doc = TOP / "docs" / "parameters.md"
    assert r.out == doc.read_text(), \
        "regenerate: build/mailgw postconf-doc > docs/parameters.md"
    for name in REQUIRED:
        assert f"| `{name}` |" in r.out



def test_edit_keeps_mode_under_strict_umask(cmd, confdir):
    """-e replaces main.cf with the old mode, whatever the umask, and leaves
    no temp file behind."""
    main_cf = confdir / "main.cf"
    main_cf.write_text("# keep me\nmyhostname = a.example\n")
    main_cf.chmod(0o644)
    old = os.umask(0o077)
    try:
        r = cmd("postconf", "-c", confdir, "-e", "myhostname = b.example")
    finally:
        os.umask(old)
    assert r.rc == 0, r
    assert (main_cf.stat().st_mode & 0o7777) == 0o644
    assert main_cf.read_text() == "# keep me\nmyhostname = b.example\n"
    assert sorted(p.name for p in confdir.iterdir()) == ["main.cf", "master.cf"]


def postconf_at_once(mailgw, confdir, opt, args):
    """Start one postconf OPT ARG per argument together; all must succeed."""
    import subprocess
    procs = [subprocess.Popen(
        [str(mailgw), "postconf", "-c", str(confdir), opt, a],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE) for a in args]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err


def test_concurrent_edits_are_serialised(mailgw, confdir):
    """Many postconf -e at once, each setting its own parameter: every edit
    survives (editors lock main.cf.tmp around read-edit-rename, as Postfix's
    edit_file protocol does), and no temp file is left behind."""
    main_cf = confdir / "main.cf"
    main_cf.write_text("# head\nbiff = no\n")
    n = 40
    postconf_at_once(mailgw, confdir, "-e",
                     [f"user_param_{i} = value{i}" for i in range(n)])
    text = main_cf.read_text()
    assert text.startswith("# head\nbiff = no\n")
    for i in range(n):
        assert f"user_param_{i} = value{i}\n" in text, (i, text)
    assert len(text.splitlines()) == n + 2
    postconf_at_once(mailgw, confdir, "-X",
                     [f"user_param_{i}" for i in range(n)])
    assert main_cf.read_text() == "# head\nbiff = no\n"
    assert sorted(p.name for p in confdir.iterdir()) == \
        ["main.cf", "master.cf"]


def test_edit_ignores_planted_temp_file(mailgw, confdir, tmp_path):
    """A symlink or a group-readable file under main.cf.tmp is removed, never
    written through; a file a crash left behind is reused."""
    main_cf = confdir / "main.cf"
    tmp = confdir / "main.cf.tmp"
    target = tmp_path / "target"
    target.write_text("untouched\n")
    main_cf.write_text("biff = no\n")
    tmp.symlink_to(target)
    r = run([mailgw, "postconf", "-c", confdir, "-e", "biff = yes"])
    assert r.rc == 0, r
    assert target.read_text() == "untouched\n"
    assert main_cf.read_text() == "biff = yes\n"
    tmp.write_text("junk from elsewhere\n")
    tmp.chmod(0o644)
    r = run([mailgw, "postconf", "-c", confdir, "-e", "biff = no"])
    assert r.rc == 0, r
    assert main_cf.read_text() == "biff = no\n"
    assert not tmp.exists()


def test_duplicate_entries_as_postfix(mailgw, confdir, pfdir):
    """A name set on several lines: -e replaces each line, -X removes each,
    and both warn as Postfix does; a name given twice keeps the last."""
    text = "a_param = 1\nb_param = 2\na_param = 3\n  cont\n# c\n"
    for args in (["-e", "a_param = x", "a_param = y", "c_param = 1"],
                 ["-X", "a_param"]):
        (confdir / "main.cf").write_text(text)
        (pfdir / "main.cf").write_text(text)
        ours = run([mailgw, "postconf", "-c", confdir, *args])
        theirs = real("-c", pfdir, *args)
        assert ours.rc == theirs.rc == 0, (ours, theirs)
        assert (confdir / "main.cf").read_text() == \
            (pfdir / "main.cf").read_text()
        for line in theirs.err.splitlines():
            warning = line.split(" warning: ", 1)[1]
            assert warning.replace(str(pfdir), str(confdir)) in ours.err, \
                (line, ours.err)
    assert "multiple entries for \"a_param\"" in ours.err
