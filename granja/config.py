"""The fleet configuration: hosts, networks, clusters, templates, users and chat channels, from one TOML file.

The file is the one place each of these facts lives. It is checked against
the schema (granja/schema.py), then the values the rest of granja uses
(defined where they are used: bot/fleet.py, bot/access.py,
hypervisor/template.py) are built from it, with the checks a schema cannot express (references between
sections, sizes, regular expressions). Every error is one line naming the
file, the key (and the line, for syntax errors), what is wrong and the fix.
Regular expressions are compiled with RE2, which runs in time linear in the
text, so no pattern in the config can hang a site build or a `create`.
"""

from __future__ import annotations

import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from bot.access import Access
from bot.fleet import (
    AlertsConfig,
    Cluster,
    FleetConfig,
    HostConfig,
    Network,
    Pattern,
    Placement,
    SiteConfig,
    WatchConfig,
)
from bot.watch.model import KINDS
from granja import schema
from granja.errors import ConfigError
from granja.patterns import compile_pattern
from hypervisor.sizes import parse_size_mib
from hypervisor.template import Template

__all__ = ["AlertsConfig", "Cluster", "ConfigError", "FleetConfig", "HostConfig", "Network", "Pattern",
           "Placement", "SiteConfig", "Template", "WatchConfig", "check_config", "compile_pattern",
           "load_config", "parse_size_mib"]


def load_config(path: Path) -> FleetConfig:
    """Read and check a fleet configuration file; any fault is a ConfigError of one line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, "file", "not found (give the fleet config with --config)") from None
    except IsADirectoryError:
        raise ConfigError(path, "file", "is a directory, not a TOML file (give the file inside it)") from None
    except OSError as exc:
        raise ConfigError(path, "file", f"cannot be read: {exc.strerror}") from None
    return check_config(path, data)


def check_config(path: Path, data: bytes) -> FleetConfig:
    """Check the bytes of the fleet configuration file at `path`; any fault is a ConfigError of one line."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(path, f"line {line}", "is not UTF-8 text (save the file as UTF-8)") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "syntax", str(exc)) from None
    return _Builder(path, raw, text).fleet()


_TYPE_NAMES = {"str": "a string", "int": "a whole number", "float": "a number", "bool": "true or false",
               "array": "a list", "object": "a table", "null": "a value"}
_LOCATION = re.compile(r" - at `\$(.*)`$")


class _Builder:
    """Checks one parsed TOML document against the schema and builds the fleet's values from it."""

    def __init__(self, path: Path, raw: dict[str, Any], text: str) -> None:
        self.path = path
        self.raw = raw
        self.text = text

    def fail(self, where: str, problem: str) -> ConfigError:
        """The error for a key, with the line it is on when the file shows it plainly."""
        line = _line_of(self.text, where)
        return ConfigError(self.path, where, problem + (f" (line {line})" if line else ""))

    def check(self, value: Any, kind: type[schema.Section], where: str) -> Any:
        """`value` as a `kind` Struct, or a ConfigError naming the key at fault and the fix."""
        try:
            return msgspec.convert(value, kind)
        except msgspec.ValidationError as exc:
            raise self._explain(str(exc), kind, where) from None

    def _explain(self, message: str, kind: type[schema.Section], where: str) -> ConfigError:
        located = _LOCATION.search(message)
        rest = located.group(1) if located else ""
        message = message[: located.start()] if located else message
        at = (where + rest) if where else rest.lstrip(".")
        parent, _, key = re.sub(r"\[\d+\]$", "", rest).rpartition(".")
        declared = schema.field_type(_struct_at(kind, parent), key)
        if unknown := re.match(r"Object contains unknown field `(.*)`", message):
            name = unknown.group(1)
            allowed = schema.keys_of(_struct_at(kind, rest))
            import difflib  # only for a misspelt key

            near = difflib.get_close_matches(name, allowed, n=1)
            hint = f"did you mean '{near[0]}'? " if near else ""
            what = "section" if not at else "key"
            return self.fail(f"{at}.{name}" if at else name,
                             f"unknown {what} ({hint}expected one of {', '.join(allowed)})")
        if missing := re.match(r"Object missing required field `(.*)`", message):
            key = missing.group(1)
            return self.fail(f"{at}.{key}" if at else key, f"is required (add {key} = … to [{at}])")
        value = _lookup(self.raw, at)
        shown = f", not {_toml(value)}" if value is not _ABSENT else ""
        if message.startswith("Invalid enum value") and declared is not None:
            choices = [c for c in typing.get_args(declared) if c]
            return self.fail(at, f"must be one of {', '.join(choices)}{shown}")
        if kind_of := re.match(r"Expected `(\w+)`, got `(\w+)`", message):
            return self.fail(at, f"must be {_TYPE_NAMES.get(kind_of.group(1), kind_of.group(1))}{shown}")
        if "matching regex" in message:
            return self.fail(at, f"names may hold letters, digits, '.', '_' and '-', starting with a "
                                 f"letter or digit{shown}")
        if "of length >=" in message:
            return self.fail(at, "must not be empty")
        bounds = _bounds(declared)
        if bounds:
            return self.fail(at, f"must be {bounds}{shown}")
        return self.fail(at, message[0].lower() + message[1:])

    def entries(self, section: str) -> dict[str, Any]:
        """Each [section.NAME] table checked against its Struct, by name."""
        kind = schema.ENTRIES[section]
        result = {}
        for name, body in getattr(self.document, section).items():
            where = f"{section}.{name}"
            if not _NAME.match(name):
                raise self.fail(where, "names may hold letters, digits, '.', '_' and '-', starting with a "
                                       "letter or digit")
            if not isinstance(body, dict):
                raise self.fail(where, f"must be a table ([{where}])")
            result[name] = self.check(body, kind, where)
        return result

    def fleet(self) -> FleetConfig:
        self.document: schema.Document = self.check(self.raw, schema.Document, "")
        farm = self.document.farm
        hosts = {name: self.host(name, body) for name, body in self.entries("hosts").items()}
        if not hosts:
            raise self.fail("hosts", "no hosts defined (add a [hosts.NAME] table with a uri)")
        networks = {name: Network(name=name, vlan=n.vlan, bridge=n.bridge, bond=n.bond,
                                  description=n.description)
                    for name, n in self.entries("networks").items()}
        templates = {name: self.template(name, t, networks) for name, t in self.entries("templates").items()}
        clusters = {name: self.cluster(name, c, templates) for name, c in self.entries("clusters").items()}
        roles = {kind: {name: entry.role for name, entry in self.entries(kind).items()}
                 for kind in ("users", "groups", "channels")}
        return FleetConfig(
            path=self.path, name=farm.name, host_timeout=farm.host_timeout, workers=farm.workers,
            hosts=hosts, networks=networks, clusters=clusters, templates=templates,
            access=Access(users=roles["users"], groups=roles["groups"], channels=roles["channels"],
                          confirm_seconds=farm.confirm_timeout),
            placement=Placement(cpu_ratio=farm.cpu_ratio, memory_ratio=farm.memory_ratio,
                                shared_pools=tuple(farm.shared_pools)),
            site=self.site(self.document.site), ssh_key=farm.ssh_key, known_hosts=farm.known_hosts,
            watch=self.watch(self.document.watch),
            alerts=AlertsConfig(channel=self.document.alerts.channel,
                                min_severity=self.document.alerts.min_severity),
        )

    def watch(self, body: schema.Watch) -> WatchConfig:
        for kind in body.hold:
            if kind not in KINDS:
                raise self.fail(f"watch.for.{kind}", f"unknown condition kind (one of {', '.join(KINDS)})")
            if not 0 <= body.hold[kind] <= 86_400:
                raise self.fail(f"watch.for.{kind}", "must be a number of seconds from 0 to 86400, "
                                                     f"not {body.hold[kind]:g}")
        return WatchConfig(facts_interval=body.facts_interval, pool_full=body.pool_full,
                           keepalive_interval=body.keepalive_interval, keepalive_count=body.keepalive_count,
                           reconnect_max=body.reconnect_max, notice_seconds=body.notice_seconds,
                           flap_seconds=body.flap_seconds, hold=dict(body.hold))

    def host(self, name: str, body: schema.Host) -> HostConfig:
        if "://" not in body.uri:
            raise self.fail(f"hosts.{name}.uri",
                            f"'{body.uri}' is not a libvirt URI (e.g. xen+ssh://root@{name}/system)")
        facts = body.facts or ("ssh" if body.ssh else "none")
        return HostConfig(name=name, uri=body.uri, ssh=body.ssh, facts=facts, pinned=tuple(body.pinned))

    def size(self, where: str, text: str) -> int:
        """A size in MiB such as '4G'; the key is named in the error."""
        try:
            return parse_size_mib(text)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def template(self, name: str, body: schema.Template, networks: Mapping[str, Network]) -> Template:
        where = f"templates.{name}"
        for net in body.networks:
            if net not in networks:
                raise self.fail(f"{where}.networks", f"unknown network '{net}' (declare [networks.{net}])")
        template = Template(
            name=name, vcpus=body.vcpus, memory_mib=self.size(f"{where}.memory", body.memory),
            disk_gib=self.size(f"{where}.disk", body.disk) // 1024, networks=tuple(body.networks),
            pool=body.pool, image=body.image,
            data_disk_gib=self.size(f"{where}.data_disk", body.data_disk) // 1024,
            kernel=body.kernel, bootloader=body.bootloader, autostart=body.autostart,
            on_crash=body.on_crash, max_vcpus=body.max_vcpus,
            max_memory_mib=self.size(f"{where}.max_memory", body.max_memory),
        )
        if template.memory_mib < 1:
            raise self.fail(f"{where}.memory", f"must be at least 1M, not '{body.memory}'")
        if template.kernel and template.bootloader:
            raise self.fail(where, "give a kernel or a bootloader, not both")
        if template.vcpu_limit < template.vcpus:
            raise self.fail(f"{where}.max_vcpus", f"is below vcpus ({template.vcpus})")
        if template.memory_limit_mib < template.memory_mib:
            raise self.fail(f"{where}.max_memory", "is below memory")
        return template

    def pattern(self, where: str, source: str) -> Pattern:
        try:
            return compile_pattern(source)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def cluster(self, name: str, body: schema.Cluster, templates: Mapping[str, Template]) -> Cluster:
        where = f"clusters.{name}"
        source = body.pattern if body.pattern is not None else rf"{re.escape(name)}[0-9]+"
        if body.template and body.template not in templates:
            problem = f"unknown template '{body.template}' (declare [templates.{body.template}])"
            raise self.fail(f"{where}.template", problem)
        health = None
        if body.health is not None:
            from hypervisor.rolling import Health  # migration code: only for clusters with a health port

            try:
                health = Health.parse(body.health, body.health_timeout)
            except ValueError as exc:
                raise self.fail(f"{where}.health", str(exc)) from None
        return Cluster(name=name, pattern=self.pattern(f"{where}.pattern", source),
                       template=body.template, description=body.description,
                       min_running=body.min_running, health=health)

    def site(self, body: schema.Site) -> SiteConfig:
        secrets = tuple(self.pattern(f"site.secrets[{number}]", source)
                        for number, source in enumerate(body.secrets))
        return SiteConfig(title=body.title, out=body.out, secrets=secrets)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ABSENT = object()


def _struct_at(kind: type[schema.Section], rest: str) -> type[schema.Section]:
    """The Struct that the msgspec path `rest` (".farm" or "") leads to inside `kind`."""
    for part in [p for p in rest.split(".") if p]:
        declared = schema.field_type(kind, part)
        if not (isinstance(declared, type) and issubclass(declared, schema.Section)):
            break
        kind = declared
    return kind


def _lookup(raw: Mapping[str, Any], where: str) -> Any:
    """The raw value at a dotted key such as 'farm.shared_pools[0]', or _ABSENT."""
    value: Any = raw
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", where):
        if part.startswith("[") and isinstance(value, list) and int(part[1:-1]) < len(value):
            value = value[int(part[1:-1])]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return _ABSENT
    return value


def _line_of(text: str, where: str) -> int | None:
    """The line of a dotted key ('hosts.h1.uri') in TOML text: its [table] header, or `key =` in a table.

    Best effort for the plain layouts (tables with key = value lines, inline tables on one
    line); None when unsure, since TOML's parser gives lines only for syntax errors.
    """
    parts = [re.escape(part) for part in re.sub(r"\[\d+\]", "", where).split(".") if part]
    lines = text.splitlines()

    def header(names: list[str]) -> re.Pattern[str]:
        keys = r"\s*\.\s*".join(rf"(?:{n}|\"{n}\"|'{n}')" for n in names)
        return re.compile(rf"^\s*\[\s*{keys}\s*\]\s*(?:#.*)?$")

    whole = header(parts)
    for number, line in enumerate(lines, 1):
        if whole.match(line):
            return number
    for split in range(len(parts) - 1, -1, -1):
        table, key = parts[:split], parts[split]
        start = 0
        if table:
            start = next((n for n, line in enumerate(lines, 1) if header(table).match(line)), -1)
            if start < 0:
                continue
        assignment = re.compile(rf"^\s*(?:{key}|\"{key}\"|'{key}')\s*=")
        for number in range(start + 1, len(lines) + 1):
            if lines[number - 1].lstrip().startswith("["):
                break
            if assignment.match(lines[number - 1]):
                return number
    return None


def _toml(value: Any) -> str:
    """A value as it would be written in the file: true, 'text', [1, 2]."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _bounds(declared: Any) -> str:
    """'from 1 to 4094', 'more than 0 and at most 3600': the range an Annotated number must lie in."""
    meta = next((m for m in typing.get_args(declared)[1:] if isinstance(m, msgspec.Meta)), None)
    if meta is None:
        return ""
    low = ""
    if meta.gt is not None:
        low = f"more than {meta.gt:g}"
    elif meta.ge is not None:
        low = f"at least {meta.ge:g}"
    high = f"at most {meta.le:g}" if meta.le is not None else ""
    if meta.ge is not None and meta.le is not None:
        return f"a number from {meta.ge:g} to {meta.le:g}"
    return " and ".join(part for part in (low, high) if part)
