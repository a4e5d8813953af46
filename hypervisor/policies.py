"""What a host does when a VM powers off or crashes: the allowed actions, and setting one in XML.

libvirt keeps these policies in the domain definition (`<on_poweroff>`,
`<on_crash>`); a change is a redefinition, so it takes effect the next time
the VM starts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypervisor.domain_xml import GRANJA_NS

ET.register_namespace("granja", GRANJA_NS)

POLICY_EVENTS = ("on_poweroff", "on_crash")
ALLOWED: dict[str, tuple[str, ...]] = {
    "on_poweroff": ("destroy", "restart", "preserve", "rename-restart"),
    "on_crash": ("destroy", "restart", "preserve", "rename-restart", "coredump-destroy",
                 "coredump-restart"),
}


def check_policy(event: str, action: str) -> str | None:
    """None if `action` is allowed for `event`, else a sentence saying what is."""
    allowed = ALLOWED.get(event)
    if allowed is None:
        return f"'{event}' is not a policy; use one of {', '.join(POLICY_EVENTS)}."
    if action not in allowed:
        return f"{event} cannot be '{action}'; use one of {', '.join(allowed)}."
    return None


def with_policy(xml: str, event: str, action: str) -> str:
    """The domain XML with `event` (on_poweroff or on_crash) set to `action`."""
    problem = check_policy(event, action)
    if problem is not None:
        raise ValueError(problem)
    root = ET.fromstring(xml)
    element = root.find(event)
    if element is None:
        element = ET.SubElement(root, event)
    element.text = action
    return ET.tostring(root, encoding="unicode")
