"""`python -m keloa_web <command>`: the operator's commands.

    create-admin       add an admin (the first account, or a way back in)
    backup             a consistent backup (database, media, manifest) while Keloa runs
    restore            a backup into an empty instance
    move-to-postgres   copy the SQLite database into an empty PostgreSQL one, and verify it
    purge              delete what each account's retention setting says is too old
    check              settings, database, Redis, mail and Meta, in one report

Settings come from the environment (and `.env`), as for the web and worker processes; under
`make run`'s development set-up, the SECRET_KEY it generated in instance/ is used when none is set.
"""
from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import click

from keloa_web.operations.backup import OperationError


def _settings():
    """The settings of the Keloa these commands act on: the environment (and .env); under `make
    run`'s development set-up also what it gave its processes (instance/run.env: the sandbox's
    Graph address, the local mail server, the port) and the SECRET_KEY it generated."""
    from dotenv import load_dotenv

    from config import Config

    config = Config()
    if not config.is_production:
        run_env = config.INSTANCE_DIR / "run.env"  # written by scripts/run.py while it runs
        if run_env.is_file():
            load_dotenv(run_env, override=False)
        if not os.environ.get("SECRET_KEY"):
            dev_key = config.INSTANCE_DIR / "dev_secret_key"  # made by `make run` (scripts/run.py)
            if dev_key.is_file():
                os.environ["SECRET_KEY"] = dev_key.read_text().strip()
        config = Config()
    return config


def _bar(label: str):
    """A progress callback drawing one click progress bar per stage."""
    bars: dict[str, object] = {}

    def progress(what: str, done: int, total: int) -> None:
        bar = bars.get(what)
        if bar is None:
            bar = bars[what] = click.progressbar(length=max(total, 1), label=f"{label}: {what}", file=sys.stderr,
                                                 show_pos=True)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return progress


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


class _Group(click.Group):
    """Refusals (OperationError) and failures of the machine (a server that does not answer, a
    folder that cannot be written) are one line and exit 1, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except OperationError as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:  # noqa: BLE001
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise click.ClickException(f"{type(exc).__name__}: {detail[:300]}") from exc


@click.group(cls=_Group, help=__doc__.split("\n\n")[0])
def main() -> None:
    pass


@main.command("create-admin")
@click.option("--email", required=True, help="The admin's sign-in email.")
@click.option("--name", required=True, help="The name teammates see.")
@click.option("--password", help="Asked for when not given (never put it on a shared command line).")
def create_admin(email: str, name: str, password: str | None) -> None:
    """Add an admin account (refused if the email is taken)."""
    from email_validator import EmailNotValidError, validate_email
    from sqlalchemy import select

    from keloa_web import create_app
    from keloa_web.accounts.passwords import hash_password
    from keloa_web.db import db
    from keloa_web.models import Role, User

    _settings()
    email = email.strip().lower()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise click.BadParameter(f"This is not an email address ({exc}).", param_hint="--email") from exc
    name = " ".join(name.split())
    if not name or len(name) > 120:
        raise click.BadParameter("Give a name of 1 to 120 characters.", param_hint="--name")
    app = create_app()
    with app.app_context():
        if db.session.scalar(select(User.id).where(User.email == email)):
            raise click.ClickException(f"An account with {email} exists already.")
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        if len(password) < 10:
            raise click.BadParameter("Use at least 10 characters.", param_hint="--password")
        db.session.add(User(email=email, name=name.strip(), password_hash=hash_password(password), role=Role.ADMIN))
        db.session.commit()
    click.echo(f"Admin {email} created: sign in at {app.config['PUBLIC_BASE_URL']}/login")


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="The .tar.gz to write (default: instance/backups/keloa-<time>.tar.gz).")
def backup(out: Path | None) -> None:
    """Back up the database and media while Keloa runs."""
    from keloa_web.operations.backup import make_backup

    config = _settings()
    out = out or config.INSTANCE_DIR / "backups" / f"keloa-{datetime.now():%Y%m%d-%H%M%S}.tar.gz"
    try:
        manifest = make_backup(config.DATABASE_URL, Path(config.MEDIA_DIR), config.SECRET_KEY, out, _bar("Backup"))
    except OperationError as exc:
        _fail(exc)
    click.echo(f"Backup written to {out}: revision {manifest['revision']}, "
               f"{manifest['counts'].get('messages', 0)} messages, {manifest['media_files']} media files.")
    click.echo("Keep SECRET_KEY with it: a restore needs the same key.")


@main.command()
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(backup_file: Path) -> None:
    """Restore a backup into an empty database and media directory."""
    from keloa_web.operations.backup import restore_backup

    config = _settings()
    try:
        manifest = restore_backup(backup_file, config.DATABASE_URL, Path(config.MEDIA_DIR), config.SECRET_KEY,
                                  _bar("Restore"))
    except OperationError as exc:
        _fail(exc)
    click.echo(f"Restored the backup of {manifest['made_at']}: {manifest['counts'].get('messages', 0)} messages, "
               f"{manifest['media_restored']} media files. Start Keloa.")


@main.command("move-to-postgres")
@click.option("--to", "target", required=True, help="The empty PostgreSQL database: postgresql://user:pass@host/db")
@click.option("--from", "source", help="The SQLite database (default: this Keloa's DATABASE_URL).")
def move_to_postgres_command(target: str, source: str | None) -> None:
    """Copy every table from SQLite into an empty PostgreSQL database, and verify the copy."""
    from keloa_web.operations.move import move_to_postgres

    config = _settings()
    try:
        counts = move_to_postgres(source or config.DATABASE_URL, target, _bar("Move"))
    except OperationError as exc:
        _fail(exc)
    click.echo(f"Copied {sum(counts.values())} rows in {len(counts)} tables; counts and checksums match.")
    click.echo("Now set DATABASE_URL to the PostgreSQL URL and start Keloa. The SQLite file is left as it was.")


@main.command()
@click.option("--apply", is_flag=True, help="Delete; without it, only say what would be deleted.")
def purge(apply: bool) -> None:
    """Delete conversations or media older than each account's retention setting."""
    from keloa_web import create_app
    from keloa_web.db import db
    from keloa_web.operations import retention

    _settings()
    app = create_app()
    with app.app_context():
        report = retention.sweep(db.session, apply=apply)
    if not report:
        click.echo("No account has a retention setting (Integrations → an account → Data retention).")
    for line in report:
        click.echo(line.sentence(applied=apply))
    if report and not apply:
        click.echo("Nothing was deleted: run with --apply to delete (the worker also does it once a day).")


@main.command()
def check() -> None:
    """Check settings, database, Redis, mail and Meta, and say what is wrong."""
    from keloa_web.operations.check import run_checks

    config = _settings()
    results = run_checks(config)
    width = max(len(r.name) for r in results)
    for r in results:
        mark = {"ok": click.style("ok  ", fg="green"), "warn": click.style("warn", fg="yellow"),
                "fail": click.style("FAIL", fg="red")}[r.status]
        click.echo(f"{mark}  {r.name.ljust(width)}  {r.detail}")
    if any(r.status == "fail" for r in results):
        sys.exit(1)
