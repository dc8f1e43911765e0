"""Known input made compact: 16-byte digests, content hashes as raw bytes, shorter vitnemål notes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 00:40:00

At national scale ``known_input`` held 21.6 M rows in 8.6 GB (329 bytes a row and 77 of index): the
32-byte digest, each content hash as 64 characters of text in an array, a vitnemål's note repeated
on each of its rows. The database outgrew the machine's memory and a first import got slower
(docs/performance.md). Each row is rewritten here, nothing is lost:

- the digest is the first 16 bytes of the old one (the register makes it so: ``KEY_BYTES``);
- the content hashes are the first 16 bytes of each, raw, one after the other (``HASH_BYTES``);
- a "seen" note keeps the first 32 hex digits of its fields' digest, as the importer now writes it.

The rows are copied in key order into a new table that replaces the old one: one pass, the primary
key built once over sorted keys, and no dead rows left behind as an UPDATE of every row would.
Downgrade empties the table (the cut bytes cannot be grown back): it only remembers what was
delivered, to skip it, and a provider's next delivery is read in full and remembered anew.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE known_input_compact (
            provider_id integer NOT NULL,
            digest bytea NOT NULL,
            note text,
            achievement_ids uuid[] NOT NULL,
            content_hashes bytea NOT NULL
        )
        """
    )
    # DISTINCT ON: two old digests alike in their first 16 bytes would break the primary key; it
    # cannot be expected (2^-128 a pair), and if it were so the row kept is one of the two.
    op.execute(
        """
        INSERT INTO known_input_compact (provider_id, digest, note, achievement_ids, content_hashes)
        SELECT DISTINCT ON (k.provider_id, substring(k.digest FROM 1 FOR 16))
               k.provider_id, substring(k.digest FROM 1 FOR 16),
               CASE WHEN k.note LIKE '["seen", %'
                    THEN (SELECT jsonb_build_array(j -> 0, j -> 1, left(j ->> 2, 32))::text
                          FROM (SELECT k.note::jsonb AS j) parsed)
                    ELSE k.note END,
               k.achievement_ids,
               (SELECT string_agg(decode(left(h, 32), 'hex'), ''::bytea ORDER BY n)
                FROM unnest(k.content_hashes) WITH ORDINALITY u(h, n))
        FROM known_input k
        ORDER BY k.provider_id, substring(k.digest FROM 1 FOR 16)
        """
    )
    op.drop_table("known_input")
    op.rename_table("known_input_compact", "known_input")
    op.create_primary_key("pk_known_input", "known_input", ["provider_id", "digest"])
    op.create_foreign_key(
        "fk_known_input_provider_id_organisation",
        "known_input",
        "organisation",
        ["provider_id"],
        ["id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.execute("DELETE FROM known_input")
    op.execute("ALTER TABLE known_input ALTER COLUMN content_hashes TYPE varchar(64)[] USING '{}'")
