"""The onion address setting: a v3 address is accepted only when its checksum holds."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.settings import ConfigError, load_settings, onion_address

# Published v3 onion services (DuckDuckGo, the Tor Project's website).
KNOWN = [
    "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion",
    "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion",
]
GOOD_ENV = {
    "VISSELPIPA_SECRET_KEY": "s" * 40,
    "VISSELPIPA_TENANT_SALT": "ab" * 16,
    "VISSELPIPA_SIGNING_SEED": "cd" * 32,
}


def _encode(public_key: bytes, version: int = 3) -> str:
    checksum = hashlib.sha3_256(b".onion checksum" + public_key + bytes([version])).digest()[:2]
    return base64.b32encode(public_key + checksum + bytes([version])).decode().lower() + ".onion"


@pytest.mark.parametrize("address", KNOWN)
def test_published_onion_addresses_are_accepted(address):
    assert onion_address(address) == address
    assert onion_address(f"  {address.upper()} ") == address  # case and spaces as pasted


def test_empty_means_no_onion_service(tmp_path):
    assert onion_address("") == ""
    settings = load_settings({**GOOD_ENV, "VISSELPIPA_DATA_DIR": str(tmp_path)})
    assert settings.onion_address == ""


def test_the_setting_is_read_from_the_environment(tmp_path):
    env = {**GOOD_ENV, "VISSELPIPA_DATA_DIR": str(tmp_path), "VISSELPIPA_ONION_ADDRESS": KNOWN[0]}
    assert load_settings(env).onion_address == KNOWN[0]


@pytest.mark.parametrize(
    "text",
    [
        KNOWN[0][:-6],  # no .onion
        KNOWN[0][1:],  # 55 characters
        "expyuzz4wqqyqhjn.onion",  # a retired v2 address (16 characters)
        KNOWN[0].replace("d", "0", 1),  # 0 is not base32
        KNOWN[0].replace(".onion", ".com"),
        "https://" + KNOWN[0],
        _encode(b"\x01" * 32, version=2),  # right checksum, wrong version
    ],
)
def test_malformed_addresses_are_refused_naming_the_setting(tmp_path, text):
    env = {**GOOD_ENV, "VISSELPIPA_DATA_DIR": str(tmp_path), "VISSELPIPA_ONION_ADDRESS": text}
    with pytest.raises(ConfigError, match="VISSELPIPA_ONION_ADDRESS"):
        load_settings(env)


@pytest.mark.parametrize("address", KNOWN)
def test_a_mistyped_character_anywhere_is_caught_by_the_checksum(address):
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    for position in range(56):
        original = address[position]
        typo = alphabet[(alphabet.index(original) + 1) % 32]
        with pytest.raises(ConfigError):
            onion_address(address[:position] + typo + address[position + 1 :])


@given(st.binary(min_size=32, max_size=32))
def test_every_v3_encoding_of_a_key_is_accepted(public_key):
    address = _encode(public_key)
    assert len(address) == 56 + len(".onion")
    assert onion_address(address) == address
