"""``register import`` for a provider: exit codes on rejections, a re-send after fixing their cause, and
``--dry-run``, which reports what an import would do and stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, text
from typer.testing import CliRunner

from tests.api.conftest import vocational_csv
from tests.factories import create_organisation, new_nin
from tests.foundation.test_cli import run


def _stored(db: Engine) -> tuple[int, int, int]:
    with db.connect() as conn:
        row = conn.execute(
            text("SELECT (SELECT count(*) FROM import_batch), (SELECT count(*) FROM achievement),"
                 " (SELECT count(*) FROM audit_event)")
        ).one()  # fmt: skip
    return row[0], row[1], row[2]


def test_rejections_exit_1_and_a_resend_after_the_fix_imports_them(
    cli: CliRunner, db: Engine, tmp_path: Path
) -> None:
    county = create_organisation(db, kind="fagskole", name="Fagskolen Agder")
    school = create_organisation(db, kind="fagskole", name="Fagskolen Viken")
    delivery = tmp_path / "karakterer.csv"
    delivery.write_bytes(vocational_csv(school, new_nin(500)))
    args = ("import", str(delivery), "--sector", "vocational", "--provider", county)
    code, out, _ = run(cli, *args)
    assert (
        code == 1 and "0 accepted" in out and "4 rejected" in out and "[organisation.not_authorised]" in out
    )

    create_organisation(db, orgnr=county, kind="fagskole", delivers_for=[school])
    code, out, _ = run(cli, *args, "--json")
    report = json.loads(out)
    assert (code, report["status"], report["accepted"], report["rejected"]) == (0, "completed", 4, 0)

    code, out, _ = run(cli, *args)
    assert code == 0
    assert f"already imported without rejections (batch {report['batch_id']}: 4 accepted, 0 unchanged)" in out


def test_dry_run_reports_and_stores_nothing(cli: CliRunner, db: Engine, tmp_path: Path) -> None:
    school = create_organisation(db, kind="fagskole")
    good = tmp_path / "good.csv"
    good.write_bytes(vocational_csv(school, new_nin(510)))
    args = ("import", str(good), "--sector", "vocational", "--provider", school)
    before = _stored(db)
    code, out, _ = run(cli, *args, "--dry-run")
    assert code == 0
    assert (
        "4 accepted (4 new, 0 changed), 0 unchanged, 0 rejected" in out and "[dry run: nothing stored]" in out
    )
    code, out, _ = run(cli, *args, "--dry-run", "--json")
    assert (code, json.loads(out)["dry_run"], json.loads(out)["batch_id"]) == (0, True, None)
    assert _stored(db) == before

    bad = tmp_path / "bad.csv"
    bad.write_bytes(vocational_csv(school, "01018012345"))
    code, out, _ = run(cli, "import", str(bad), "--sector", "vocational", "--provider", school, "--dry-run")
    assert code == 1 and "[nin.checksum]" in out
    unusable = tmp_path / "unusable.csv"
    unusable.write_bytes(b"\x00\x01")
    code, _, err = run(
        cli, "import", str(unusable), "--sector", "vocational", "--provider", school, "--dry-run"
    )
    assert code == 2 and "[format.unknown]" in err and "dry run" in err
    assert _stored(db) == before

    code, _, _ = run(cli, *args)
    assert code == 0 and _stored(db)[1] == 4
