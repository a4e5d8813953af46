"""Guest addresses and use as the demo farm's hosts (libvirt's test driver) report them, in the chat."""

from __future__ import annotations

import re


def test_show_gives_the_addresses_and_the_cpu_use_read_at_refresh(chat):
    chat.send("refresh")
    chat.send("refresh")  # CPU use is the growth between two readings
    usage = chat.engine.inventory.vm("ldap3").vm.usage
    assert usage is not None
    assert usage.cpu_percent is not None
    chat.send("show ldap3")
    addresses = ", ".join(chat.engine.farm.call(chat.engine.inventory.vm("ldap3").vm.host,
                                                lambda d: d.addresses("ldap3")))
    assert addresses  # the test driver gives each NIC an address
    assert f"\n  addresses  {addresses}\n" in chat.transcript
    assert re.search(r"^  in use     CPU [\d.]+%$", chat.transcript, re.M), chat.transcript


def test_a_shut_off_vm_shows_no_use(chat):
    chat.send("shutdown ldap3")
    chat.send("refresh")
    chat.send("show ldap3")
    assert "in use" not in chat.transcript
    assert "addresses" not in chat.transcript
