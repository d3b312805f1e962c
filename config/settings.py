"""Load and validate the settings: defaults, then a TOML file, then the environment.

Order of precedence (last wins):

1. ``config/settings.toml`` shipped with the package,
2. ``<data_dir>/secrets.toml`` written by ``visselpipa init`` (secrets only),
3. the TOML file named by ``VISSELPIPA_CONFIG``,
4. environment variables ``VISSELPIPA_<KEY>`` (e.g. ``VISSELPIPA_DATABASE_URL``).

Anything missing or invalid raises :class:`ConfigError` naming the setting
and how to fix it; the application refuses to start rather than fall back to
a weak default.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from limits import parse as parse_rate

from caseflow.domain.errors import RuleFileError
from caseflow.domain.rules import Rules, load_rules
from caseflow.domain.vocabulary import ChannelType
from config.privacy import PRIVACY_FILE, PrivacyFileError, PrivacyNotice, load_privacy
from crypto.kdf import MINIMUM_COST, TENANT_SALT_BYTES, KdfCost
from crypto.signing import SEED_BYTES

PREFIX = "VISSELPIPA_"
PACKAGE_DIR = Path(__file__).resolve().parent
SECRETS_FILE = "secrets.toml"


class ConfigError(Exception):
    """A setting or reference file is missing or invalid; the message names it."""


@dataclass(frozen=True)
class Named:
    """An entry of a reference list: a stable id and its Swedish and English names."""

    id: str
    sv: str
    en: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.sv


class Category(Named):
    """A kind of misconduct the reporter chooses (config/categories.toml)."""


class Agency(Named):
    """A state agency a report can concern (config/agencies.toml)."""


class Desk(Named):
    """A desk that receives cases (config/desks.toml)."""


AUTHORITY_KINDS = ("se", "eu")


@dataclass(frozen=True)
class Authority:
    """Where a report may go outside the agency (config/external.toml).

    ``kind`` is ``se`` for a competent authority of ordinance 2021:949 and
    ``eu`` for an EU institution, body or agency with its own external
    channel; ``source`` names what the entry was taken from.
    """

    kind: str
    sv: str
    en: str
    area_sv: str
    area_en: str
    url: str
    source: str

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.sv

    def area(self, locale: str) -> str:
        return self.area_en if locale == "en" else self.area_sv


#: How the connection to the SMTP server is protected.
SMTP_SECURITY = ("starttls", "ssl", "none")


@dataclass(frozen=True)
class Mail:
    """Staff notifications by e-mail (app/mail.py): one digest a day, counts only.

    ``smtp_host`` empty (the default) means no mail is sent at all.
    """

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = ""
    #: The workspace's address as staff reach it, e.g. ``https://visselpipa.example.se``.
    base_url: str = ""
    #: The hour and minute (Europe/Stockholm) from which a day's digest is sent.
    digest_hour: int = 7
    digest_minute: int = 0
    #: "A deadline within N days" counts the cases due today up to N days ahead.
    deadline_notice_days: int = 2

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host)

    def __repr__(self) -> str:  # never print the password
        return f"Mail(smtp_host={self.smtp_host!r}, smtp_port={self.smtp_port})"


@dataclass(frozen=True)
class Settings:
    secret_key: str
    tenant_salt: bytes
    signing_seed: bytes
    data_dir: Path
    database_url: str
    kdf: KdfCost
    max_file_bytes: int
    max_files: int
    max_request_bytes: int
    max_check_bytes: int
    reporter_session_minutes: int
    receipt_floor_ms: int
    default_locale: str
    plain_http: bool
    access_log: bool
    categories: tuple[Category, ...]
    agencies: tuple[Agency, ...]
    desks: tuple[Desk, ...]
    authorities: tuple[Authority, ...]
    rules: Rules
    rate_limit_storage: str
    limits: dict[str, tuple[str, str, str, int]]
    #: Minutes between signed checkpoints of the event log (``visselpipa tick``).
    checkpoint_interval_minutes: int = 60
    # Staff sign-in (defaults here so code that builds Settings directly keeps working).
    staff_idle_minutes: int = 30
    staff_session_hours: int = 12
    login_max_failures: int = 5
    login_lock_seconds: int = 60
    login_max_lock_seconds: int = 86400
    #: The deployment's Tor onion service (v3, ``<56 base32>.onion``), or empty.
    #: When set, every HTTPS page names it in an ``Onion-Location`` header.
    onion_address: str = ""
    #: Bearer token that opens ``/metrics``; empty: ``/metrics`` is a 404.
    metrics_token: str = ""
    #: Allow an Argon2id cost below :data:`crypto.kdf.MINIMUM_COST`: for the
    #: test suite only (``VISSELPIPA_INSECURE_TEST_KDF=1``).
    insecure_test_kdf: bool = False
    #: Staff notifications by e-mail; off unless an SMTP host is set.
    mail: Mail = Mail()
    #: The privacy notice and record of processing (``config/privacy.toml``).
    privacy: PrivacyNotice = field(default_factory=load_privacy)

    def __repr__(self) -> str:  # never print the secrets
        return f"Settings(data_dir={self.data_dir!s}, database_url=<hidden>)"

    @property
    def channel_type(self) -> ChannelType:
        """Internal or external channel: the feedback deadline's rules follow it."""
        return self.rules.deadlines.channel

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: file not found") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e


def _env_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    return {k[len(PREFIX) :].lower(): v for k, v in environ.items() if k.startswith(PREFIX)}


def _as_int(name: str, value: object, minimum: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{name}: {value!r} is not a whole number") from None
    if number < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {number}")
    return number


def _as_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: {value!r} is not true or false")


def _records(path: Path, table: str, cls: type[Any]) -> tuple[Any, ...]:
    data = _read_toml(path)
    rows = data.get(table)
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: key [[{table}]]: at least one entry is required")
    names = [f.name for f in fields(cls)]
    out = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        for name in names:
            if not isinstance(row.get(name), str) or not row[name].strip():
                raise ConfigError(f"{path}: key {table}[{i}].{name}: a non-empty text is required")
        unknown = set(row) - set(names)
        if unknown:
            raise ConfigError(f"{path}: key {table}[{i}]: unknown keys {sorted(unknown)}")
        ident = row.get("id", row.get("sv"))
        if ident in seen:
            raise ConfigError(f"{path}: key {table}[{i}].id: {ident!r} appears twice")
        seen.add(ident)
        out.append(cls(**{n: row[n] for n in names}))
    return tuple(out)


def load_reference(directory: Path = PACKAGE_DIR) -> dict[str, tuple[Any, ...]]:
    """Read the reference lists (categories, agencies, desks, authorities)."""
    desks = _records(directory / "desks.toml", "desk", Desk)
    categories = _records(directory / "categories.toml", "category", Category)
    return {
        "desks": desks,
        "categories": categories,
        "agencies": _records(directory / "agencies.toml", "agency", Agency),
        "authorities": _authorities(directory / "external.toml"),
    }


def _authorities(path: Path) -> tuple[Authority, ...]:
    authorities: tuple[Authority, ...] = _records(path, "authority", Authority)
    for i, authority in enumerate(authorities):
        if authority.kind not in AUTHORITY_KINDS:
            raise ConfigError(
                f"{path}: key authority[{i}].kind: {authority.kind!r} is not one of "
                f"{', '.join(AUTHORITY_KINDS)}"
            )
        if not authority.url.startswith(("https://", "http://")):
            raise ConfigError(f"{path}: key authority[{i}].url: a web address is required")
    return authorities


def load_checked_rules(
    directory: Path, categories: tuple[Category, ...], desks: tuple[Desk, ...]
) -> Rules:
    """The workflow rule files, checked against the reference lists."""
    try:
        rules = load_rules(directory)
    except RuleFileError as e:
        raise ConfigError(str(e)) from None
    routed = set(rules.routing.categories)
    for i, category in enumerate(categories):
        if category.id not in routed:
            raise ConfigError(
                f"{directory / 'routing.toml'}: key categories.{category.id}: category[{i}] of "
                "categories.toml has no route"
            )
    desk_ids = {d.id for d in desks}
    unknown = sorted(rules.routing.desks - desk_ids)
    if unknown:
        raise ConfigError(
            f"{directory / 'routing.toml'}: key desks: {unknown} are not desks in desks.toml"
        )
    return rules


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    require_secrets: bool = True,
) -> Settings:
    """Build the settings; raise ConfigError naming the first bad one.

    ``overrides`` (used by tests and the CLI) win over everything else.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = dict(_read_toml(PACKAGE_DIR / "settings.toml"))
    env = _env_overrides(environ)
    extra_file = env.pop("config", None)
    merged_before_secrets = {**raw, **env, **(overrides or {})}
    data_dir = Path(str(merged_before_secrets.get("data_dir") or "instance")).resolve()
    secrets_path = data_dir / SECRETS_FILE
    if secrets_path.exists():
        raw.update(_read_toml(secrets_path))
    if extra_file:
        raw.update(_read_toml(Path(extra_file)))
    raw.update(env)
    raw.update(overrides or {})

    unknown = set(raw) - _KNOWN
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(sorted(unknown))}: "
            f"check the spelling (environment variables start with {PREFIX})"
        )

    secret_key = str(raw.get("secret_key") or "")
    salt_hex = str(raw.get("tenant_salt") or "")
    if require_secrets:
        if len(secret_key) < 32:
            raise ConfigError(
                "secret_key is missing or shorter than 32 characters: run `visselpipa init` "
                f"or set {PREFIX}SECRET_KEY"
            )
        try:
            tenant_salt = bytes.fromhex(salt_hex)
        except ValueError:
            tenant_salt = b""
        if len(tenant_salt) != TENANT_SALT_BYTES:
            raise ConfigError(
                f"tenant_salt is missing or not {TENANT_SALT_BYTES} bytes of hex: run "
                f"`visselpipa init` or set {PREFIX}TENANT_SALT (it must never change once "
                "reports exist: receipts are derived with it)"
            )
        signing_seed = _signing_seed(str(raw.get("signing_seed") or ""))
    else:
        tenant_salt = bytes.fromhex(salt_hex) if salt_hex else b""
        signing_seed = b""

    database_url = (
        str(raw.get("database_url") or "") or f"sqlite:///{data_dir / 'visselpipa.sqlite3'}"
    )
    if not database_url.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
        raise ConfigError(
            "database_url: only sqlite:///PATH and postgresql+psycopg://… are supported"
        )
    database_url = with_driver(database_url)
    try:
        kdf = KdfCost(
            time_cost=_as_int("kdf_time_cost", raw["kdf_time_cost"], 1),
            memory_kib=_as_int("kdf_memory_kib", raw["kdf_memory_kib"], 8),
            parallelism=_as_int("kdf_parallelism", raw["kdf_parallelism"], 1),
        )
    except ValueError as e:
        raise ConfigError(f"kdf: {e}") from None
    insecure_test_kdf = _as_bool("insecure_test_kdf", raw.get("insecure_test_kdf", False))
    if not kdf.meets_floor() and not insecure_test_kdf:
        # Failing closed: a weak cost makes every receipt and staff key cheap
        # to guess from a stolen database, and rows made with it keep that
        # cost for their whole life (the cost is stored with each).
        weak = "kdf_time_cost" if kdf.time_cost < MINIMUM_COST.time_cost else "kdf_memory_kib"
        raise ConfigError(
            f"{weak}: Argon2id t={kdf.time_cost}, m={kdf.memory_kib} KiB is below the floor "
            f"t={MINIMUM_COST.time_cost}, m={MINIMUM_COST.memory_kib} KiB (19 MiB): set "
            f"{PREFIX}KDF_TIME_COST and {PREFIX}KDF_MEMORY_KIB at least that high (the "
            f"defaults are t=3, m=65536). Only the test suite may go lower, with "
            f"{PREFIX}INSECURE_TEST_KDF=1"
        )
    locale = str(raw.get("default_locale", "sv"))
    if locale not in {"sv", "en"}:
        raise ConfigError(f"default_locale: {locale!r} is not one of sv, en")
    storage = str(raw.get("rate_limit_storage") or "memory://")
    if not storage.startswith(("memory://", "redis://", "rediss://")):
        raise ConfigError("rate_limit_storage: use memory:// or redis://host:port/db")
    limits = {}
    for action in ACTIONS:
        rates = []
        for suffix in ("", "_fresh", "_patient"):
            key = f"limit_{action}{suffix}"
            text = str(raw.get(key, ""))
            try:
                parse_rate(text)
            except ValueError:
                raise ConfigError(f"{key}: {text!r} is not a rate such as '5/hour'") from None
            rates.append(text)
        patience = _as_int(f"{action}_patience_seconds", raw[f"{action}_patience_seconds"], 0)
        limits[action] = (rates[0], rates[1], rates[2], patience)
    metrics_token = str(raw.get("metrics_token") or "")
    if metrics_token and (len(metrics_token) < 32 or not metrics_token.isprintable()):
        raise ConfigError(
            "metrics_token: use at least 32 printable characters (for example "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`), or leave it "
            "empty to keep /metrics closed"
        )
    reference = load_reference()
    rules_dir = Path(str(raw.get("rules_dir") or PACKAGE_DIR / "rules"))
    rules = load_checked_rules(rules_dir, reference["categories"], reference["desks"])
    channel = str(raw.get("channel_type") or "internal").strip().lower()
    if channel not in {c.value for c in ChannelType}:
        raise ConfigError(
            f"channel_type: {channel!r} is not internal (an agency's own channel) or external "
            "(a competent authority's channel)"
        )
    rules = replace(rules, deadlines=replace(rules.deadlines, channel=ChannelType(channel)))
    try:
        privacy = load_privacy(Path(str(raw.get("privacy_file") or PRIVACY_FILE)))
    except PrivacyFileError as e:
        raise ConfigError(f"privacy_file: {e}") from None
    return Settings(
        secret_key=secret_key,
        tenant_salt=tenant_salt,
        signing_seed=signing_seed,
        data_dir=data_dir,
        database_url=database_url,
        kdf=kdf,
        max_file_bytes=_as_int("max_file_bytes", raw["max_file_bytes"], 1),
        max_files=_as_int("max_files", raw["max_files"], 0),
        max_request_bytes=_as_int("max_request_bytes", raw["max_request_bytes"], 1024),
        max_check_bytes=_as_int("max_check_bytes", raw.get("max_check_bytes", 16 << 20), 1024),
        reporter_session_minutes=_as_int(
            "reporter_session_minutes", raw["reporter_session_minutes"], 1
        ),
        receipt_floor_ms=_as_int("receipt_floor_ms", raw.get("receipt_floor_ms", 0), 0),
        checkpoint_interval_minutes=_as_int(
            "checkpoint_interval_minutes", raw.get("checkpoint_interval_minutes", 60), 1
        ),
        default_locale=locale,
        plain_http=_as_bool("plain_http", raw.get("plain_http", False)),
        access_log=_as_bool("access_log", raw.get("access_log", False)),
        rules=rules,
        rate_limit_storage=storage,
        limits=limits,
        staff_idle_minutes=_as_int("staff_idle_minutes", raw.get("staff_idle_minutes", 30), 1),
        staff_session_hours=_as_int("staff_session_hours", raw.get("staff_session_hours", 12), 1),
        login_max_failures=_as_int("login_max_failures", raw.get("login_max_failures", 5), 1),
        login_lock_seconds=_as_int("login_lock_seconds", raw.get("login_lock_seconds", 60), 1),
        login_max_lock_seconds=_as_int(
            "login_max_lock_seconds", raw.get("login_max_lock_seconds", 86400), 1
        ),
        onion_address=onion_address(str(raw.get("onion_address") or "")),
        metrics_token=metrics_token,
        insecure_test_kdf=insecure_test_kdf,
        mail=_mail(raw),
        privacy=privacy,
        **reference,
    )


def with_driver(database_url: str) -> str:
    """``postgresql://…`` as SQLAlchemy needs it for psycopg 3; other URLs unchanged."""
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return database_url


ONION_SUFFIX = ".onion"
_ONION_LABEL_CHARS = 56  # base32 of public key (32) || checksum (2) || version (1)


def onion_address(text: str) -> str:
    """A v3 onion address, lower-cased, checked down to its checksum; "" stays "".

    Tor's rend-spec-v3: ``base32(pubkey || checksum || version) + ".onion"``
    with version 3 and ``checksum = SHA3-256(".onion checksum" || pubkey ||
    version)[:2]``, so a mistyped address is refused at start, not published.
    """
    address = text.strip().lower()
    if not address:
        return ""
    label = address.removesuffix(ONION_SUFFIX)
    hint = (
        f"{PREFIX}ONION_ADDRESS: {text!r} is not a v3 onion address "
        f"(56 letters a-z and digits 2-7, then {ONION_SUFFIX}; copy it from the "
        "hostname file in tor's HiddenServiceDir)"
    )
    if label == address or len(label) != _ONION_LABEL_CHARS:
        raise ConfigError(hint)
    try:
        raw = base64.b32decode(label.upper())
    except binascii.Error:
        raise ConfigError(hint) from None
    public_key, checksum, version = raw[:32], raw[32:34], raw[34:]
    expected = hashlib.sha3_256(b".onion checksum" + public_key + version).digest()[:2]
    if version != b"\x03" or checksum != expected:
        raise ConfigError(f"{hint}: its checksum or version does not match")
    return address


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _mail(raw: Mapping[str, Any]) -> Mail:
    host = str(raw.get("smtp_host") or "").strip()
    security = str(raw.get("smtp_security") or "starttls").strip().lower()
    if security not in SMTP_SECURITY:
        raise ConfigError(f"smtp_security: {security!r} is not one of {', '.join(SMTP_SECURITY)}")
    # Failing closed: over a network the password and the recipients would
    # travel in the clear; only a relay on this machine may be spoken to so.
    if host and security == "none" and host not in _LOOPBACK:
        raise ConfigError(
            f"smtp_security: 'none' is allowed only for a relay on this machine "
            f"(smtp_host localhost or 127.0.0.1), not {host!r}: use starttls or ssl"
        )
    hour_text = str(raw.get("mail_digest_at") or "07:00").strip()
    hour, _, minute = hour_text.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ConfigError(
            f"mail_digest_at: {hour_text!r} is not a time of day such as 07:00 (Europe/Stockholm)"
        )
    mail_from = str(raw.get("mail_from") or "").strip()
    base_url = str(raw.get("base_url") or "").strip().rstrip("/")
    if host:
        if "@" not in mail_from:
            raise ConfigError(
                "mail_from: the sender's address (e.g. visselpipa@myndighet.se) is required "
                "when smtp_host is set"
            )
        if not base_url.startswith(("https://", "http://")):
            raise ConfigError(
                "base_url: the workspace's address (e.g. https://visselpipa.myndighet.se) is "
                "required when smtp_host is set: the digest links to the inbox there"
            )
    return Mail(
        smtp_host=host,
        smtp_port=_as_int("smtp_port", raw.get("smtp_port", 587), 1),
        smtp_security=security,
        smtp_user=str(raw.get("smtp_user") or ""),
        smtp_password=str(raw.get("smtp_password") or ""),
        mail_from=mail_from,
        base_url=base_url,
        digest_hour=int(hour),
        digest_minute=int(minute),
        deadline_notice_days=_as_int("deadline_notice_days", raw.get("deadline_notice_days", 2), 0),
    )


def _signing_seed(text: str) -> bytes:
    try:
        seed = bytes.fromhex(text)
    except ValueError:
        seed = b""
    if len(seed) != SEED_BYTES:
        raise ConfigError(
            f"signing_seed is missing or not {SEED_BYTES} bytes of hex: run `visselpipa init` "
            f"(it adds one to an existing secrets.toml) or set {PREFIX}SIGNING_SEED"
        )
    return seed


ACTIONS = ("report", "receipt", "message")

_KNOWN = {
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_user",
    "smtp_password",
    "mail_from",
    "base_url",
    "mail_digest_at",
    "deadline_notice_days",
    "channel_type",
    "privacy_file",
    "metrics_token",
    "staff_idle_minutes",
    "staff_session_hours",
    "login_max_failures",
    "login_lock_seconds",
    "login_max_lock_seconds",
    "max_check_bytes",
    "receipt_floor_ms",
    "checkpoint_interval_minutes",
    "access_log",
    "rate_limit_storage",
    *(f"limit_{a}{s}" for a in ACTIONS for s in ("", "_fresh", "_patient")),
    *(f"{a}_patience_seconds" for a in ACTIONS),
    "rules_dir",
    "secret_key",
    "tenant_salt",
    "signing_seed",
    "data_dir",
    "database_url",
    "kdf_time_cost",
    "kdf_memory_kib",
    "kdf_parallelism",
    "insecure_test_kdf",
    "max_file_bytes",
    "max_files",
    "max_request_bytes",
    "reporter_session_minutes",
    "default_locale",
    "plain_http",
    "onion_address",
}
