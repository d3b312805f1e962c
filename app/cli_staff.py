"""``visselpipa`` commands for staff accounts and desk membership.

The command line has no signed-in member, so whatever needs a desk's
private key (adding a member) or a member's key (recovery) unlocks it with
the offline organisation recovery key file written by ``visselpipa init``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import sqlalchemy as sa
from nacl.public import PrivateKey

from config.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from identity.desk_keys import Rotation


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as e:
        raise click.ClickException(f"configuration: {e}") from None


def open_database(settings: Settings) -> sa.Engine:
    """The configured database, after checking that the settings' tenant salt
    and signing key are the ones it was set up with (identity/deployment.py).
    Every command that works with the deployment's settings opens it here."""
    from caseflow.store import create_engine
    from identity.deployment import check_deployment_secrets

    engine = create_engine(settings.database_url)
    try:
        check_deployment_secrets(engine, settings)
    except ConfigError as e:
        engine.dispose()
        raise click.ClickException(f"configuration: {e}") from None
    return engine


def read_recovery_key(path: Path) -> PrivateKey:
    """The X25519 private key in a ``recovery-key.txt`` (hex, after # comments)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"{path}: cannot read the recovery key: {e}") from None
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            try:
                raw = bytes.fromhex(line)
            except ValueError:
                break
            if len(raw) == PrivateKey.SIZE:
                return PrivateKey(raw)
            break
    raise click.ClickException(f"{path}: no recovery key (64 hex characters) found")


def _new_password(password_file: Path | None, prompt: str) -> str:
    from identity.staff_auth import PasswordRejected, check_new_password

    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as e:
            raise click.ClickException(f"{password_file}: {e}") from None
    else:
        password = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    try:
        check_new_password(password)
    except PasswordRejected as e:
        raise click.ClickException(str(e)) from None
    return password


def _member(conn: sa.Connection, username: str) -> Any:
    from identity import accounts

    member = accounts.staff_by_username(conn, username)
    if member is None:
        raise click.ClickException(f"no staff account named {username!r}")
    return member


_password_file = click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the password from this file (first line) instead of prompting.",
)
_recovery_key = click.option(
    "--recovery-key",
    "recovery_key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The organisation recovery key file (recovery-key.txt from `visselpipa init`).",
)


@click.command("add-user")
@click.argument("username")
@click.option("--role", required=True, help="investigator, desk_lead, committee_member, …")
@click.option(
    "--display-name",
    default="",
    help="The person's name: a report naming them under 'Who was involved?' is never shown "
    "to them.",
)
@click.option("--other-name", "other_names", multiple=True, help="Another name (repeatable).")
@_password_file
def add_user(
    username: str,
    role: str,
    display_name: str,
    other_names: tuple[str, ...],
    password_file: Path | None,
) -> None:
    """Create a staff account (it enrols a second factor at first sign-in)."""
    from identity import accounts
    from identity.names import NamesRefused, clean_names
    from identity.roles import ROLES

    try:
        names = clean_names([display_name, *other_names])
    except NamesRefused as e:
        raise click.ClickException(str(e)) from None
    display = " ".join(display_name.split())
    others = tuple(n for n in names if n != display)
    if role not in ROLES:
        raise click.ClickException(f"--role must be one of {', '.join(ROLES)}")
    username = username.strip()
    if not username or len(username) > 150:
        raise click.ClickException("the username must have 1 to 150 characters")
    settings = _settings()
    password = _new_password(password_file, f"Password for {username}")
    engine = open_database(settings)
    try:
        with engine.begin() as conn:
            if accounts.staff_by_username(conn, username) is not None:
                raise click.ClickException(f"a staff account named {username!r} exists already")
            accounts.create_staff(
                conn,
                username,
                role,
                password,
                settings.kdf,
                display_name=display,
                other_names=others,
            )
            has_recovery = accounts.recovery_public_key(conn) is not None
    finally:
        engine.dispose()
    click.echo(f"created {username} ({role})")
    if not has_recovery:
        click.echo(
            "WARNING: no organisation recovery key is recorded, so this account's key has "
            "no recovery copy yet (run a command with --recovery-key once to record it)."
        )


def _unlock_desk(conn: sa.Connection, desk_id: str, recovery: PrivateKey) -> PrivateKey:
    from crypto import CryptoError
    from identity import accounts

    try:
        desk_key = accounts.open_desk_key_for_recovery(conn, desk_id, recovery)
    except CryptoError:
        raise click.ClickException(
            "this recovery key does not open the desk: is it this organisation's?"
        ) from None
    if desk_key is None:
        raise click.ClickException(f"no desk named {desk_id!r}")
    if accounts.recovery_public_key(conn) is None:
        # Deployments set up before recovery copies of user keys existed:
        # the key just proved itself, so record its public half.
        accounts.remember_recovery_key(conn, recovery.public_key)
    return desk_key


@click.command("add-desk-member")
@click.argument("desk")
@click.argument("username")
@_recovery_key
def add_desk_member(desk: str, username: str, recovery_key_file: Path) -> None:
    """Give USERNAME the key of DESK (sealed to their public key)."""
    from crypto.signing import Signer
    from identity import accounts
    from identity.key_log import OPERATOR, DeskKeyMismatch

    recovery = read_recovery_key(recovery_key_file)
    settings = _settings()
    engine = open_database(settings)
    try:
        with engine.begin() as conn:
            member = _member(conn, username)
            desk_key = _unlock_desk(conn, desk, recovery)
            if desk in accounts.member_desks(conn, member.id):
                raise click.ClickException(f"{username} is already a member of {desk}")
            try:
                accounts.add_desk_member(
                    conn, desk, member.id, desk_key, Signer(settings.signing_seed), OPERATOR
                )
            except DeskKeyMismatch as e:
                raise click.ClickException(f"refused, nothing was changed: {e}") from None
    finally:
        engine.dispose()
    click.echo(f"{username} is now a member of {desk}")


@click.command("remove-desk-member")
@click.argument("desk")
@click.argument("username")
@click.option(
    "--recovery-key",
    "recovery_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also seal the desk's older grants to the new key now (else the next member does).",
)
def remove_desk_member(desk: str, username: str, recovery_key_file: Path | None) -> None:
    """Delete USERNAME's copies of the key of DESK, rotate it and start new case-key epochs.

    At once, in one transaction: the desk gets a new key, and every case of
    the desk a new case key, sealed to the new desk key, the reporter and the
    case's other desks. Nothing added from then on opens with a key USERNAME
    held. With --recovery-key the desk's older grants are also sealed to the
    new key now (otherwise the next member to open the desk key does that).
    """
    from caseflow.service.cases import CaseService
    from caseflow.service.handover import hand_over
    from crypto.signing import Signer
    from identity import desk_keys
    from identity.key_log import OPERATOR, DeskKeyMismatch

    recovery = None if recovery_key_file is None else read_recovery_key(recovery_key_file)
    settings = _settings()
    signer = Signer(settings.signing_seed)
    engine = open_database(settings)
    try:
        with engine.begin() as conn:
            member = _member(conn, username)
            try:
                rotation = desk_keys.remove_desk_member(conn, desk, member.id, signer, OPERATOR)
            except (desk_keys.RotationRefused, DeskKeyMismatch) as e:
                raise click.ClickException(f"refused, nothing was changed: {e}") from None
            if rotation is None:
                raise click.ClickException(f"{username} is not a member of {desk}")
            resealed = _clean_up_with_recovery(conn, desk, recovery)
        handed = hand_over(CaseService(engine, settings.rules), desk, member.id, "operator")
    finally:
        engine.dispose()
    click.echo(f"{username} is no longer a member of {desk}")
    if handed:
        click.echo(f"{len(handed)} open cases they handled now wait for the desk lead to assign")
    _echo_rotation(rotation, resealed)


@click.command("rotate-desk-key")
@click.argument("desk")
@click.option(
    "--recovery-key",
    "recovery_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also seal the desk's older grants to the new key now (else the next member does).",
)
def rotate_desk_key(desk: str, recovery_key_file: Path | None) -> None:
    """Give DESK a new key and its cases new case keys (a key may be lost or stolen).

    The same as a removal does, without removing anyone: nothing added from
    then on opens with the desk's old key or the cases' old keys.
    """
    from crypto.signing import Signer
    from identity import desk_keys
    from identity.key_log import OPERATOR, DeskKeyMismatch

    recovery = None if recovery_key_file is None else read_recovery_key(recovery_key_file)
    settings = _settings()
    signer = Signer(settings.signing_seed)
    engine = open_database(settings)
    try:
        with engine.begin() as conn:
            try:
                rotation = desk_keys.rotate_now(conn, desk, signer, OPERATOR)
            except (desk_keys.RotationRefused, DeskKeyMismatch) as e:
                raise click.ClickException(f"refused, nothing was changed: {e}") from None
            resealed = _clean_up_with_recovery(conn, desk, recovery)
    finally:
        engine.dispose()
    _echo_rotation(rotation, resealed)


def _clean_up_with_recovery(
    conn: sa.Connection, desk: str, recovery: PrivateKey | None
) -> int | None:
    """Seal the older grants to the new key with the recovery copies; None without the key."""
    from identity import desk_keys

    if recovery is None:
        return None
    old = desk_keys.retired_keys(conn, desk, desk_keys.RECOVERY_HOLDER, recovery)
    if not old:
        raise click.ClickException("refused, nothing was changed: that is not the recovery key")
    return desk_keys.consolidate(conn, desk, old)


def _echo_rotation(rotation: Rotation, resealed: int | None) -> None:
    click.echo(
        f"desk key rotated (version {rotation.key_version}): {rotation.cases} cases have a new "
        f"case key, {rotation.members} members keep access"
    )
    if resealed is None:
        click.echo("older grants are sealed to the new key when the next member opens it")
    else:
        click.echo(f"{resealed} older grants sealed again to the new key")


@click.command("recover-user")
@click.argument("username")
@_recovery_key
@_password_file
@click.option(
    "--reset-second-factor",
    is_flag=True,
    help="Also remove the TOTP secret and recovery codes (lost phone): they enrol again.",
)
def recover_user(
    username: str, recovery_key_file: Path, password_file: Path | None, reset_second_factor: bool
) -> None:
    """Set a new password for USERNAME from the recovery copy of their key."""
    from app.services import throttle_key
    from identity.staff_auth import RecoveryImpossible, StaffAuth

    recovery = read_recovery_key(recovery_key_file)
    settings = _settings()
    password = _new_password(password_file, f"New password for {username}")
    engine = open_database(settings)
    try:
        # The app's throttle key, so the lock on this username is lifted
        # where the app counts it.
        auth = StaffAuth(engine, settings.kdf, throttle_key(settings))
        auth.recover_user(username, recovery, password, reset_second_factor=reset_second_factor)
    except RecoveryImpossible as e:
        raise click.ClickException(str(e)) from None
    finally:
        engine.dispose()
    click.echo(f"new password set for {username}; their sessions were ended")


def register(group: click.Group) -> None:
    """Add the staff commands to the ``visselpipa`` group."""
    for command in (
        add_user,
        add_desk_member,
        remove_desk_member,
        rotate_desk_key,
        recover_user,
    ):
        group.add_command(command)
