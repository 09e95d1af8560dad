"""postmap, postalias and newaliases against the real Postfix tools.

For the same table files and the same keys, `mailgw postmap -q` must print
what Postfix's postmap prints and exit with the same status; warnings about
bad table input must name the same file and line in the same words. lmdb
tables are built by each tool's own postmap from the same source.
"""
import os
import shutil

import pytest

from conftest import REAL_POSTMAP, run

REAL_POSTALIAS = "/usr/sbin/postalias"


@pytest.fixture
def real(postfix_confdir):
    """real('postmap', args...) runs Postfix's tool with -c postfix_confdir."""
    def _run(name, *args, **kw):
        tool = REAL_POSTMAP if name == "postmap" else REAL_POSTALIAS
        return run([tool, "-c", postfix_confdir, *args], **kw)
    return _run


@pytest.fixture
def ours(cmd, confdir):
    def _run(name, *args, **kw):
        return cmd(name, "-c", confdir, *args, **kw)
    return _run


def same(a, b, what):
    assert (a.rc, a.out) == (b.rc, b.out), \
        f"{what}: postfix {a!r} mailgw {b!r}"


PATTERN_TABLES = {
    "pcre": (
        "/^(a)(b)?c$/ got $1-$2-${1}x$$\n"
        "if /^x/\n/y/ inside\nendif\n"
        "!/foo/ notfoo\n"
        "/^(.*)@example\\.com$/ local $1\n"
        "/(a+)/U [$1]\n",
        ["abc", "ABC", "ac", "xy", "xfoo", "zz", "Joe@Example.COM",
         "foo", "aaa"]),
    "pcre-flags": (
        "/abc/i x\n/b/A anchored\n/a b/x ext\n|a/b| delim\n"
        "if !/^q/\n/z$/ notq\nendif\n/q/ q\n",
        ["abc", "ABC", "ab", "b", "a/b", "quiz", "fizz", "q"]),
    "regexp": (
        "/^(a)(b)?c$/ got $1-$2-${1}x$$\n"
        "if /^x/\nif /y/\n/z/ xyz\nendif\n/w/ xw\nendif\n"
        "!/foo/ notfoo\n"
        "/^(.*)@example\\.com$/ local $1\n",
        ["abc", "AC", "xyz", "xw", "xyw", "foo", "bar",
         "joe@example.com"]),
    "regexp-posix": (
        "/[\\.]x/ bracket\n/a{,2}b/ interval\n/(a|ab)(c|bcd)/ [$1][$2]\n"
        "/\\(k\\)/x [$1]\n/\\<word\\>/ word\n/[[:digit:]]+$/ digits\n"
        "/m+/x literalplus\n",
        ["\\x", ".x", "b", "abcd", "k", "(k)", "a word here", "swordfish",
         "123", "m+", "mm"]),
    "cidr": (
        "2001:db8::/32 v6\n[2001:db9::]/32 v6b\n::ffff:1.2.3.4 mapped\n"
        "1.2.3.4 v4\n192.168.0.0/16 lan\n"
        "if 10.0.0.0/8\nif 10.1.0.0/16\n0.0.0.0/0 ten-one\nendif\n"
        "0.0.0.0/0 ten\nendif\n!172.16.0.0/12 not-private\n::/0 any6\n",
        ["2001:db8::1", "2001:DB8::1", "[2001:db8::1]", "2001:db9::5",
         "::ffff:1.2.3.4", "1.2.3.4", "192.168.7.7", "10.1.2.3", "10.2.3.4",
         "172.16.1.1", "8.8.8.8", "::1", "foo", "01.2.3.4"]),
}

BAD_TABLES = {
    "pcre": "/a/ x\nif /b/\n/c/ y\n/a(/ x\n/a/q x\nabc x\n/a/ $3\n"
            "!/(a)/ $1\n/a\n/(a)/ $x\n/(a)/ ${1\nendif\nendif\n",
    "regexp": "/a/ x\n/a(/ x\n/a/s x\n/[z-a]/ y\n/a{3,2}/ y\n/*a/ y\n"
              "/(a)/ $0\nif /b/\n",
    "cidr": "1.2.3.4/24 x\n1.2.3.0/33 x\n1.2.3.0/24\nfoo x\nfoo/24 x\n"
            "1.2.3.4/ x\n[1.2.3.4 x\n[1.2.3.4]x y\n2001:db8::1/32 x\n"
            "endif\nendif foo\nif\nif 1.2.3.0/24\n1.2.3.4 ok\n",
}


@pytest.mark.parametrize("name", sorted(PATTERN_TABLES))
def test_pattern_tables_answer_as_postfix(name, tmp_path, real, ours):
    text, keys = PATTERN_TABLES[name]
    kind = name.split("-")[0]
    path = tmp_path / "table"
    path.write_text(text)
    for key in keys:
        a = real("postmap", "-q", key, f"{kind}:{path}")
        b = ours("postmap", "-q", key, f"{kind}:{path}")
        same(a, b, f"{name} key {key!r}")
        assert a.err == b.err == "", (a.err, b.err)
    stdin = "".join(k + "\n" for k in keys)
    same(real("postmap", "-q", "-", f"{kind}:{path}", input=stdin),
         ours("postmap", "-q", "-", f"{kind}:{path}", input=stdin),
         f"{name} -q -")


@pytest.mark.parametrize("kind", sorted(BAD_TABLES))
def test_bad_input_is_reported_as_postfix(kind, tmp_path, real, ours):
    path = tmp_path / "bad"
    path.write_text(BAD_TABLES[kind])
    for key in ("a", "1.2.3.4", "b"):
        a = real("postmap", "-q", key, f"{kind}:{path}")
        b = ours("postmap", "-q", key, f"{kind}:{path}")
        same(a, b, f"bad {kind} key {key!r}")
        assert a.err == b.err
    assert f"{kind} map {path}, line " in b.err


def test_inline_static_unix(real, ours):
    for spec, keys in [
        ("inline:{a=1, { b = x y }, C=3 }", ["a", "b", "c", "C", "zz"]),
        ("static:foo", ["anything", "ELSE"]),
        ("static:{ a b }", ["x"]),
        ("unix:passwd.byname", ["root", "ROOT", "no-such-user"]),
    ]:
        for key in keys:
            same(real("postmap", "-q", key, spec),
                 ours("postmap", "-q", key, spec), f"{spec} {key}")
    a = real("postmap", "-s", "inline:{a=1, { b = x y }, C=3 }")
    b = ours("postmap", "-s", "inline:{a=1, { b = x y }, C=3 }")
    assert a.rc == b.rc == 0
    assert sorted(a.out.splitlines()) == sorted(b.out.splitlines())
    a = real("postmap", "-q", "x", "inline:{a=1, b}")
    b = ours("postmap", "-q", "x", "inline:{a=1, b}")
    assert a.rc == b.rc == 1
    assert a.err == b.err
    b = ours("postmap", "-s", "static:foo")
    assert b.rc == 1
    assert "sequence operation is not supported" in b.err


SOURCE = ("Foo   bar baz\nfoo dup\n# comment\nkey\n\nx\ty\n  cont\n"
          "user@example.com  OK\nMixed.Case REJECT go away\n")


def build_both(tmp_path, real, ours, text=SOURCE, tool="postmap", **kw):
    """The same source in two directories, built by each tool."""
    paths = []
    for who, runner in (("postfix", real), ("mailgw", ours)):
        d = tmp_path / who
        d.mkdir(exist_ok=True)
        src = d / "table"
        src.write_text(text)
        r = runner(tool, f"lmdb:{src}", **kw)
        assert r.rc == 0, r
        paths.append((src, r))
    (a_src, a), (b_src, b) = paths
    assert a.err.replace("/postfix/", "/D/") == \
        b.err.replace("/mailgw/", "/D/"), (a.err, b.err)
    return a_src, b_src


def test_lmdb_built_by_each_postmap(tmp_path, real, ours):
    a, b = build_both(tmp_path, real, ours)
    assert os.path.exists(f"{b}.lmdb")
    keys = ["foo", "FOO", "x", "key", "user@example.com", "mixed.case",
            "Mixed.Case", "nope"]
    for key in keys:
        same(real("postmap", "-q", key, f"lmdb:{a}"),
             ours("postmap", "-q", key, f"lmdb:{b}"), f"lmdb {key}")
        same(real("postmap", "-f", "-q", key, f"lmdb:{a}"),
             ours("postmap", "-f", "-q", key, f"lmdb:{b}"), f"-f {key}")
    # hash: and btree: name the same lmdb file for mailgw
    same(real("postmap", "-q", "foo", f"lmdb:{a}"),
         ours("postmap", "-q", "foo", f"hash:{b}"), "hash alias")
    stdin = "".join(k + "\n" for k in keys)
    same(real("postmap", "-q", "-", f"lmdb:{a}", input=stdin),
         ours("postmap", "-q", "-", f"lmdb:{b}", input=stdin), "-q -")
    ra, rb = real("postmap", "-s", f"lmdb:{a}"), ours("postmap", "-s",
                                                     f"lmdb:{b}")
    assert ra.rc == rb.rc == 0
    assert sorted(ra.out.splitlines()) == sorted(rb.out.splitlines())
    # the files are interchangeable
    same(real("postmap", "-q", "foo", f"lmdb:{b}"),
         ours("postmap", "-q", "foo", f"lmdb:{a}"), "cross read")
    # texthash reads the source itself
    for key in keys:
        same(real("postmap", "-q", key, f"texthash:{a}"),
             ours("postmap", "-q", key, f"texthash:{b}"), f"texthash {key}")
    ra = real("postmap", "-s", f"texthash:{a}")
    rb = ours("postmap", "-s", f"texthash:{b}")
    assert sorted(ra.out.splitlines()) == sorted(rb.out.splitlines())


def test_lmdb_delete_and_incremental(tmp_path, real, ours):
    a, b = build_both(tmp_path, real, ours)
    for key in ("X", "x", "nope"):
        ra = real("postmap", "-d", key, f"lmdb:{a}")
        rb = ours("postmap", "-d", key, f"lmdb:{b}")
        same(ra, rb, f"-d {key}")
    ra = real("postmap", "-i", f"lmdb:{a}", input="new val\nfoo other\n")
    rb = ours("postmap", "-i", f"lmdb:{b}", input="new val\nfoo other\n")
    assert ra.rc == rb.rc == 0
    ra, rb = real("postmap", "-s", f"lmdb:{a}"), ours("postmap", "-s",
                                                     f"lmdb:{b}")
    assert sorted(ra.out.splitlines()) == sorted(rb.out.splitlines())
    a = real("postmap", "-q", "foo", f"lmdb:{tmp_path}/missing")
    b = ours("postmap", "-q", "foo", f"lmdb:{tmp_path}/missing")
    assert a.rc == b.rc == 1
    assert a.err == b.err


def test_rebuild_is_atomic(tmp_path, ours):
    src = tmp_path / "t"
    src.write_text("a 1\n")
    assert ours("postmap", f"lmdb:{src}").rc == 0
    ino = os.stat(f"{src}.lmdb").st_ino
    src.write_text("a 2\nb 3\n")
    assert ours("postmap", f"lmdb:{src}").rc == 0
    assert os.stat(f"{src}.lmdb").st_ino != ino, "not replaced by rename"
    assert sorted(os.listdir(tmp_path)) == ["bin", "etc", "t", "t.lmdb"]
    assert ours("postmap", "-q", "a", f"lmdb:{src}").out == "2\n"
    # a failed build leaves the old table in place
    os.unlink(src)
    r = ours("postmap", f"lmdb:{src}")
    assert r.rc == 1 and f"open {src}: No such file or directory" in r.err
    assert ours("postmap", "-q", "b", f"lmdb:{src}").out == "3\n"
    assert sorted(os.listdir(tmp_path)) == ["bin", "etc", "t.lmdb"]


ALIASES = ('root: admin, "b c"\nFoo: x,\n  y\n#c\nbad line\npostmaster:root\n'
           '\nmailer-daemon: postmaster\nfoo: dup\na: x,y\nb: x   y\n'
           'c: x (comment) , y\nd: |/bin/cmd arg\ne: :include:/etc/file\n'
           '"q r": s\nk: a\\,b\nl: Name <a@b>\nUP: x\n')


def test_postalias_as_postfix(tmp_path, real, ours):
    a, b = build_both(tmp_path, real, ours, ALIASES, tool="postalias")
    for key in ("root", "foo", "Foo", "postmaster", "a", "b", "c", "d", "e",
                "q r", "k", "l", "up", "@", "nope"):
        same(real("postalias", "-q", key, f"lmdb:{a}"),
             ours("postalias", "-q", key, f"lmdb:{b}"), f"alias {key}")
    ra = real("postalias", "-s", f"lmdb:{a}")
    rb = ours("postalias", "-s", f"lmdb:{b}")
    assert ra.rc == rb.rc == 0
    # Postfix adds NIS entries (YP_LAST_MODIFIED, YP_MASTER_NAME); mailgw
    # has no NIS.
    want = sorted(x for x in ra.out.splitlines() if not x.startswith("YP_"))
    assert want == sorted(rb.out.splitlines())
    # each reads the other's file
    same(real("postalias", "-q", "root", f"lmdb:{b}"),
         ours("postalias", "-q", "root", f"lmdb:{a}"), "cross")


def test_newaliases(tmp_path, confdir, cmd, real):
    aliases = tmp_path / "aliases"
    aliases.write_text("root: admin\npostmaster: root\n")
    (confdir / "main.cf").write_text(
        f"alias_database = hash:{aliases}\nalias_maps = hash:{aliases}\n")
    r = cmd("newaliases", "-c", confdir)
    assert r.rc == 0, r
    assert os.path.exists(f"{aliases}.lmdb")
    same(real("postalias", "-q", "postmaster", f"lmdb:{aliases}"),
         cmd("postalias", "-c", confdir, "-q", "postmaster",
             f"hash:{aliases}"), "newaliases")


def test_refused_and_usage(ours, tmp_path):
    for opt in ("-b", "-h", "-o", "-p", "-u", "-U", "-x"):
        r = ours("postmap", opt, "lmdb:/nonexistent")
        assert r.rc == 1 and "not supported" in r.err, (opt, r)
    r = ours("postmap")
    assert r.rc == 1 and "usage:" in r.err
    r = ours("postmap", "-q", "a", "-s", "lmdb:/x")
    assert r.rc == 1
    r = ours("postmap", f"pcre:{tmp_path}/x")
    assert r.rc == 1 and "unsupported map type" in r.err


def test_postfix_tools_present():
    assert shutil.which(REAL_POSTMAP) and os.path.exists(REAL_POSTALIAS)


def postmap_at_once(cmd, confdir, argvs, inputs):
    """Start one mailgw postmap per argv together, feeding each its input;
    return the Results in order."""
    import subprocess
    cmd("postmap", "-q", "x", "static:y")  # make the bin/postmap link
    link = confdir.parent / "bin" / "postmap"
    procs = [subprocess.Popen([str(link), "-c", str(confdir), *argv],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for argv in argvs]
    for p, text in zip(procs, inputs):
        p.stdin.write(text)
        p.stdin.close()
    out = []
    for p in procs:
        p.wait(timeout=120)
        out.append((p.returncode, p.stderr.read()))
        p.stdout.close()
        p.stderr.close()
    return out


@pytest.mark.parametrize("exists", [False, True], ids=["new", "existing"])
def test_concurrent_incremental_updates_serialise(tmp_path, cmd, confdir,
                                                  ours, exists):
    """postmap -i runs started together on one table (new or existing): each
    copies the table under an exclusive lock, so every key survives."""
    table = tmp_path / "t"
    if exists:
        table.write_text("old 0\n")
        assert ours("postmap", f"lmdb:{table}").rc == 0
    n = 24
    results = postmap_at_once(cmd, confdir, [["-i", f"lmdb:{table}"]] * n,
                              [f"k{i} v{i}\n" for i in range(n)])
    assert all(rc == 0 for rc, _ in results), results
    r = ours("postmap", "-s", f"lmdb:{table}")
    assert r.rc == 0, r
    want = {f"k{i}\tv{i}" for i in range(n)} | ({"old\t0"} if exists
                                                 else set())
    assert set(r.out.splitlines()) == want
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["bin", "etc", "t.lmdb"] + (["t"] if exists else []))


def test_fatal_errors_leave_no_temporary_file(tmp_path, ours):
    """A build, -i or -d that dies half way (a key LMDB cannot store, a key
    over the length limit on stdin) leaves the old table as it was and no
    temporary file beside it."""
    table = tmp_path / "t"
    long_key = "k" * 600
    table.write_text(f"a 1\n{long_key} x\n")
    r = ours("postmap", f"lmdb:{table}")
    assert r.rc == 1 and "fatal:" in r.err, r
    assert sorted(os.listdir(tmp_path)) == ["bin", "etc", "t"]
    table.write_text("a 1\n")
    assert ours("postmap", f"lmdb:{table}").rc == 0
    table.write_text(f"a 2\n{long_key} x\n")
    r = ours("postmap", f"lmdb:{table}")
    assert r.rc == 1 and "fatal:" in r.err, r
    r = ours("postmap", "-i", f"lmdb:{table}", input=f"b 2\n{long_key} x\n")
    assert r.rc == 1 and "fatal:" in r.err, r
    r = ours("postmap", "-d", "-", f"lmdb:{table}",
             input="a\n" + "k" * 5000 + "\n")
    assert r.rc == 1 and "key too long" in r.err, r
    assert sorted(os.listdir(tmp_path)) == ["bin", "etc", "t", "t.lmdb"]
    assert ours("postmap", "-s", f"lmdb:{table}").out == "a\t1\n"


def delete_waiting(tmp_path, confdir, table, dispositions):
    """postmap -d - on table, started with the signal dispositions given
    ({signal: handler}), once it waits on stdin after the key "a": its new
    table file (the 5th entry of tmp_path) exists then."""
    import signal
    import subprocess
    import time

    def preexec():
        for sig, handler in dispositions.items():
            signal.signal(sig, handler)

    p = subprocess.Popen([str(confdir.parent / "bin" / "postmap"), "-c",
                          str(confdir), "-d", "-", f"lmdb:{table}"],
                         stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=preexec)
    p.stdin.write(b"a\n")
    p.stdin.flush()
    deadline = time.time() + 10
    while len(os.listdir(tmp_path)) < 5 and time.time() < deadline:
        time.sleep(0.01)
    assert len(os.listdir(tmp_path)) == 5, os.listdir(tmp_path)
    return p


def test_signal_leaves_no_temporary_file(tmp_path, confdir, ours):
    """postmap -d - killed while it waits for keys on stdin (the new table
    file exists then) removes that file and dies of the signal."""
    import signal
    table = tmp_path / "t"
    table.write_text("a 1\n")
    assert ours("postmap", f"lmdb:{table}").rc == 0
    sigs = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    for sig in sigs:
        # Default dispositions, not inherited ones: a script's `make test &`
        # ignores SIGINT, nohup SIGHUP, and postmap leaves an ignored
        # signal ignored (next test).
        p = delete_waiting(tmp_path, confdir, table,
                           {s: signal.SIG_DFL for s in sigs})
        p.send_signal(sig)
        assert p.wait(timeout=10) == -sig
        p.stdin.close()
        p.stderr.close()
        assert sorted(os.listdir(tmp_path)) == ["bin", "etc", "t", "t.lmdb"]
    assert ours("postmap", "-s", f"lmdb:{table}").out == "a\t1\n"


def test_signal_ignored_by_parent_stays_ignored(tmp_path, confdir, ours):
    """A signal ignored by whoever started postmap (nohup: SIGHUP) stays
    ignored while it writes: -d - goes on and deletes the key at EOF."""
    import signal
    table = tmp_path / "t"
    table.write_text("a 1\nb 2\n")
    assert ours("postmap", f"lmdb:{table}").rc == 0
    p = delete_waiting(tmp_path, confdir, table,
                       {signal.SIGHUP: signal.SIG_IGN})
    # An ignored signal is discarded when sent: nothing to wait for.
    p.send_signal(signal.SIGHUP)
    _, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert sorted(os.listdir(tmp_path)) == ["bin", "etc", "t", "t.lmdb"]
    assert ours("postmap", "-s", f"lmdb:{table}").out == "b\t2\n"


@pytest.mark.parametrize("writer", ["mailgw", "postfix"])
def test_readers_never_see_a_partial_update(tmp_path, cmd, confdir, ours,
                                            real, writer):
    """While postmap -r -i rewrites every entry and postmap -d/-i toggle
    another, readers in other processes (one long-lived `postmap -q -`
    reopening at each lookup, and repeated `postmap -s` dumps) always find
    every key, and each dump of a mailgw update shows one generation only.
    mailgw's updates are copies renamed into place; Postfix's are written
    in place, one transaction per entry."""
    import re
    import subprocess
    import threading
    import time
    table = tmp_path / "t"
    keys = [f"k{i}" for i in range(30)]
    table.write_text("".join(f"{k} g0\n" for k in keys))
    assert ours("postmap", f"lmdb:{table}").rc == 0
    stop = threading.Event()
    failures = []

    def update():
        for g in range(1, 41):
            body = "".join(f"{k} g{g}\n" for k in keys)
            for argv, text in ((["-r", "-i"], body),
                               (["-i"], "extra x\n"), (["-d", "extra"], "")):
                r = (ours if writer == "mailgw" else real)(
                    "postmap", *argv, f"lmdb:{table}", input=text)
                if r.rc != 0:
                    failures.append(("update", argv, r))
        stop.set()

    def dump():
        while not stop.is_set():
            r = ours("postmap", "-s", f"lmdb:{table}")
            lines = sorted(x for x in r.out.splitlines()
                           if not x.startswith("extra\t"))
            gens = {x.split("\t")[1] for x in lines}
            # Postfix's postmap -i commits each entry on its own: a dump
            # may see some entries updated and not others.
            if r.rc != 0 or [x.split("\t")[0] for x in lines] != \
                    sorted(keys) or (writer == "mailgw" and len(gens) != 1) \
                    or not all(re.fullmatch(r"g\d+", g) for g in gens):
                failures.append(("dump", r))

    link = confdir.parent / "bin" / "postmap"
    ours("postmap", "-q", "x", "static:y")  # make the link
    out = (tmp_path / "out").open("w")
    reader = subprocess.Popen([str(link), "-c", str(confdir), "-q", "-",
                               f"lmdb:{table}"], stdin=subprocess.PIPE,
                              stdout=out, stderr=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=update), threading.Thread(target=dump)]
    for t in threads:
        t.start()
    sent = 0
    while not stop.is_set():
        reader.stdin.write("".join(k + "\n" for k in keys))
        reader.stdin.flush()
        sent += len(keys)
        time.sleep(0.001)
    reader.stdin.close()
    assert reader.wait(timeout=60) == 0, reader.stderr.read()
    reader.stderr.close()
    for t in threads:
        t.join()
    out.close()
    assert not failures, failures[:3]
    got = (tmp_path / "out").read_text().splitlines()
    assert len(got) == sent
    assert all(re.fullmatch(r"k\d+\tg\d+", x) for x in got), got[:5]
    assert len({x.split("\t")[1] for x in got}) > 1, "no update was seen"
    assert sorted(set(os.listdir(tmp_path)) - {"postfix-etc"}) == \
        ["bin", "etc", "out", "t", "t.lmdb"]



@pytest.mark.parametrize("build_opt", [[], ["-n"]], ids=["default", "no-nul"])
def test_postfix_updates_a_mailgw_table(tmp_path, real, ours, build_opt):
    """mailgw writes keys and values with a trailing NUL, as Postfix's
    postmap does, so Postfix's postmap -r -i replaces entries instead of
    adding a second form of the key; on a table built without NULs (-n),
    lookups find the newer, NUL-terminated entry Postfix added."""
    table = tmp_path / "t"
    table.write_text("k0 g0\nk1 g0\n")
    assert ours("postmap", *build_opt, f"lmdb:{table}").rc == 0
    r = real("postmap", "-r", "-i", f"lmdb:{table}", input="k0 g1\n")
    assert r.rc == 0, r
    assert ours("postmap", "-q", "k0", f"lmdb:{table}").out == "g1\n"
    assert real("postmap", "-q", "k0", f"lmdb:{table}").out == "g1\n"
    dump = sorted(ours("postmap", "-s", f"lmdb:{table}").out.splitlines())
    assert dump == sorted(real("postmap", "-s",
                               f"lmdb:{table}").out.splitlines())
    if not build_opt:
        assert dump == ["k0\tg1", "k1\tg0"]
    r = ours("postmap", "-r", "-i", f"lmdb:{table}", input="k0 g2\n")
    assert r.rc == 0, r
    assert real("postmap", "-q", "k0", f"lmdb:{table}").out == "g2\n"
    assert ours("postmap", "-q", "k0", f"lmdb:{table}").out == "g2\n"


def test_record_locks_shared_with_postfix(tmp_path, cmd, confdir, ours):
    """The fcntl record locks Postfix takes on a .lmdb file are respected:
    a lookup waits while a writer holds the exclusive lock (Postfix's
    postmap -i/-d, here this test), and a mailgw writer holds a shared lock
    on the table it copies, which keeps an in-place writer out."""
    import fcntl
    import subprocess
    import time
    table = tmp_path / "t"
    table.write_text("k0 g0\n")
    assert ours("postmap", f"lmdb:{table}").rc == 0
    ours("postmap", "-q", "x", "static:y")  # make the link
    link = str(confdir.parent / "bin" / "postmap")
    with open(f"{table}.lmdb", "r+b") as f:
        fcntl.lockf(f, fcntl.LOCK_EX)
        p = subprocess.Popen([link, "-c", str(confdir), "-q", "k0",
                              f"lmdb:{table}"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert p.poll() is None, "lookup did not wait for the write lock"
        fcntl.lockf(f, fcntl.LOCK_UN)
        out, err = p.communicate(timeout=10)
        assert (p.returncode, out) == (0, "g0\n"), err
    p = subprocess.Popen([link, "-c", str(confdir), "-d", "-",
                          f"lmdb:{table}"], stdin=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while len(os.listdir(tmp_path)) < 5 and time.time() < deadline:
        time.sleep(0.01)  # the writer is open once its temp file exists
    with open(f"{table}.lmdb", "r+b") as f:
        with pytest.raises(OSError):
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB)  # readers go on
        fcntl.lockf(f, fcntl.LOCK_UN)
    p.stdin.write("k0\n")
    p.stdin.close()
    assert p.wait(timeout=10) == 0, p.stderr.read()
    p.stderr.close()
    assert ours("postmap", "-q", "k0", f"lmdb:{table}").rc == 1
