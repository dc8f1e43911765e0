"""``register``: the operators' and the scripts' interface.

Exit codes: 0 all accepted; 1 some records rejected (the report says which); 2 unusable input or usage.
An expected failure prints one clear line on standard error; a traceback is never shown to a user
(set REGISTER_DEBUG=1 to see one when you are debugging the register itself).

Longer than 500 lines on purpose: 43 commands, each a thin wrapper of a few lines around the domain
and the intake, read together as one typer app; a file per command group would add imports, not clarity.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from importers.base import UnusableInput
from register.errors import RegisterError
from register.models.organisation import CODE_SCHEMES
from register.scopes import Scope
from register.sectors import OrganisationKind, Sector, listed

if TYPE_CHECKING:
    from pydantic import ValidationError
    from sqlalchemy import Engine

    from register.settings import Settings

app = typer.Typer(
    name="register",
    help="Kompetanseregisteret — the national register of competence evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database: migrate, locate, stop the embedded server.", no_args_is_help=True)
org_app = typer.Typer(help="The organisation registry and its code cross-walk.", no_args_is_help=True)
export_app = typer.Typer(help="Give a person's results out in an exchange format.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail of reads of person data.", no_args_is_help=True)
stats_app = typer.Typer(help="The analysts' summary tables.", no_args_is_help=True)
person_app = typer.Typer(help="Persons: the operators' changes of identity.", no_args_is_help=True)
wallet_app = typer.Typer(help="Wallet issuance (OpenID4VCI): credential offers.", no_args_is_help=True)
known_app = typer.Typer(help="Raw records delivered before (re-sends skip them).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(export_app, name="export")
app.add_typer(audit_app, name="audit")
app.add_typer(stats_app, name="stats")
app.add_typer(person_app, name="person")
app.add_typer(wallet_app, name="wallet")
app.add_typer(known_app, name="known-input")

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_UNUSABLE)


def clear_errors(func: F) -> F:
    """Turn expected failures into one line on stderr and exit code 2; never print a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except UnusableInput as exc:
            raise _fail(f"{exc.message} [{exc.code}]") from None
        except RegisterError as exc:
            raise _fail(f"{exc.message} [{exc.code}]") from None
        except Exception as exc:
            if os.environ.get("REGISTER_DEBUG"):
                raise
            from pydantic import ValidationError
            from sqlalchemy.exc import OperationalError

            if isinstance(exc, ValidationError) and exc.title == "Settings":
                raise _fail(_settings_problem(exc)) from None
            if isinstance(exc, OperationalError):
                raise _fail(
                    "the database cannot be reached; check REGISTER_DATABASE_URL [database.unavailable]"
                ) from None
            logging.getLogger("register").exception("internal error in %s", func.__name__)
            raise _fail(f"internal error ({type(exc).__name__}); set REGISTER_DEBUG=1 for details") from None

    return wrapper  # type: ignore[return-value]


def _settings_problem(exc: ValidationError) -> str:
    """What is wrong with the REGISTER_* environment, one clause per problem (never the values given:
    a database URL can hold a password)."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        field = "REGISTER_" + "_".join(str(p) for p in error["loc"]).upper() if error["loc"] else None
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{field}: {message}" if field else message)
    return f"the settings are incomplete or invalid: {'; '.join(problems)} [settings.invalid]"


# --- db -------------------------------------------------------------------------------------------


@db_app.command("upgrade")
@clear_errors
def db_upgrade(revision: str = typer.Argument("heads", help="Target revision (default: all heads).")) -> None:
    """Migrate the database to the newest schema (starts the embedded server if it is the one in use)."""
    from register.datadir import prepare
    from register.schema import upgrade
    from register.settings import get_settings

    prepare(get_settings())  # the one command that may create a register where none is found
    upgrade(revision)
    typer.echo("database at head")


@db_app.command("url")
@clear_errors
def db_url() -> None:
    """Print the connection URL, so that `psql "$(register db url)"` works, embedded database too."""
    from register.database import libpq_url

    typer.echo(libpq_url())


@db_app.command("stop")
@clear_errors
def db_stop() -> None:
    """Stop the embedded PostgreSQL server (it keeps running between commands otherwise)."""
    from register import embedded
    from register.settings import get_settings

    settings = get_settings()
    if not settings.uses_embedded_database:
        raise _fail("REGISTER_DATABASE_URL points at a server the register does not manage")
    typer.echo("stopped" if embedded.stop(settings.data_dir) else "not running")


# --- serve ----------------------------------------------------------------------------------------


@app.command()
@clear_errors
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
) -> None:
    """Serve the REST and GraphQL API."""
    import uvicorn

    from api.server import uvicorn_limits
    from intake.batches import recover_interrupted
    from register.database import get_engine, libpq_url

    libpq_url()  # start the embedded server (if used) once, before the workers share it
    # 'received' batches are left alone: the app resumes them at start, however old they are.
    _report_recovered(recover_interrupted(get_engine(), received_grace=None))
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        # The access log would print query strings; the API's own log prints method, path and status.
        access_log=False,
        **uvicorn_limits(),  # request heads bounded before they are buffered (api/server.py)
    )


# --- org ------------------------------------------------------------------------------------------


@org_app.command("add")
@clear_errors
def org_add(
    orgnr: str | None = typer.Argument(
        None, help="Organisasjonsnummer (9 digits); leave out for a foreign organisation (then --country)."
    ),
    name: str = typer.Option(
        ..., "--name", help="Name in the organisation's own language (see --name-lang)."
    ),
    kind: str = typer.Option("other", help=f"{', '.join(OrganisationKind)}."),
    code: list[str] = typer.Option(
        [], "--code", help=f"Cross-walk code SCHEME=VALUE ({', '.join(CODE_SCHEMES)})."
    ),
    delivers_for: list[str] = typer.Option(
        [], "--delivers-for", help="Orgnr (or SCHEME=VALUE) of an organisation this one delivers for."
    ),
    name_en: str | None = typer.Option(None, "--name-en", help="Name in English."),
    name_nn: str | None = typer.Option(None, "--name-nn", help="Name in nynorsk."),
    country: str | None = typer.Option(
        None, "--country", help="ISO 3166-1 alpha-2 (PL, FI, SE, DE); NO by default only with an orgnr."
    ),
    name_lang: str | None = typer.Option(
        None, "--name-lang", help="Language of --name (pl, fi, sv, de); nb by default for NO."
    ),
    county: str | None = typer.Option(
        None, "--county", help="County (fylke), SSB's code: 03 Oslo, 46 Vestland, … (for the statistics)."
    ),
) -> None:
    """Register an organisation, or add codes and delivery relations to one."""
    from register.database import get_engine
    from register.organisations import add_organisation, parse_code

    codes = [parse_code(c) for c in code]
    with get_engine().begin() as conn:
        add_organisation(
            conn, orgnr=orgnr, name=name, kind=kind, codes=codes, delivers_for=delivers_for, name_en=name_en,
            name_nn=name_nn, country=country, name_lang=name_lang, county=county,
        )  # fmt: skip
    typer.echo(f"registered {orgnr or name}")


@org_app.command("list")
@clear_errors
def org_list(as_json: bool = typer.Option(False, "--json", help="One JSON array.")) -> None:
    """List the registered organisations with their codes."""
    from dataclasses import asdict

    from register.database import get_engine
    from register.organisations import list_organisations

    with get_engine().connect() as conn:
        orgs = list_organisations(conn)
    if as_json:
        typer.echo(json.dumps([asdict(o) for o in orgs], ensure_ascii=False, indent=2))
        return
    for org in orgs:
        codes = " ".join(f"{s}={v}" for s, vs in org.codes.items() for v in vs)
        delivers = f" delivers-for={','.join(org.delivers_for)}" if org.delivers_for else ""
        typer.echo(f"{org.orgnr or '-':9}  {org.kind:15} {org.name_nb}  {codes}{delivers}".rstrip())


# --- import ---------------------------------------------------------------------------------------


@app.command("import")
@clear_errors
def import_(
    paths: list[Path] = typer.Argument(..., exists=False, help="Delivery files."),
    sector: str = typer.Option(..., help=f"{listed(Sector)}."),
    provider: str = typer.Option(..., help="Organisasjonsnummer of the delivering organisation."),
    as_json: bool = typer.Option(False, "--json", help="Print each batch report as one JSON object."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Validate and report what the import would do; store nothing."
    ),
) -> None:
    """Import delivery files. Exit 0 every record accepted or unchanged (or the file a duplicate of one
    imported without rejections), 1 some records rejected, 2 a file unusable or the command misused.
    The same codes for --dry-run, which says what an import would do and stores nothing."""
    from intake.batches import recover_interrupted, refresh_statistics
    from intake.registry import parse_sector
    from register.database import get_engine
    from register.settings import get_settings

    parse_sector(sector)
    engine = get_engine()
    settings = get_settings()
    if dry_run:  # nothing is stored, nothing recovered: a dry run changes no batch, not even old ones
        raise typer.Exit(_import_files(engine, settings, paths, sector, provider, as_json, dry_run=True))
    _report_recovered(recover_interrupted(engine))
    refresh_at_end = settings.stats_refresh == "after_import" and len(paths) > 1
    if refresh_at_end:  # one refresh for all the files: a person in several files is counted once
        settings = settings.model_copy(update={"stats_refresh": "background"})
    try:
        worst = _import_files(engine, settings, paths, sector, provider, as_json)
    finally:
        if refresh_at_end:
            refresh_statistics(engine)
    raise typer.Exit(worst)


def _import_files(
    engine: Engine,
    settings: Settings,
    paths: list[Path],
    sector: str,
    provider: str,
    as_json: bool,
    *,
    dry_run: bool = False,
) -> int:
    from intake.batches import run_import
    from intake.dry_run import dry_run as dry_run_import

    worst = EXIT_OK
    for path in paths:
        if not path.is_file():
            raise _fail(f"{path}: no such file")
        show_progress = sys.stderr.isatty() and not as_json
        with _opened(path, show_progress) as source:
            if dry_run:
                report = dry_run_import(
                    engine,
                    source,
                    sector=sector,
                    provider_orgnr=provider,
                    filename=path.name,
                    settings=settings,
                )
            else:
                report = run_import(
                    engine,
                    source,
                    sector=sector,
                    provider_orgnr=provider,
                    filename=path.name,
                    submitted_by="cli",
                    settings=settings,
                )
        worst = max(worst, report.exit_code)
        if as_json:
            typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            _print_report(path, report)
    return worst


def _report_recovered(count: int) -> None:
    if count:
        typer.echo(
            f"marked {count} interrupted batch(es) failed [import.interrupted]; send their files again",
            err=True,
        )


def _opened(path: Path, progress: bool) -> Any:
    if not progress:
        return path.open("rb")
    from rich.progress import wrap_file

    return wrap_file(path.open("rb"), total=path.stat().st_size, description=path.name)


def _print_report(path: Path, report: Any) -> None:
    out = typer.echo
    # A dry run names no batch: nothing was stored.
    batch = "[dry run: nothing stored]" if report.dry_run else f"[batch {report.batch_id}]"
    if report.status == "duplicate":
        out(
            f"{path}: already imported without rejections (batch {report.duplicate_of}: {report.accepted} "
            f"accepted, {report.unchanged} unchanged); nothing changed {batch}"
        )
        return
    if report.status == "failed":
        out(f"{path}: unusable — {report.failure.message} [{report.failure.code}] {batch}", err=True)
        return
    out(
        f"{path}: {report.format}: {report.accepted} accepted ({report.new} new, {report.changed} changed), "
        f"{report.unchanged} unchanged, {report.rejected} rejected, {len(report.warnings)} warnings {batch}"
    )
    for w in report.warnings:
        out(f"  warning {w.record or ''} {w.path or ''}: {w.message} [{w.code}]")
    for e in report.errors:
        out(f"  rejected {e.record} {e.path or ''}: {e.message} [{e.code}]")
    if report.rejected > len(report.errors):
        out(f"  … and {report.rejected - len(report.errors)} more rejections (see the batch report)")


# --- export ---------------------------------------------------------------------------------------


#: a file named by --nin-file holds one national id: anything much longer is not such a file
_NIN_FILE_BYTES = 256


@export_app.command("elmo")
@clear_errors
def export_elmo(
    nin_file: str | None = typer.Option(
        None,
        "--nin-file",
        help="A file whose first line is the person's national identity number; '-' reads it from "
        "standard input. (Never on the command line: it would stay in the shell history and show in "
        "the process list.)",
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    sign: bool = typer.Option(False, "--sign", help="Sign with the configured key (enveloped XML-DSig)."),
    given_as_argument: str | None = typer.Argument(None, hidden=True),
) -> None:
    """Export all valid results of one person as ELMO XML (v1.7.0).

    The national id is read from a file or standard input: `register export elmo --nin-file - < nin.txt`.
    """
    from register.audit import record_read
    from register.database import get_engine
    from register.exports.elmo import export_person_elmo
    from register.persons import person_id_by_nin

    if given_as_argument is not None:
        raise _nin_in_arguments()
    if nin_file is None:
        raise _fail("name the person with --nin-file FILE, or --nin-file - on standard input [cli.nin_file]")
    nin = _read_nin(nin_file)
    with get_engine().begin() as conn:
        person_id = person_id_by_nin(conn, nin)
        export = export_person_elmo(conn, person_id, sign=sign)
        document = export.document
        record_read(
            conn,
            person_id=person_id,
            action="export.elmo",
            client_id="cli",
            details={"count": len(export.achievement_ids), "achievement_ids": export.achievement_ids},
        )
    if output is None:
        sys.stdout.buffer.write(document)
    else:
        output.write_bytes(document)


# --- person ---------------------------------------------------------------------------------------


@person_app.command("link-id")
@clear_errors
def person_link_id(
    from_file: str | None = typer.Option(
        None,
        "--from-file",
        help="A file holding OLD and NEW, whitespace-separated, # comments allowed; '-' reads them from "
        "standard input. (Never on the command line: shell history and the process list keep it.)",
    ),
    given_as_arguments: list[str] | None = typer.Argument(None, hidden=True),
) -> None:
    """Add a new national id to the person holding OLD (D-nummer → fødselsnummer); audited.

    Both numbers stay with the person. Refused (exit 1) when another person holds NEW: persons are
    never merged by this command. Neither number is printed or logged:
    `register person link-id --from-file - < numbers.txt`.
    """
    from register.database import get_engine
    from register.errors import Conflict
    from register.identity import link_national_id, read_numbers
    from register.settings import get_settings

    if given_as_arguments:
        raise _nin_in_arguments()
    if from_file is None:
        raise _fail(
            "give OLD and NEW with --from-file FILE, or --from-file - on standard input [cli.nin_file]"
        )
    numbers = read_numbers(_read_nin_source(from_file, "--from-file").splitlines())
    if len(numbers) != 2:
        raise _fail(f"expected two national identity numbers (OLD NEW), got {len(numbers)} [usage]")
    try:
        with get_engine().begin() as conn:
            person_id = link_national_id(
                conn, numbers[0], numbers[1], allow_synthetic=get_settings().synthetic_ids_allowed
            )
    except Conflict as exc:
        typer.echo(f"refused: {exc.message} [{exc.code}]", err=True)
        raise typer.Exit(EXIT_REJECTED) from None
    typer.echo(f"linked: the new number now also identifies person {person_id}")


def _nin_in_arguments() -> typer.Exit:
    # Refused rather than warned about: by now it is already in the history, and a warning is read
    # once; the next run from the same script would put it there again. The value is not quoted back.
    return _fail(
        "national ids are not taken as arguments (they would stay in the shell history and the process "
        "list); pass them in a file, or '-' for standard input [cli.nin_in_arguments]"
    )


def _read_nin_source(source: str, option: str) -> str:
    """The text of a file naming national ids ('-': standard input), bounded: such a file is a line or two."""
    if source == "-":
        return sys.stdin.read(_NIN_FILE_BYTES)
    try:
        with open(source, encoding="utf-8") as handle:
            return handle.read(_NIN_FILE_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {option} {source}: {type(exc).__name__} [cli.nin_file]") from None


def _read_nin(source: str) -> str:
    lines = _read_nin_source(source, "--nin-file").splitlines()
    nin = lines[0].strip() if lines else ""
    if not nin:
        raise _fail("--nin-file holds no national id on its first line [cli.nin_file]")
    return nin


# --- wallet ---------------------------------------------------------------------------------------


@wallet_app.command("offer")
@clear_errors
def wallet_offer(
    achievement: list[str] = typer.Option(..., "--achievement", help="An achievement id (UUID); repeatable."),
    elm: bool = typer.Option(False, "--elm", help="Also offer one ELM credential holding them all."),
    given_as_argument: str | None = typer.Argument(None, hidden=True),
) -> None:
    """Print a credential offer link and its transaction code for a person's achievements.

    The person's national id is read from standard input: `register wallet offer --achievement ID < nin.txt`.
    """
    import uuid

    from register.database import get_engine
    from register.errors import InvalidInput
    from register.persons import person_id_by_nin
    from register.settings import get_settings
    from register.wallet import create_offer

    if given_as_argument is not None:
        raise _nin_in_arguments()
    settings = get_settings()
    if not settings.wallet_issuance_enabled:
        raise _fail("wallet issuance is off (REGISTER_WALLET_ENABLED) [wallet.disabled]")
    try:
        ids = [uuid.UUID(value) for value in achievement]
    except ValueError:
        raise InvalidInput(
            "wallet.achievement_unknown", "--achievement must be an achievement id (UUID)"
        ) from None
    nin = _read_nin("-")
    with get_engine().begin() as conn:
        offer = create_offer(
            conn, person_id_by_nin(conn, nin), ids, settings, elm_document=elm, created_by="cli"
        )
    typer.echo(offer.uri)
    typer.echo(f"tx_code: {offer.tx_code}")
    typer.echo(f"expires: {offer.expires_at.isoformat(timespec='seconds')}")


# --- audit ----------------------------------------------------------------------------------------


@audit_app.command("verify")
@clear_errors
def audit_verify(
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="Also check the trail against this signed checkpoint file."
    ),
    checkpoint_dir: Path | None = typer.Option(
        None,
        "--checkpoint-dir",
        help="Also check every checkpoint of this directory, and their sequence "
        "(default: REGISTER_AUDIT_CHECKPOINT_DIR when it holds checkpoints).",
    ),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="The audit key's public PEM (default: the register's audit key)."
    ),
) -> None:
    """Check the audit chains: exit 0 if intact, 1 if a row was changed, removed, inserted or reordered.

    Without a checkpoint only a break inside a chain shows; with one, also a chain rewritten with its
    hashes recomputed, shortened, or deleted whole, up to what the checkpoint covers.
    """
    from register import audit_checkpoints as checkpoints
    from register.audit import verify_chain
    from register.database import get_engine
    from register.settings import get_settings

    settings = get_settings()
    configured = settings.audit_checkpoint_dir
    if checkpoint is None and checkpoint_dir is None and configured is not None and configured.is_dir():
        checkpoint_dir = configured if checkpoints.checkpoint_files(configured) else None
    with get_engine().connect() as conn:
        result = verify_chain(conn)
        check = None
        if checkpoint is not None or checkpoint_dir is not None:
            key = checkpoints.load_public_key(public_key or checkpoints.signing_key_path(settings))
            lengths = {h.chain: h.length for h in result.heads} if result.ok else None
            check = checkpoints.check_checkpoints(
                conn, lengths, key, file=checkpoint, directory=checkpoint_dir
            )
    ok = result.ok and not (check and check.problems)
    if as_json:
        fields = {"ok": ok, "checked": result.checked, "broken_at": result.broken_at, "reason": result.reason}
        covered = None
        if check is not None:
            newest = check.newest
            covered = {
                "checked": check.checked,
                "newest": newest.seq if newest else None,
                "newest_digest": newest.digest if newest else None,
                "problems": check.problems,
            }
        heads = [h.as_json() for h in result.heads]
        typer.echo(json.dumps({**fields, "checkpoints": covered, "heads": heads}))
    elif not result.ok:
        typer.echo(
            f"audit chain broken at event {result.broken_at}: {result.reason} "
            f"({result.checked} events before it fit)",
            err=True,
        )
    if not as_json and check is not None:
        for problem in check.problems:
            typer.echo(f"audit trail contradicts a checkpoint: {problem}", err=True)
    if not as_json and ok:
        chains = sum(1 for h in result.heads if h.length)
        typer.echo(f"audit chain intact: {result.checked} events in {chains} chains")
        if check is not None and check.newest is not None:
            typer.echo(f"agrees with {check.checked} checkpoint(s), the newest {check.newest.seq}")
        elif check is None:
            typer.echo(
                "no checkpoint given: rows deleted from the end of a chain, a whole chain deleted, or a row "
                "rewritten with every later hash recomputed cannot be seen without one",
                err=True,
            )
    raise typer.Exit(EXIT_OK if ok else EXIT_REJECTED)


@audit_app.command("checkpoint")
@clear_errors
def audit_checkpoint(
    as_json: bool = typer.Option(False, "--json", help="Print the checkpoint's payload as JSON."),
) -> None:
    """Sign the heads of every audit chain now and write them to REGISTER_AUDIT_CHECKPOINT_DIR."""
    from register.audit_checkpoints import write_checkpoint
    from register.database import get_engine
    from register.settings import get_settings

    settings = get_settings()
    with get_engine().begin() as conn:
        written = write_checkpoint(conn, settings)
    assert written is not None  # waits for its turn, so always writes
    if as_json:
        typer.echo(json.dumps({**written.payload(), "file": written.name, "digest": written.digest}))
    else:
        events = sum(h.length for h in written.heads)
        typer.echo(f"audit checkpoint {written.seq} written: {written.name} ({events} events)")


@audit_app.command("public-key")
@clear_errors
def audit_public_key(
    as_jwk: bool = typer.Option(False, "--jwk", help="Print a JWK Set instead of a PEM public key."),
) -> None:
    """Print the public half of the audit key, for verifying checkpoints outside the register."""
    from register import audit_checkpoints as checkpoints
    from register.settings import get_settings

    public = checkpoints.load_signing_key(get_settings()).public_key()
    if as_jwk:
        jwk = {
            **checkpoints.public_jwk(public),
            "kid": checkpoints.key_id(public),
            "alg": checkpoints.ALGORITHM,
        }
        typer.echo(json.dumps({"keys": [{**jwk, "use": "sig"}]}))
    else:
        typer.echo(checkpoints.public_key_pem(public), nl=False)


# --- statistics -----------------------------------------------------------------------------------


@stats_app.command("refresh")
@clear_errors
def stats_refresh() -> None:
    """Count the persons whose achievements changed since the last refresh in the summary tables."""
    from register import stats
    from register.database import get_engine

    report = stats.refresh_pending(get_engine())
    typer.echo(f"statistics refreshed: {report.persons} persons in {report.rounds} transactions")


@stats_app.command("rebuild")
@clear_errors
def stats_rebuild() -> None:
    """Recompute the summary tables from every valid achievement (after a restore, or to check them)."""
    from register import stats
    from register.database import get_engine

    with get_engine().begin() as conn:
        cells = stats.rebuild(conn)
    typer.echo(f"statistics rebuilt: {cells} cells")


# --- known input ----------------------------------------------------------------------------------


@known_app.command("sweep")
@clear_errors
def known_input_sweep() -> None:
    """Forget the remembered raw records whose achievements changed since: no re-send can skip them."""
    from register.database import get_engine
    from register.ingest.known_input import sweep

    with get_engine().begin() as conn:
        removed = sweep(conn)
    typer.echo(f"known input swept: {removed} rows removed")


# --- token ----------------------------------------------------------------------------------------


@app.command()
@clear_errors
def token(
    scope: list[str] = typer.Option(
        ..., "--scope", help=f"{', '.join(Scope)}; repeat or separate with spaces."
    ),
    org: str = typer.Option(..., "--org", help="The caller's organisasjonsnummer (consumer 0192:ORGNR)."),
    expires_in: int = typer.Option(3600, "--expires-in", help="Lifetime in seconds."),
) -> None:
    """Print a development access token (trusted by the API in development mode only)."""
    from register.settings import get_settings
    from register.tokens import TokenRequestError, issue_dev_token

    scopes = [part for value in scope for part in value.split()]
    try:
        typer.echo(issue_dev_token(get_settings(), scopes=scopes, orgnr=org, expires_in=expires_in))
    except TokenRequestError as exc:
        raise _fail(f"{exc} [token.request_invalid]") from None


# --- demo -----------------------------------------------------------------------------------------


@app.command()
@clear_errors
def demo(
    force: bool = typer.Option(False, "--force", help="Load it again into a register that holds data."),
    showcase: bool = typer.Option(
        False, "--showcase", help="Only one year of a few dozen people (not the analysts' ten years)."
    ),
) -> None:
    """Load the demo into an empty register: synthetic organisations and people, through the real importers."""
    from demo.load import ANALYSTS, SHOWCASE, load_demo
    from register.database import get_engine
    from register.queries import register_contents

    held = register_contents(get_engine())
    if held and not force:  # every `make run` would store the demo files again as duplicate batches
        typer.echo(f"demo not loaded: the register already holds {held} (--force loads it again)")
        return
    summary = load_demo(get_engine(), size=SHOWCASE if showcase else ANALYSTS)
    typer.echo(summary)


def main() -> None:
    from register.redaction import RedactingFormatter

    # Every line the register's processes log (``serve`` included) goes through the one redaction.
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    app()


if __name__ == "__main__":
    main()
