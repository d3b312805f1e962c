"""Driving the staff sign-in pages like a person would, for the staff tests."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from html import unescape
from typing import Any

import pyotp
from flask.testing import FlaskClient
from nacl.public import PrivateKey

from crypto.signing import Signer
from identity import accounts
from identity.key_log import OPERATOR
from tests.functional.pages import hidden_fields

PASSWORD = "korrekt häst batteri häfta"
SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7 ]+)<')
CODE_RE = re.compile(r"<li><code>([0-9A-Z-]+)</code></li>")


@dataclass
class Member:
    id: str
    username: str
    password: str
    private_key: PrivateKey


def add_member(
    deployment: Any,
    username: str = "anna",
    role: str = "investigator",
    desks: tuple[str, ...] = ("anticorruption",),
) -> Member:
    with deployment.engine.begin() as conn:
        member, private = accounts.create_staff(
            conn, username, role, PASSWORD, deployment.settings.kdf
        )
        for desk in desks:
            accounts.add_desk_member(
                conn,
                desk,
                member.id,
                deployment.desk_keys[desk],
                Signer(deployment.settings.signing_seed),
                OPERATOR,
            )
    return Member(member.id, username, PASSWORD, private)


def post_form(client: FlaskClient, path: str, **fields: str) -> Any:
    """GET the page, then POST its form with its hidden fields plus ``fields``."""
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={**hidden_fields(page), **fields})


def sign_in(client: FlaskClient, username: str, password: str) -> Any:
    return post_form(client, "/staff/login", username=username, password=password)


def enrol(client: FlaskClient) -> tuple[pyotp.TOTP, list[str], Any]:
    """Enrol after the password step: scan (read the secret), confirm, keep the codes."""
    page = client.get("/staff/enrol").get_data(as_text=True)
    match = SECRET_RE.search(page)
    assert match, "no TOTP secret on the enrolment page"
    totp = pyotp.TOTP(match.group(1).replace(" ", ""))
    response = client.post("/staff/enrol", data={**hidden_fields(page), "code": totp.now()})
    codes = CODE_RE.findall(response.get_data(as_text=True))
    return totp, codes, response


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the next time step (accepted: ±1 step), unused so far."""
    return totp.at(time.time() + 30)


def text(response: Any) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())
