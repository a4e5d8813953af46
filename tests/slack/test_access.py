"""The fleet config's users, groups and channels: checked on load, and the role each gives where."""

from __future__ import annotations

import pytest

from granja.config import ConfigError, load_config

BASE = '[hosts.h1]\nuri = "test:///default"\n'


def config(tmp_path, text: str):
    path = tmp_path / "farm.toml"
    path.write_text(BASE + text)
    return load_config(path)


@pytest.mark.parametrize(("text", "problem"), [
    ('[groups.S1]\nrole = "root"\n', "farm.toml: groups.S1.role: must be one of viewer, operator, admin"),
    ('[channels.C1]\nrole = 3\n', "farm.toml: channels.C1.role: must be a string, not 3"),
    ('[farm]\nconfirm_timeout = 0\n',
     "farm.toml: farm.confirm_timeout: must be more than 0 and at most 86400, not 0"),
])
def test_bad_access_entries_name_the_key(tmp_path, text, problem):
    with pytest.raises(ConfigError) as error:
        config(tmp_path, text)
    assert problem in str(error.value)


def test_roles_come_from_users_and_groups_and_channels_cap_them(tmp_path):
    access = config(tmp_path, """
[users.U1]
role = "viewer"
[groups.SOPS]
role = "admin"
[channels.CGEN]
role = "viewer"
[channels.direct]
role = "operator"
""").access
    assert access.standing("U1", channel="CGEN").role == "viewer"
    assert access.standing("U1", groups=["SOPS"], channel="console").role == "admin"
    capped = access.standing("U1", groups=["SOPS"], channel="CGEN")
    assert capped.role == "viewer"
    assert capped.why == "your role is admin, but this channel allows at most viewer"
    assert access.standing("U1", groups=["SOPS"], channel="D9", direct=True).role == "operator"
    assert access.standing("U1", channel="COTHER").role == ""
    assert access.standing("U2", channel="CGEN").why == "U2 has no role in this farm"
    assert access.confirm_seconds == 300
