"""the application role register_app: full use of the register's tables, but audit_event append-only

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:20:00

The register runs with the privileges of ``register_app`` (a login role that is a member of it and has
``ALTER ROLE … SET role = 'register_app'``, see docs/operations.md); migrations run as the owner of the
tables. ``register_app`` may read and write every table, except that it can only read and append to
``audit_event``: no UPDATE, DELETE or TRUNCATE there, so an application bug or a stolen application
password cannot quietly rewrite who read what. The owner still can — that is what the hash chain and
``register audit verify`` are for.

A role belongs to the whole PostgreSQL cluster, not to one database, so the role is created only if it
does not exist yet and is never dropped by the downgrade (another database on the same server may use
it); the downgrade takes back what this database granted.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "register_app"


def upgrade() -> None:
    # Two migrations on one server at once (two test sessions) may both see the role missing: the
    # loser of that race gets duplicate_object, which means the role is there, as wanted. A migrating
    # role without CREATEROLE (common on managed servers) gets a message saying what to do.
    op.execute(
        f"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} NOLOGIN;
            END IF;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL;
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'migration 0003 needs the role {ROLE}: create it first '
                    '(CREATE ROLE {ROLE} NOLOGIN, as a role with CREATEROLE) or migrate as a role that may '
                    'create roles';
        END
        $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {ROLE}")
    op.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")
    # The schema's version is the migrations' business only.
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {ROLE}")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM {ROLE}")
    # Tables and sequences that later migrations create (as this same owner) get the same grants; a
    # later append-only table must revoke for itself, as this migration does for audit_event.
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO {ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {ROLE}"
    )


def downgrade() -> None:
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT, UPDATE ON SEQUENCES FROM {ROLE}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"REVOKE SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES FROM {ROLE}"
    )
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}")
