"""Which lifecycle operation applies to which VM state, and what to tell the user otherwise."""

from __future__ import annotations

from hypervisor.errors import WrongState
from hypervisor.model import VMState

S = VMState
ALLOWED: dict[str, frozenset[VMState]] = {
    "start": frozenset({S.SHUTOFF, S.SAVED, S.CRASHED}),
    "shutdown": frozenset({S.RUNNING}),
    "destroy": frozenset({S.RUNNING, S.PAUSED, S.SHUTTING_DOWN, S.CRASHED, S.PMSUSPENDED}),
    "reboot": frozenset({S.RUNNING}),
    "suspend": frozenset({S.RUNNING}),
    "resume": frozenset({S.PAUSED}),
    "save": frozenset({S.RUNNING, S.PAUSED}),
    "migrate": frozenset({S.RUNNING, S.PAUSED, S.SHUTOFF, S.CRASHED}),
}

# Asked for the state the VM is already in: nothing to do, and the answer says so once.
ALREADY = frozenset({("start", S.RUNNING), ("resume", S.RUNNING), ("suspend", S.PAUSED),
                     ("shutdown", S.SHUTOFF)})

# What to suggest instead, by (action, state); the first match wins.
_HINTS: dict[tuple[str, VMState], str] = {
    ("start", S.PAUSED): "Use 'resume {vm}' to unpause it.",
    ("resume", S.SHUTOFF): "Use 'start {vm}' to boot it.",
    ("resume", S.SAVED): "Use 'start {vm}' to restore it from its saved image.",
    ("shutdown", S.PAUSED): "Resume it first ('resume {vm}'), or force it off with 'destroy {vm}'.",
    ("shutdown", S.SAVED): "It is already off (saved); 'start {vm}' restores it.",
    ("reboot", S.PAUSED): "Resume it first ('resume {vm}').",
    ("migrate", S.SAVED): "Restore it first with 'start {vm}': a saved image stays on its host.",
}


def check(vm: str, state: VMState, action: str) -> None:
    """Raise WrongState if `action` does not apply to a VM in `state`."""
    allowed = ALLOWED.get(action)
    if allowed is None or state in allowed:
        return
    if (action, state) in ALREADY:
        raise WrongState(vm, state.value, action, already=True)
    hint = _HINTS.get((action, state), "")
    if not hint and not state.active and action != "start":
        hint = "It is not running."
    raise WrongState(vm, state.value, action, hint.format(vm=vm))
