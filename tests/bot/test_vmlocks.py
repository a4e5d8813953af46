"""One operation per VM across processes: the console is refused while another process holds the VM."""

from __future__ import annotations

import subprocess
import sys

from bot.vmlocks import Busy


def granja(state, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "granja", "--state", str(state), *words],
                          capture_output=True, text=True, check=False, timeout=60)


def test_a_vm_held_by_another_process_is_refused_naming_the_holder(engine, state):
    source = engine.inventory.vm("imap2").vm.host
    target = "host07" if source != "host07" else "host08"
    other = Busy(state / "locks")  # another process's hold: its own open file, its own flock
    assert other.hold("imap2", who="<@UBOB>", what=f"migrate imap2 to {target}") is None
    try:
        refused = granja(state, "ask", "shutdown imap2", "--yes")
        assert refused.returncode == 3  # refused: exit code 3
        busy = f"imap2 is busy: <@UBOB> is running 'migrate imap2 to {target}' (for "
        assert refused.stdout.startswith(busy)
        assert engine.farm.driver(source).find_vm("imap2").state.value == "running"
    finally:
        other.release("imap2")
    done = granja(state, "ask", "shutdown imap2", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "imap2 shut down on" in done.stdout
