"""The process exit code of a command's reply, for scripts: one table, documented in the README.

| code | meaning                                                                   |
|------|---------------------------------------------------------------------------|
| 0    | done, including "already in that state" (nothing needed changing)         |
| 1    | failed: tried and did not work, not confirmed, or granja itself failed    |
| 2    | usage: not a command, or a bad configuration                              |
| 3    | refused: not allowed (role) or against a rule (state, capacity, busy VM)  |
| 4    | interrupted (SIGINT/TERM/HUP): stopped part-way; the reply says where it is |

`check` follows the Nagios convention instead: 0 nothing to report, 1 warnings, 2 critical.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.reply import FindingList, Reply

DONE, FAILED, USAGE, REFUSED, INTERRUPTED = 0, 1, 2, 3, 4
# Nagios plugin convention for `check`.
CHECK_OK, CHECK_WARNING, CHECK_CRITICAL = 0, 1, 2

_BY_OUTCOME = {"ok": DONE, "usage": USAGE, "refused": REFUSED, "interrupted": INTERRUPTED}


def exit_code(reply: Reply) -> int:
    """The exit code for a reply: `check` by its findings, every other command by its outcome."""
    if reply.ok and isinstance(reply.body, FindingList):
        return check_exit_code(reply.body.findings)
    return _BY_OUTCOME.get(reply.outcome.value, FAILED)


def check_exit_code(findings: Iterable[object]) -> int:
    """Nagios: 0 when nothing needs attention, 2 when a finding is critical, else 1 (warnings).

    A finding is critical when its `severity` says so; findings without one are warnings; `info`
    findings (a host in maintenance, drift) are reported but leave the code at 0.
    """
    worst = CHECK_OK
    for finding in findings:
        severity = getattr(finding, "severity", "warning")
        word = str(getattr(severity, "value", severity)).lower()  # a string or an enum
        if word == "critical":
            return CHECK_CRITICAL
        if word != "info":
            worst = CHECK_WARNING
    return worst
