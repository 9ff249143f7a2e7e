"""Token minting during a client-secret rotation: the previous credentials carry the overlap window."""

from __future__ import annotations

import pytest

from application.access import MintedToken
from application.errors import CredentialsRevoked
from infrastructure.minting import RotatingMinter


class Store:
    def __init__(self, current, previous=None):
        self._current, self._previous = current, previous

    def current(self, system):
        return self._current

    def previous(self, system):
        return self._previous


def vendor_accepting(*secrets):
    def mint(credentials):
        if credentials["client_secret"] not in secrets:
            raise CredentialsRevoked("invalid_client", code="invalid_client")
        return MintedToken(f"token-for-{credentials['client_secret']}", 3599)
    return mint


def test_the_current_secret_is_used_when_the_vendor_accepts_it():
    minter = RotatingMinter("zuora", Store({"client_secret": "new"}, {"client_secret": "old"}),
                            vendor_accepting("old", "new"))
    assert minter.mint().access_token == "token-for-new"


def test_while_the_vendor_does_not_know_the_new_secret_yet_the_previous_one_mints():
    minter = RotatingMinter("zuora", Store({"client_secret": "new"}, {"client_secret": "old"}),
                            vendor_accepting("old"))
    assert minter.mint().access_token == "token-for-old"


def test_a_revoked_secret_without_a_previous_one_is_an_alarm_not_a_retry():
    minter = RotatingMinter("zuora", Store({"client_secret": "gone"}), vendor_accepting("other"))
    with pytest.raises(CredentialsRevoked):
        minter.mint()
