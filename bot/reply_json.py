"""A reply as JSON for scripts (`granja ask --json`): the Result data, versioned, with its JSON Schema.

The document is an envelope around the reply's body, the same data the chat renders:

    {"schema": "granja.reply/1", "outcome": "ok", "exit_code": 0, "summary": "...",
     "vm": "ldap3", "hosts": ["host07"], "extra": {}, "kind": "Located", "body": {...}}

`kind` names the body's type (a dataclass of bot/results.py) and says which of the schema's
`$defs` the body follows. Fields are only ever added within a version; renaming or removing
one raises SCHEMA_VERSION.
"""

from __future__ import annotations

import typing
from typing import Any

import msgspec

from bot.exit_codes import exit_code
from bot.results import Body, Outcome, Reply

SCHEMA_VERSION = 1
SCHEMA = f"granja.reply/{SCHEMA_VERSION}"
BODIES: dict[str, type] = {kind.__name__: kind for kind in typing.get_args(Body)}


class Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """What `granja ask --json` prints: how the command ended, and its body."""

    schema: str
    outcome: Outcome
    exit_code: int
    summary: str
    vm: str
    hosts: list[str]
    extra: dict[str, str]
    kind: str
    body: msgspec.Raw


def to_json(reply: Reply) -> str:
    """The reply as one line of JSON following the schema."""
    body = _lean(msgspec.to_builtins(reply.body, order="deterministic"))  # sets sorted
    document = {"schema": SCHEMA, "outcome": reply.outcome, "exit_code": exit_code(reply),
                "summary": reply.summary, "vm": reply.vm, "hosts": list(reply.hosts),
                "extra": dict(reply.extra), "kind": type(reply.body).__name__, "body": body}
    return msgspec.json.encode(document, order="deterministic").decode()


def _lean(value: object) -> object:
    """Builtins without a VM's full domain XML (`definition`, kept for `recover` only; it may be long)."""
    if isinstance(value, dict):
        return {k: _lean(v) for k, v in value.items() if not (k == "definition" and "uuid" in value)}
    if isinstance(value, list | tuple):  # to_builtins keeps a dataclass's tuples as tuples
        return [_lean(v) for v in value]
    return value


def from_json(text: str | bytes) -> tuple[Envelope, object]:
    """Decode and check a document: its envelope and its body as the dataclass `kind` names.

    Raises msgspec.ValidationError naming the first field that does not follow the schema.
    """
    envelope = msgspec.json.decode(text, type=Envelope)
    if envelope.schema != SCHEMA:
        raise msgspec.ValidationError(f"schema {envelope.schema!r} is not {SCHEMA!r}")
    kind = BODIES.get(envelope.kind)
    if kind is None:
        raise msgspec.ValidationError(f"unknown kind {envelope.kind!r}")
    return envelope, msgspec.json.decode(envelope.body, type=kind)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the document: the envelope, and one `$defs` entry per body kind."""
    _, defs = msgspec.json.schema_components([Envelope, *BODIES.values()], ref_template="#/$defs/{name}")
    shape = dict(defs.pop("Envelope"))
    variants = [{"properties": {"kind": {"const": name}, "body": {"$ref": f"#/$defs/{name}"}}}
                for name in BODIES]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **shape,
        "title": f"granja reply, version {SCHEMA_VERSION}",
        "properties": {**shape["properties"], "schema": {"const": SCHEMA},
                       "kind": {"enum": list(BODIES)}, "body": {"type": "object"}},
        "oneOf": variants,
        "$defs": defs,
    }


if __name__ == "__main__":  # python -m bot.reply_json > schema/reply-1.json
    import json

    print(json.dumps(json_schema(), indent=2))
