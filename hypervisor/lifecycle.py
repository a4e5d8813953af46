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

# The states an action leaves a VM in: asked for again, it changes nothing and succeeds (idempotent
# scripts and Ansible runs need that), rather than being refused.
ALREADY: dict[str, frozenset[VMState]] = {
    "start": frozenset({S.RUNNING}),
    "resume": frozenset({S.RUNNING}),
    "shutdown": frozenset({S.SHUTOFF}),
    "destroy": frozenset({S.SHUTOFF}),
    "suspend": frozenset({S.PAUSED}),
    "save": frozenset({S.SAVED}),
}

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


def already(state: VMState, action: str) -> bool:
    """Whether a VM in `state` is already where `action` would leave it."""
    return state in ALREADY.get(action, frozenset())


def check(vm: str, state: VMState, action: str) -> None:
    """Raise WrongState if `action` does not apply to a VM in `state`."""
    allowed = ALLOWED.get(action)
    if allowed is None or state in allowed:
        return
    if already(state, action):
        raise WrongState(vm, state.value, action, already=True)
    hint = _HINTS.get((action, state), "")
    if not hint and not state.active and action != "start":
        hint = "It is not running."
    raise WrongState(vm, state.value, action, hint.format(vm=vm))
