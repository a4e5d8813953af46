"""Errors of the hypervisor layer: libvirt's errors are converted into these at the driver edge.

The tree::

    HypervisorError
    ├── HostUnreachable        the host did not answer (connection refused, DNS, SSH)
    │   ├── HostTimeout        the host did not answer within the per-host timeout
    │   └── HostKeyMismatch    the host's SSH key is not the one in known_hosts (or is unknown)
    ├── HostNotFound           no host of that name in the farm
    ├── VMNotFound             no VM of that name on the host(s) asked
    ├── InsufficientCapacity   the target host lacks the memory or CPUs a VM needs
    ├── WrongState             the operation does not apply to the VM's current state
    ├── NotSupported           the host's driver cannot do this (e.g. live migration)
    ├── BadDomainXML           a domain definition granja cannot read (a memory unit libvirt lacks)
    └── OperationFailed        the host refused or failed the operation
        └── MigrationFailed    a migration failed; `where` says where the VM is now

Every message is a sentence a person can act on; callers show `str(error)` as is.
"""

from __future__ import annotations


class HypervisorError(Exception):
    """Base of every error raised by the hypervisor layer."""


class HostUnreachable(HypervisorError):
    """A host could not be reached."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(f"Host {host} is unreachable: {reason}")


class BadDomainXML(HypervisorError):
    """A domain definition granja cannot read, such as a memory size in a unit libvirt does not know."""


class HostTimeout(HostUnreachable):
    """A host did not answer in time."""

    def __init__(self, host: str, seconds: float) -> None:
        super().__init__(host, f"no answer within {seconds:g} s")
        self.seconds = seconds


class HostKeyMismatch(HostUnreachable):
    """A host's SSH key does not match known_hosts, or known_hosts does not list the host."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(host, reason)


class VMNotFound(HypervisorError):
    """No VM of that name where it was looked for."""

    def __init__(self, name: str, where: str = "") -> None:
        self.name = name
        super().__init__(f"No VM named '{name}'" + (f" on {where}." if where else "."))


class HostNotFound(HypervisorError):
    """No host of that name in the farm."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"No host named '{name}'.")


class InsufficientCapacity(HypervisorError):
    """A host cannot take a VM: not enough free memory or CPUs."""


class WrongState(HypervisorError):
    """The VM's state does not allow the operation."""

    def __init__(self, vm: str, state: str, action: str, hint: str = "", *, already: bool = False) -> None:
        self.vm = vm
        self.state = state
        self.action = action
        self.already = already  # the VM is already where the action would take it: nothing to do
        if already:
            super().__init__(f"{vm} is already {state}; '{action}' changed nothing.")
            return
        message = f"Cannot {action} {vm}: it is {state}."
        super().__init__(message + (f" {hint}" if hint else ""))


class NotSupported(HypervisorError):
    """The host's hypervisor driver does not support an operation."""


class OperationFailed(HypervisorError):
    """The host refused or failed an operation."""

    def __init__(self, host: str, action: str, detail: str) -> None:
        self.host = host
        self.action = action
        self.detail = detail
        super().__init__(f"{action} failed on {host}: {detail}")


class NotRebooted(HypervisorError):
    """A guest was asked to reboot, and no sign that it did came within the time allowed."""

    def __init__(self, vm: str, host: str, seconds: float) -> None:
        self.vm, self.host, self.seconds = vm, host, seconds
        super().__init__(f"{vm} did not reboot within {seconds:g} s: its guest may ignore the request")


class Interrupted(HypervisorError):
    """A change stopped because it was asked to (Ctrl-C, the bot stopping) before its next step.

    The message says where the VM is: the step in progress was finished or undone.
    """


class MigrationFailed(OperationFailed):
    """A migration failed; the VM stayed (or was put back) on `where`."""

    def __init__(self, vm: str, source: str, target: str, detail: str, where: str) -> None:
        self.vm = vm
        self.where = where
        HypervisorError.__init__(
            self,
            f"Migration of {vm} from {source} to {target} failed: {detail}. "
            f"{vm} is still on {where}.",
        )
        self.host = source
        self.action = "migrate"
        self.detail = detail
