"""Every chat command, declared once: forms, help, examples, the role it needs, whether it changes things.

Help, the parser, permission checks, confirmation and the audit all read
these declarations; nothing else lists commands. A form is a sequence of
words: a plain word must be typed as is, `{vm}`/`{host}`/`{cluster}` takes
one name, and `{state:running|shutoff|paused}` takes one of the listed words.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("viewer", "operator", "admin")


@dataclass(frozen=True)
class CommandSpec:
    """One chat command."""

    name: str
    forms: tuple[str, ...]
    help: str
    examples: tuple[str, ...]
    role: str = "viewer"
    changes: bool = False
    destructive: bool = False

    @property
    def usage(self) -> str:
        """The command's forms written for people: `migrate VM to HOST`."""
        return " | ".join(_for_people(form) for form in self.forms)


def _for_people(form: str) -> str:
    words = []
    for word in form.split():
        if word.startswith("{"):
            name, _, choices = word.strip("{}").partition(":")
            words.append(choices if choices else name.upper())
        else:
            words.append(word)
    return " ".join(words)


def _lifecycle(name: str, text: str, *, role: str = "operator", destructive: bool = False) -> CommandSpec:
    return CommandSpec(name=name, forms=(f"{name} {{vm}}",), help=text, examples=(f"{name} web2",),
                       role=role, changes=True, destructive=destructive)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", ("help", "help {command}"), "List the commands you may run, or explain one.",
                ("help", "help migrate")),
    CommandSpec("where", ("where is {vm}", "where {vm}", "locate {vm}"),
                "Tell which host a VM runs on, checked live on that host.",
                ("where is ldap3", "locate imap2")),
    CommandSpec("show", ("show {vm}",), "Show a VM's configuration: CPUs, memory, disks, NICs, policies.",
                ("show imap2",)),
    CommandSpec("list", ("list", "list on {host}", "list in {cluster}",
                         "list {state:running|shutoff|paused}"),
                "List VMs: all, on a host, in a cluster, or in a state.",
                ("list on host07", "list in ldap", "list shutoff")),
    CommandSpec("hosts", ("hosts",), "List hosts with their capacity and how much of it is allocated.",
                ("hosts",)),
    CommandSpec("host", ("host {host}",), "Show one host: hardware, storage, network and its VMs.",
                ("host host07",)),
    CommandSpec("refresh", ("refresh",), "Ask every host what it runs now and update the inventory.",
                ("refresh",), role="operator"),
    _lifecycle("start", "Start a VM that is shut off (a saved VM is restored)."),
    _lifecycle("shutdown", "Shut a VM down gracefully and wait until it is off."),
    _lifecycle("reboot", "Reboot a running VM."),
    _lifecycle("suspend", "Pause a running VM in memory."),
    _lifecycle("resume", "Unpause a paused VM."),
    _lifecycle("save", "Save a VM's memory to disk and stop it; 'start' restores it."),
    _lifecycle("destroy", "Force a VM off at once, like pulling the plug.", role="admin", destructive=True),
    CommandSpec("migrate", ("migrate {vm} to {host}",),
                "Move a VM to another host: live if it runs and the hosts allow, else offline.",
                ("migrate imap2 to host07",), role="operator", changes=True),
    CommandSpec("audit", ("audit", "audit {vm}"), "Show who did what recently, for the farm or one VM.",
                ("audit", "audit imap2")),
    CommandSpec("autostart", ("autostart {vm} {switch:on|off}",),
                "Make a VM start, or not, when its host boots.", ("autostart imap2 on",),
                role="operator", changes=True),
    CommandSpec("policy", ("policy {vm} {event:on_crash|on_poweroff} {action}",),
                "Set what the host does when a VM crashes or powers off (destroy, restart, preserve...).",
                ("policy imap2 on_crash restart",), role="operator", changes=True),
)

BY_NAME: dict[str, CommandSpec] = {spec.name: spec for spec in COMMANDS}


def role_allows(role: str | None, needed: str) -> bool:
    """Whether `role` is at least `needed` (viewer < operator < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)
