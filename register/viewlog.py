"""Who has looked at a person's data: the audit trail as the person may see it (as KOSKI's view log).

Reads by others only: the person's own reads on the citizen pages are audited too (actions starting
with ``citizen.``), but listing them back would only tell the person what they did. Reads are grouped
by organisation and purpose (the audit action and scope: a look-up of the results, an ELMO document, a
read through a share link, ...), newest group first, each with its dates. Internal request data (client
ids, request ids) are not shown.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

#: the prefix of the citizen's own actions on their pages, left out of their view log
OWN_ACTION_PREFIX = "citizen."
#: the newest reads shown (a person read daily for three years); older ones stay in the audit trail
MAX_READS = 1000


@dataclass(slots=True)
class ViewGroup:
    organisation: str | None  # orgnr; None for a read through a share link (anyone holding it)
    organisation_name: str | None
    action: str  # the purpose, as the audit names it
    scope: str | None
    dates: list[dt.datetime] = field(default_factory=list)  # newest first

    @property
    def latest(self) -> dt.datetime:
        return self.dates[0]


def views_by_others(conn: Connection, person_id: uuid.UUID, *, limit: int = MAX_READS) -> list[ViewGroup]:
    """The reads of this person's data by others, grouped, newest group first."""
    rows = conn.execute(
        text(
            """SELECT a.occurred_at, a.organisation, o.name_nb, a.action, a.scope
               FROM audit_event a LEFT JOIN organisation o ON o.orgnr = a.organisation
               WHERE a.person_id = :p AND a.action NOT LIKE :own
               ORDER BY a.occurred_at DESC, a.id DESC LIMIT :n"""
        ),
        {"p": person_id, "own": OWN_ACTION_PREFIX + "%", "n": limit},
    )
    groups: dict[tuple[str | None, str, str | None], ViewGroup] = {}
    for r in rows:
        key = (r.organisation, r.action, r.scope)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ViewGroup(r.organisation, r.name_nb, r.action, r.scope)
        group.dates.append(r.occurred_at)
    # Rows come newest first, so groups are made in the order of their newest read.
    return list(groups.values())
