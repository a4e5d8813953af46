"""Every chat command, declared once: forms, help, examples, the role it needs, whether it changes things.

Help, the parser, permission checks, confirmation and the audit all read
these declarations; nothing else lists commands. A form is a sequence of
words: a plain word must be typed as is, `{vm}`/`{host}`/`{cluster}` takes
one name, `{hosts...}` one or more names (separated by spaces or commas), and
`{state:running|shutoff|paused}` takes one of the listed words.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("viewer", "operator", "admin")
GROUPS = ("ask", "change", "admin")  # how help groups the commands
GROUP_TITLES = {"ask": "Ask (changes nothing)", "change": "Change the farm (operators)",
                "admin": "Admin (admins only)"}


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
    aliases: tuple[str, ...] = ()  # other first words for the command: `ls` for `list`
    synonyms: tuple[tuple[str, str], ...] = ()  # (what people type, the form's word): ("mem", "memory")
    synopsis: str = ""  # the usage for people, where listing every form would be long

    @property
    def usage(self) -> str:
        """The command's forms written for people: `migrate VM to HOST`."""
        return self.synopsis or " | ".join(_for_people(form) for form in self.forms)

    @property
    def group(self) -> str:
        """Where help lists it: 'ask' (reads only), 'change' (an operator's changes) or 'admin'."""
        return "admin" if self.role == "admin" else "change" if self.changes else "ask"


def slot(word: str) -> tuple[str, str, bool]:
    """A form's placeholder: its name, its choices ("" for any name), whether it takes several names."""
    name, _, choices = word.strip("{}").partition(":")
    return name.rstrip("."), choices, name.endswith("...")


def _for_people(form: str) -> str:
    words = []
    for word in form.split():
        if word.startswith("{"):
            name, choices, many = slot(word)
            words.append(choices if choices else name.upper() + ("…" if many else ""))
        else:
            words.append(word)
    return " ".join(words)


def _lifecycle(name: str, text: str, *, role: str = "operator", destructive: bool = False) -> CommandSpec:
    return CommandSpec(name=name, forms=(f"{name} {{vm}}",), help=text, examples=(f"{name} web2",),
                       role=role, changes=True, destructive=destructive)


def _list_forms() -> tuple[str, ...]:
    """`list`'s filters in every combination: state, then a name pattern, then a host or a cluster."""
    states = ("{state:running|shutoff|paused} ", "")
    patterns = ("{pattern} ", "")
    places = ("on {host}", "in {cluster}", "")
    return tuple(f"list {state}{pattern}{place}".strip()
                 for place in places for state in states for pattern in patterns)


# Words people use to ask about something: a typo of one is never answered with a command that changes.
READ_WORDS = ("status", "state", "stat", "stats", "info", "details", "describe", "inspect", "get", "view",
              "display", "ps", "top", "uptime", "find", "whereis", "search")

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help", ("help", "help {command}"), "List the commands you may run, or explain one.",
                ("help", "help migrate")),
    CommandSpec("where", ("where is {vm}", "where {vm}", "locate {vm}"),
                "Tell which host a VM runs on, checked live on that host.",
                ("where is ldap3", "locate imap2")),
    CommandSpec("show", ("show {vm}",), "Show a VM's configuration: CPUs, memory, disks, NICs, policies.",
                ("show imap2",), aliases=("status", "info")),
    CommandSpec("list", _list_forms(),
                "List VMs: all, or those in a state, whose names match (web*), on a host or in a cluster; "
                "the filters combine.",
                ("list on host07", "list in ldap", "list shutoff", "list running on host05", "list web*"),
                aliases=("ls", "vms"),
                synopsis="list [running|shutoff|paused] [NAME*] [on HOST | in CLUSTER]",
                synonyms=(("shut off", "shutoff"), ("stopped", "shutoff"), ("off", "shutoff"),
                          ("up", "running"), ("suspended", "paused"))),
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
    CommandSpec("migrate", ("migrate {vm} to {host}", "migrate {vm} to {host} {force:force}", "migrate {vm}",
                            "migrate {vm} {force:force}"),
                "Move a VM to another host (without one, the best host is chosen and the choice "
                "explained): live if it runs and the hosts allow, else offline. 'force' moves it even "
                "next to a member of its cluster, onto a host in maintenance, beyond the host's capacity, "
                "or away from the host it is pinned to.",
                ("migrate imap2 to host07", "migrate imap2", "migrate ldap1 to host03 force"),
                role="operator", changes=True, synopsis="migrate VM [to HOST] [force]"),
    CommandSpec("audit", ("audit", "audit {filters...}"),
                "Show who changed what, newest first: changes only, or every command with 'all'. Filters "
                "combine: a VM, host (with its VMs), cluster or user; 'by USER'; 'since 2h|yesterday|DATE'; "
                "'failed'.",
                ("audit", "audit host07", "audit by bob since yesterday", "audit imap2 all", "audit failed")),
    # Running the farm: host maintenance, evacuation, crash recovery and health (issue 6).
    CommandSpec("evacuate", ("evacuate {host}", "evacuate {host} {force:force}"),
                "Move every VM off a host by the placement rules, one at a time; the plan lists any "
                "VM that must stay, and why. The host is marked in maintenance. 'force' moves the VMs "
                "pinned to it too.",
                ("evacuate host07",), role="operator", changes=True, synopsis="evacuate HOST [force]"),
    CommandSpec("maintenance", ("maintenance {host} {mode:on|off}",),
                "Keep new placements off a host (on), or allow them again (off); the mark is remembered.",
                ("maintenance host07 on", "maintenance host07 off"), role="operator", changes=True),
    CommandSpec("recover", ("recover {host}",),
                "Start the VMs that were running on a host that is down on other hosts, where their "
                "disks are reachable; only once you confirm the host is really off.",
                ("recover host07",), role="admin", changes=True, destructive=True),
    CommandSpec("repair", ("repair {vm}", "repair {vm} keep {host}"),
                "Resolve a VM defined on two or more hosts: keep the running definition (else the one "
                "an interrupted move, the inventory and its latest move name), undefine the others without "
                "touching disks, and restore its autostart. A VM running on two hosts at once: name the "
                "copy to keep ('keep HOST'); the other is powered off and undefined.",
                ("repair webmail3", "repair ldap1 keep host11"), role="operator", changes=True),
    CommandSpec("check", ("check",),
                "Report what needs attention: cluster members sharing a host, overcommitted or silent "
                "hosts, VMs without autostart, drift from baseline.", ("check",)),
    CommandSpec("resilience", ("resilience", "resilience {host}"),
                "Tell how many host failures the farm survives, or what one host's failure would do now.",
                ("resilience", "resilience host07")),
    CommandSpec("rolling", (
        "rolling {action:reboot|restart} {cluster} max {count} down {force:force}",
        "rolling {action:reboot|restart} {cluster} max {count} down",
        "rolling {action:reboot|restart} {cluster} {force:force}",
        "rolling {action:reboot|restart} {cluster}",
        "rolling {action:migrate} {cluster} off {hosts...} max {count} down",
        "rolling {action:migrate} {cluster} off {hosts...}"),
                "Reboot, restart (shut down, then start) or move off hosts a cluster's members, one at a "
                "time (or N): each must run again, and answer on the cluster's health port, before the "
                "next goes down. 'force' powers off a member that does not shut down in time.",
                ("rolling reboot ldap", "rolling restart imap max 2 down", "rolling migrate web off host03"),
                role="operator", changes=True,
                synopsis="rolling reboot|restart CLUSTER [max COUNT down] [force] | "
                         "rolling migrate CLUSTER off HOSTS… [max COUNT down]"),
    # -- templates, create/delete, resources, change management ------------------
    CommandSpec("templates", ("templates",), "List the VM templates of the server groups.", ("templates",)),
    CommandSpec("create", ("create {vm}", "create {vm} from {template}",
                           "create {vm} from {template} on {host}",
                           "create {vm} from {template} on {host} {force:force}"),
                "Create and start a VM from its cluster's template (or a named one) on a host with room. "
                "A named host must keep the placement rules, as for 'migrate', unless you add 'force'.",
                ("create ldap6", "create test1 from web on host03"), role="admin", changes=True,
                synopsis="create VM [from TEMPLATE [on HOST [force]]]"),
    CommandSpec("delete", ("delete {vm}",),
                "Remove a shut-off VM: its definition and the disks only it uses.",
                ("delete ldap6",), role="admin", changes=True, destructive=True),
    CommandSpec("set", ("set {vm} vcpus {count}", "set {vm} memory {size}"),
                "Change a VM's vCPUs or memory (with its unit: 512M, 6G): live where the host allows, "
                "else at next boot.",
                ("set web2 vcpus 4", "set web2 memory 6G"), role="operator", changes=True,
                synonyms=(("mem", "memory"), ("ram", "memory"), ("cpus", "vcpus"), ("cpu", "vcpus"))),
    CommandSpec("attach", ("attach nic {vm} vlan {vlan}", "attach disk {vm} {size}",
                           "attach disk {vm} {size} pool {pool}"),
                "Add a NIC on a VLAN (id or network name) or a new empty disk to a VM.",
                ("attach nic web2 vlan 120", "attach disk web2 20G"), role="operator", changes=True),
    CommandSpec("detach", ("detach nic {vm} {mac}",), "Remove a VM's NIC, named by its MAC.",
                ("detach nic web2 00:16:3e:12:34:56",), role="operator", changes=True),
    CommandSpec("diff", ("diff {vm}",), "Show how a VM's configuration differs from its baseline.",
                ("diff imap2",)),
    CommandSpec("history", ("history {vm}",),
                "Show a VM's changes over time: what, when, who, which command.",
                ("history imap2",)),
    CommandSpec("baseline", ("baseline {vm}",), "Accept a VM's current configuration as its new baseline.",
                ("baseline imap2",), role="admin", changes=True),
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
