"""`flask --app portal keys …`: rotate the key-encryption key and the data keys (portal.services.keys)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.infrastructure.crypto import KeyRing, KeyringError, load_keys
from portal.services import keys as key_service
from portal.services import search
from portal.web.database import session_factory

group = click.Group("keys", help="Rotate the key-encryption key (KEK) and the per-notice and per-user data keys.")


def _key_dir() -> Path:
    return Path(current_app.config["KEY_DIR"])


def _keyring(key_dir: Path) -> KeyRing:
    try:
        return KeyRing(load_keys(key_dir))
    except KeyringError as exc:
        raise click.ClickException(str(exc)) from exc


@group.command("rotate-kek")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def rotate_kek_command(batch_size: int) -> None:
    """Add a new KEK, make it active and rewrap every data key under it.

    No field ciphertext changes: each data key is unwrapped with its old KEK and wrapped again under the
    new one, one commit per batch. The keyring is rewritten atomically (mode 0600). If data keys are still
    wrapped by an older KEK (an interrupted run), a rerun finishes rewrapping them instead of adding
    another KEK.

    \b
    Web workers load the keyring at start-up. Until restarted they still
    read everything (they pick up a KEK they do not know from the key
    directory), but they keep wrapping NEW data keys with the old KEK. So,
    before retiring the old KEK:
      1. restart or reload every portal process (web workers, e.g.
         `kill -HUP <gunicorn master>`, and the mail worker);
      2. run `keys rewrap`, to rewrap data keys made meanwhile;
      3. run `keys retire-kek OLD_KEK_ID` (it refuses while any live
         data key is still wrapped by that KEK).
    """
    _rewrap(batch_size, new_kek=True)


@group.command("rewrap")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def rewrap_command(batch_size: int) -> None:
    """Rewrap data keys still wrapped by an older KEK under the active KEK; never adds a KEK.

    Run it after restarting the web workers that follow a `keys rotate-kek`, then retire the old KEK.
    """
    _rewrap(batch_size, new_kek=False)


def _rewrap(batch_size: int, *, new_kek: bool) -> None:
    try:
        report = key_service.rotate_kek(
            session_factory(current_app), _key_dir(), batch_size=batch_size, progress=click.echo, new_kek=new_kek
        )
    except (KeyringError, key_service.RotationError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Rewrapped {report.rewrapped} data keys under {report.kek_id} in {report.seconds:.1f} s.")
    if report.added_kek:
        click.echo(
            "Next: restart (or reload) the web workers and the mail worker, run `keys rewrap`, then "
            "`keys retire-kek OLD_KEK_ID`."
        )
    if report.failed:
        for key_id, reason in sorted(report.failed.items())[:20]:
            click.echo(f"  data key {key_id}: {reason}", err=True)
        raise click.ClickException(f"{len(report.failed)} data keys could not be rewrapped (listed above)")


@group.command("retire-kek")
@click.argument("kek_id")
@with_appcontext
def retire_kek_command(kek_id: str) -> None:
    """Remove an old KEK from the keyring once no live data key is wrapped by it.

    Restart the web workers after `keys rotate-kek` first: a worker that has not restarted still wraps new
    data keys with the old KEK.
    """
    try:
        key_service.retire_kek(session_factory(current_app), _key_dir(), kek_id)
    except (KeyringError, key_service.RotationError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Retired {kek_id}: it is no longer in the keyring.")


def _parse_before(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use an ISO 8601 date and time, e.g. 2026-11-23T09:00:00+00:00") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@group.command("rotate-data-keys")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--purpose",
    type=click.Choice(["notice", "user", "all"]),
    default="all",
    show_default=True,
    help="Rotate notice keys (notices and drafts), user keys (TOTP secrets), or both.",
)
@click.option("--before", default=None, help="Rotate keys created before this ISO time (default: now). New runs only.")
@click.option("--restart", is_flag=True, help="Discard an unfinished rotation's saved cutoff and start afresh.")
@with_appcontext
def rotate_data_keys_command(batch_size: int, purpose: str, before: str | None, restart: bool) -> None:
    """Re-encrypt every notice, draft and user under a new data key and destroy the old keys.

    Runs online: one transaction per batch, owner rows locked, readers unaffected. The cutoff is saved in
    rotation-state.json beside the keyring, so a run that was killed resumes where it stopped, with the
    same cutoff, when run again.
    """
    key_dir = _key_dir()
    purposes = key_service.PURPOSES if purpose == "all" else (purpose,)
    try:
        report = key_service.run_data_key_rotation(
            session_factory(current_app),
            _keyring(key_dir),
            key_dir,
            purposes=purposes,
            batch_size=batch_size,
            before=_parse_before(before),
            restart=restart,
            progress=click.echo,
        )
    except (KeyringError, key_service.RotationError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Rotated {report.rotated} data keys in {report.seconds:.1f} s; the old keys are destroyed.")
    if report.failed:
        for owner, reason in sorted(report.failed.items())[:20]:
            click.echo(f"  {owner}: {reason}", err=True)
        raise click.ClickException(
            f"{len(report.failed)} owners kept their old key (listed above); fix them and run the command again"
        )


@group.command("status")
@with_appcontext
def status_command() -> None:
    """Show the active KEK, live data keys per KEK and any unfinished data-key rotation."""
    key_dir = _key_dir()
    keyring = _keyring(key_dir)
    with session_factory(current_app)() as session:
        usage = key_service.kek_usage(session)
    click.echo(f"Active KEK: {keyring.active_kek_id}")
    for kek_id in sorted(keyring.kek_ids | usage.keys()):
        where = "" if kek_id in keyring.kek_ids else "  (NOT IN THE KEYRING)"
        click.echo(f"  {kek_id}: {usage.get(kek_id, 0)} live data keys{where}")
    try:
        state = key_service.read_rotation_state(key_dir)
    except key_service.RotationError as exc:
        raise click.ClickException(str(exc)) from exc
    if state is not None:
        click.echo(
            f"Unfinished data-key rotation of {'+'.join(state.purposes)} keys created before "
            f"{state.cutoff.isoformat()} (started {state.started_at.isoformat()}): run `keys rotate-data-keys`."
        )


@group.command("rotate-blind-index")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--finish", is_flag=True, help="Backfill anything left, then drop the old version's rows and key.")
@click.option(
    "--bits",
    type=click.IntRange(1, 31),
    default=None,
    help="Size of the new version's values (default: chosen from the number of notices; docs/blind-index-sizing.md).",
)
@with_appcontext
def rotate_blind_index_command(batch_size: int, finish: bool, bits: int | None) -> None:
    """Rotate the blind-index key that search uses (docs/threats.md#property-9).

    \b
    Without --finish: add a new blind-index key version and make it active
    (or carry on with a rotation already started), sized for the number of
    notices indexed now unless --bits is given, then index every notice
    under it, in batches, one commit each. Search looks under both versions
    meanwhile, and every worker (it re-reads the keyring when it changes)
    indexes new notices under both. Safe to interrupt and run again.
    With --finish: backfill anything left, delete the old version's index
    rows and remove its key from the keyring.
    """
    key_dir = _key_dir()
    sessions = session_factory(current_app)
    try:
        if finish:
            report, deleted, retired = search.finish_index_rotation(
                sessions, key_dir, batch_size=batch_size, progress=click.echo
            )
            click.echo(
                f"Blind-index key version {report.version} is the only one: deleted {deleted} index rows of "
                f"version(s) {', '.join(map(str, retired))} and removed their keys."
            )
            return
        report = search.rotate_index_key(sessions, key_dir, batch_size=batch_size, progress=click.echo, bits=bits)
    except (KeyringError, search.IndexRotationError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Indexed {report.indexed} notices under blind-index key version {report.version} in {report.seconds:.1f} s."
    )
    if report.failed:
        for notice_id, reason in sorted(report.failed.items())[:20]:
            click.echo(f"  notice {notice_id}: {reason}", err=True)
        raise click.ClickException(f"{len(report.failed)} notices could not be indexed (listed above)")
    click.echo("Next: `flask --app portal keys rotate-blind-index --finish` to drop the old version.")
