"""Where the register keeps its local data: found the same way from any folder, never made by accident.

The data directory (``.register``) holds the embedded PostgreSQL (``pgdata``), the development token key
and the development audit key. Before, it was ``./.register`` of whatever folder ``register`` ran in, so
a command run elsewhere made a second, empty register with its own key: ``org list`` failed on the empty
database and the API refused the tokens it signed. Now it is, in this order:

1. ``REGISTER_DATA_DIR`` if set (read by Settings itself);
2. the nearest ``.register`` in the current folder or one of its parents (as git finds ``.git``);
3. the ``.register`` of the project the package runs from (``pip install -e .``, as ``make`` does), so
   ``.venv/bin/register`` finds the project's register from any folder.

If none exists, the data directory is ``./.register`` — but only ``register db upgrade`` creates a
register there (``prepare``, saying so on stderr); every other use stops with ``datadir.not_found``,
naming where it looked (``require``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from register.errors import RegisterError

if TYPE_CHECKING:
    from register.settings import Settings

NAME = ".register"
PGDATA = "pgdata"  # the embedded server's folder inside it (register.embedded)
ENV = "REGISTER_DATA_DIR"


def project_root() -> Path | None:
    """The project folder the package runs from, or None for a package installed as a wheel."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def search_path(start: Path | None = None) -> list[Path]:
    """Where a ``.register`` is looked for, first match wins."""
    start = (start or Path.cwd()).resolve()
    places = [folder / NAME for folder in (start, *start.parents)]
    root = project_root()
    if root is not None and root / NAME not in places:
        places.append(root / NAME)
    return places


def find(start: Path | None = None) -> Path | None:
    return next((place for place in search_path(start) if place.is_dir()), None)


def default() -> Path:
    """``Settings.data_dir`` when REGISTER_DATA_DIR is unset: the one found, else ``./.register``."""
    return find() or Path.cwd() / NAME


def has_database(data_dir: Path) -> bool:
    return (data_dir / PGDATA).is_dir()


def prepare(settings: Settings) -> None:
    """Let ``db upgrade`` and ``demo`` create a new register where none is found, saying where on stderr."""
    data_dir = settings.data_dir
    if not settings.uses_embedded_database or has_database(data_dir):
        return
    (data_dir / PGDATA).mkdir(parents=True, exist_ok=True)  # the embedded server initialises an empty one
    print(
        f"note: no register database found; creating a new register in {data_dir.resolve()}", file=sys.stderr
    )


def require(settings: Settings, *, database: bool) -> None:
    """Stop with a clear error unless the register's data directory (with its database) exists."""
    data_dir = settings.data_dir
    # REGISTER_DATA_DIR (or a Settings made in code) names the folder: nothing else was looked at, and a
    # key may be created in it; a folder only fallen back to (./.register) must exist already.
    named = "data_dir" in settings.model_fields_set
    if has_database(data_dir) if database else (named or data_dir.is_dir()):
        return
    if named:
        where = f"{ENV}={data_dir} holds no register"
    elif data_dir.is_dir():
        where = f"the register folder {data_dir.resolve()} has no database yet"
    else:
        root = project_root()
        beside = f", nor in the project folder {root}" if root else ""
        where = f"no register found (no {NAME} folder in {Path.cwd()} or any folder above it{beside})"
    raise RegisterError(
        "datadir.not_found",
        f"{where}; run the command where the register is or set {ENV}, "
        "or create one with `register db upgrade` (`make run` in the project folder)",
    )
