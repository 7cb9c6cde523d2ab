"""Which addresses a webhook may reach (hub/integrations/targets.py)."""

from __future__ import annotations

import ipaddress

import pytest

from hub.errors import Invalid
from hub.integrations.targets import check_target, forbidden_address, is_own_address


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("169.254.169.254", True),
        ("fe80::1%eth0", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),  # carrier-grade NAT, shared
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("fd00::1", True),
        ("not an address", True),
        ("93.184.215.14", False),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False),
    ],
)
def test_forbidden_addresses(address: str, forbidden: bool) -> None:
    assert forbidden_address(address) is forbidden


def test_the_machines_own_addresses_are_recognised() -> None:
    assert is_own_address(ipaddress.ip_address("127.0.0.1"))
    assert not is_own_address(ipaddress.ip_address("93.184.215.14"))


async def test_allowing_private_targets_still_checks_the_url() -> None:
    await check_target("http://127.0.0.1:9/x", allow_private=True)
    with pytest.raises(Invalid) as refused:
        await check_target("gopher://127.0.0.1/x", allow_private=True)
    assert refused.value.code == "invalid_webhook_url"
    with pytest.raises(Invalid):
        await check_target("http://127.0.0.1:9/x", allow_private=False)
