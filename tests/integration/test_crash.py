"""kill -9 during load: smtpd, then qmgr, then every process; restart.
Every message the client saw acknowledged with 250 must reach the sink.

The client is peers.AckingLoad (threads, one Message-ID per message), which
records exactly which messages got a 250 after DATA; smtp-source cannot
tell that. Duplicates after a kill mid-delivery are possible (as in
Postfix: the sink accepted, the queue file was not yet updated); they are
counted and reported, not failed on.
"""
import collections
import os
import signal

from peers import AckingLoad, wait_until


def _msgids(sink):
    out = collections.Counter()
    for m in sink.messages():
        v = m.header("Message-ID")
        if v:
            out[v.strip().strip("<>")] += 1
    return out


def _kill(pid):
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
               open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z",
               10, f"pid {pid} to die")


def _sink_count(sink):
    return sink.count()


def test_kill9_smtpd_qmgr_master_nothing_acknowledged_lost(gateway, smtp_sink):
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    gw.start()
    master = gw.master_pid()
    assert master is not None, "no pid/master.pid after start"
    load = AckingLoad(gw.port, threads=8, total=6000, size=1024).start()
    notes = []
    try:
        # 1. kill -9 one smtpd process while sessions are open.
        load.wait_acked(300, timeout=120)
        smtpd = gw.role_pids("smtpd")
        assert smtpd, "no live smtpd child found (log mailgw/smtpd[PID] lines)"
        _kill(smtpd[0])
        notes.append(f"killed smtpd {smtpd[0]} at {load.acked_count()} acked")
        # master logs the abnormal exit and starts a new smtpd; clients
        # reconnect and get 250s again.
        gw.wait_log(rf"mailgw/master\[{master}\]: warning: .*\b{smtpd[0]}\b.*"
                    r"(signal 9|SIGKILL|killed)", timeout=30)
        n = load.acked_count()
        load.wait_acked(n + 300, timeout=120)
        new_smtpd = gw.role_pids("smtpd")
        assert new_smtpd and smtpd[0] not in new_smtpd, (smtpd, new_smtpd)

        # 2. kill -9 qmgr while it delivers.
        wait_until(lambda: _sink_count(sink) > 100, 120,
                   "deliveries to start before killing qmgr")
        qmgr = gw.role_pids("qmgr")
        assert qmgr, "no live qmgr child found (log mailgw/qmgr[PID] lines)"
        _kill(qmgr[0])
        notes.append(f"killed qmgr {qmgr[0]} at {load.acked_count()} acked, "
                     f"{_sink_count(sink)} at sink")
        gw.wait_log(rf"mailgw/master\[{master}\]: warning: .*\b{qmgr[0]}\b.*"
                    r"(signal 9|SIGKILL|killed)", timeout=30)
        n_sink = _sink_count(sink)
        wait_until(lambda: _sink_count(sink) > n_sink + 100, 120,
                   "deliveries to resume after the qmgr restart")
        n = load.acked_count()
        load.wait_acked(n + 300, timeout=120)

        # 3. kill -9 every process of the instance at once.
        pids = gw.pids()
        assert master in pids, (master, pids)
        for p in pids:
            os.kill(p, signal.SIGKILL)
        wait_until(lambda: not gw.pids(), 20, "all mailgw processes to die")
        notes.append(f"killed all {pids} at {load.acked_count()} acked, "
                     f"{_sink_count(sink)} at sink")
    finally:
        load.stop()

    acked = set(load.acked)
    assert len(acked) >= 900, f"load too small to mean anything: {notes}"
    # Restart after the crash: stale pid file and socket must not stop it.
    gw.start()
    assert gw.status() == 0
    try:
        wait_until(lambda: acked <= set(_msgids(sink)), 240,
                   "every acknowledged message at the sink", interval=0.5)
    except AssertionError:
        got = _msgids(sink)
        lost = sorted(acked - set(got))
        raise AssertionError(
            f"{len(lost)} of {len(acked)} acknowledged messages never arrived, "
            f"e.g. {lost[:10]}; queue holds {len(gw.queue_files())} files; "
            f"{notes}\n--- maillog tail:\n{gw.log_text()[-3000:]}") from None
    gw.wait_queue_empty(timeout=120)
    got = _msgids(sink)
    dups = {k: v for k, v in got.items() if v > 1}
    unknown_arrived = len(load.unknown & set(got))
    strangers = set(got) - acked - load.unknown - set(load.refused)
    assert not strangers, f"messages nobody sent arrived: {sorted(strangers)[:5]}"
    refused_arrived = set(load.refused) & set(got)
    corrupt = list((gw.queue / "corrupt").glob("*")) \
        if (gw.queue / "corrupt").is_dir() else []
    assert not corrupt, f"kill -9 left corrupt queue files: {corrupt[:5]}"
    print(f"\n[crash] acked={len(acked)} arrived={len(set(got))} "
          f"duplicates={len(dups)} (copies: {sum(dups.values()) - len(dups)}) "
          f"no-reply-but-arrived={unknown_arrived}/{len(load.unknown)} "
          f"refused-but-arrived={len(refused_arrived)}; {notes}")
    # A message refused with a 4xx/5xx reply after DATA must not be
    # delivered (it was never accepted).
    refused_after_data = {k for k, v in load.refused.items()
                          if v[:1] in "45" and k in got}
    assert not refused_after_data, \
        f"refused messages delivered: {sorted(refused_after_data)[:5]} " \
        f"{[load.refused[k] for k in sorted(refused_after_data)[:5]]}"


def test_restart_after_kill_all_idle_delivers_queued(gateway, smtp_sink):
    """Messages queued while the next hop is down survive kill -9 of all
    processes and go out after restart, without a client resending."""
    sink = smtp_sink(start=False)
    gw = gateway(relay_to=sink.port)
    gw.start()
    load = AckingLoad(gw.port, threads=2, total=50, size=2048,
                      prefix="queued").start()
    load.join()
    assert len(load.acked) == 50, (load.refused, load.errors[:3])
    gw.wait_log(r"status=deferred", timeout=60)
    wait_until(lambda: len(gw.queue_files()) == 50, 30, "50 queued messages")
    gw.kill_all()
    sink.start()
    gw.start()
    wait_until(lambda: set(load.acked) <= set(_msgids(sink)), 120,
               "the 50 queued messages at the sink", interval=0.3)
    gw.wait_queue_empty()
    assert sum(_msgids(sink).values()) == 50, _msgids(sink).most_common(3)


def _kill_at_syscall(pid, syscall):
    """strace attached to pid: the first call of syscall does not run and
    the process gets SIGKILL instead (kill -9 at an exact step). Returns
    the strace Popen once it is attached."""
    import shutil
    import subprocess
    strace = shutil.which("strace")
    assert strace, "strace is needed (tools/bootstrap installs it)"
    st = subprocess.Popen(
        [strace, "-qq", "-o", "/dev/null", "-p", str(pid), "-e",
         f"trace={syscall}", "-e",
         f"inject={syscall}:error=EIO:signal=SIGKILL:when=1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def traced():
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1]) == st.pid
        return False
    wait_until(traced, 20, f"strace attached to {pid}")
    return st


def test_kill9_qmgr_between_outcome_and_removal_no_redelivery(gateway,
                                                              smtp_sink):
    """qmgr writes a recipient's outcome without syncing it and syncs
    removals in groups (docs/ARCHITECTURE.md, "The queue: what is synced
    when"). kill -9 at the exact step between the two, the unlink of the
    delivered message: the record is in the file, so the next qmgr removes
    the message without delivering it again."""
    sink = smtp_sink()
    gw = gateway(relay_to=sink.port)
    gw.start()
    master = gw.master_pid()
    qmgr = gw.role_pids("qmgr")
    assert qmgr, "no live qmgr child found"
    st = _kill_at_syscall(qmgr[0], "unlinkat")
    try:
        load = AckingLoad(gw.port, threads=1, total=1, prefix="once").start()
        load.join()
        assert len(load.acked) == 1, (load.refused, load.errors[:3])
        msgid = next(iter(load.acked))
        gw.wait_log(rf"mailgw/master\[{master}\]: warning: .*\b{qmgr[0]}\b.*"
                    r"(signal 9|SIGKILL|killed)", timeout=60)
    finally:
        try:
            st.wait(timeout=20)
        except Exception:
            st.kill()
            st.wait()
    assert _msgids(sink)[msgid] == 1, _msgids(sink)
    # The killed qmgr never removed the file; its successor does, without
    # a second delivery.
    gw.wait_queue_empty(timeout=60)
    gw.wait_log(r"qmgr\[\d+\]: \w+: removed", timeout=30)
    assert _msgids(sink)[msgid] == 1, \
        f"delivered again after the restart: {_msgids(sink)}\n" \
        f"{gw.log_text()[-3000:]}"
    assert len(gw.log_lines(r"status=sent")) == 1, gw.log_text()[-3000:]
