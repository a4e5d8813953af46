"""Migration progress in words: data left and rate for QEMU, elapsed time only for Xen."""

from __future__ import annotations

import threading

import libvirt

from hypervisor.job_progress import JobWatcher, describe_job

MIB = 2**20


def test_qemu_job_reports_data_left_rate_and_elapsed():
    stats = {"type": libvirt.VIR_DOMAIN_JOB_BOUNDED, "data_remaining": 37 * MIB, "data_total": 80 * MIB,
             "memory_bps": 4227300, "time_elapsed": 3225}
    assert describe_job(stats, 9.0) == "migrating, 37 MiB of 80 MiB left at 4.0 MiB/s, 3 s elapsed"


def test_xen_job_is_unbounded_with_elapsed_time_only():
    stats = {"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED, "time_elapsed": 12400}
    assert describe_job(stats, 1.0) == "migrating, 12 s elapsed"


def test_no_job_yet_says_nothing_and_elapsed_falls_back_to_our_clock():
    assert describe_job({"type": libvirt.VIR_DOMAIN_JOB_NONE}, 3.0) is None
    assert describe_job({}, 3.0) is None
    assert describe_job({"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED}, 7.2) == "migrating, 7 s elapsed"


def test_watcher_reports_until_stopped():
    lines: list[str] = []
    reported = threading.Event()

    def progress(line: str) -> None:
        lines.append(line)
        reported.set()

    watcher = JobWatcher(lambda: {"type": libvirt.VIR_DOMAIN_JOB_UNBOUNDED, "time_elapsed": 2000},
                         progress, interval=0.01)
    watcher.start()
    assert reported.wait(5)
    watcher.stop()
    watcher.join(5)
    assert not watcher.is_alive()
    assert lines[0] == "migrating, 2 s elapsed"
