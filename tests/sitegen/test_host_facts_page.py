"""A host's page says which facts sections are unknown or read another way, and which bond slaves
carry no traffic and why (real facts samples, a real MkDocs build, the HTML read back)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

from hypervisor.facts_script import parse_facts
from tests.sitegen.test_site import HOSTS, make_host, new_site, row_of

FACTS = Path(__file__).parents[1] / "realdata" / "facts"


def shown_text(page: str) -> str:
    """The page's text as a browser shows it: tags dropped, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_host_page_shows_unknown_sections_fallbacks_and_slaves_out_of_the_aggregator(tmp_path: Path) -> None:
    output = "".join(f"@@bond {name}\n{(FACTS / file).read_text()}\n" for name, file in [
        ("bond0", "bonding-insights-802.3ad-v3.2.4-two-aggregators.txt"),
        ("bond1", "bonding-insights-802.3ad-v3.7.1-slave-down.txt")])
    output += (FACTS / "facts-script-debian12-netns-no-ip-json.txt").read_text()
    HOSTS[1] = replace(HOSTS[1], facts=parse_facts(output))
    try:
        page = new_site(tmp_path).html("hosts/host2.html")
    finally:
        HOSTS[1] = make_host("host2")
    assert row_of(page, "bond0")[1:] == ["802.3ad", "eth1, eth2", "eth1", "eth2 (not in active aggregator)"]
    assert row_of(page, "bond1")[1:] == ["802.3ad", "enp0s9, enp0s8", "enp0s9", "enp0s8 (down)"]
    assert row_of(page, "xenbr0")[1:] == ["eno1, vif3.0"]
    text = shown_text(page)
    assert "Hypervisor unknown neither `xl info` nor `virsh nodeinfo` answered" in text
    assert ("Bridges read from /sys/class/net/*/brif: `ip -j -d link` failed (exit 255); "
            "iproute2 older than 4.14?") in text
    assert 'class="admonition warning"' in page
