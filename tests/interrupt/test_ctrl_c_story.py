"""The issue's story: Ctrl-C during `evacuate host07` on the console, just after confirming."""

from __future__ import annotations

from inventory import Inventory
from tests.interrupt.harness import copies, defined_twice, granja, step_count


def test_ctrl_c_during_an_evacuation_stops_cleanly_and_says_so(state, tmp_path):
    steps = step_count(state, tmp_path, "ask", "--yes", "evacuate host07")
    # Ctrl-C right after the first VM's definition was written on its new host.
    first_define = next(n for n, what in enumerate(steps, 1) if "after define" in what)
    before = copies(state)
    run = granja(state, "ask", "--yes", "evacuate host07", env={"GRANJA_SIGNAL_AT": f"{first_define}:INT"})
    assert run.returncode == 4, run.stdout + run.stderr
    assert "interrupted" in run.stdout.lower()
    assert "not tried" in run.stdout
    assert "Traceback" not in run.stderr
    assert defined_twice(state) == {}
    after = copies(state)
    for name, where in before.items():  # every VM still runs (or not) as it did, on one host
        assert [s for _h, s in after[name]] == [s for _h, s in where], name
    entry = Inventory(state).audit(limit=1)[0]
    assert (entry.command, entry.outcome) == ("evacuate host07", "interrupted")
    # Evacuating again moves the real VMs only, and leaves no VM defined twice.
    again = granja(state, "ask", "--yes", "evacuate host07")
    assert again.returncode in (0, 1), again.stdout + again.stderr
    assert defined_twice(state) == {}
