"""`create VM from TEMPLATE on HOST` keeps the placement rules as 'migrate VM to HOST' does, 'force' too."""

from __future__ import annotations

from bot.results import Outcome
from tests.farm_ops.helpers import host_with_cluster_member


def test_create_next_to_a_cluster_member_is_refused_naming_the_force_form(chat):
    host = host_with_cluster_member(chat.engine, "ldap", besides="")
    reply = chat.send(f"create ldap10 from ldap on {host}")
    assert reply.outcome is Outcome.REFUSED, chat.transcript
    assert chat.transcript.startswith(f"Not creating ldap10 on {host}: {host} already runs ")
    assert "of cluster ldap" in chat.transcript
    assert f"say 'create ldap10 from ldap on {host} force', or 'create ldap10 from ldap' to let granja " \
           "choose (" in chat.transcript
    assert chat.engine.inventory.vm("ldap10") is None
    reply = chat.send(f"create ldap10 from ldap on {host} force")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"FORCED although {host} already runs " in chat.transcript
    assert chat.engine.inventory.vm("ldap10").vm.host == host


def test_create_on_a_host_in_maintenance_is_refused(chat):
    host = "host02"
    chat.engine.inventory.set_maintenance(host, on=True, at=chat.engine.clock(), user="test")
    reply = chat.send(f"create test1 from web on {host}")
    assert reply.outcome is Outcome.REFUSED, chat.transcript
    assert f"Not creating test1 on {host}: {host} is in maintenance." in chat.transcript
    assert chat.engine.inventory.vm("test1") is None
