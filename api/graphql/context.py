"""The per-request context: the caller, one database transaction, the DataLoaders and the audit ledger.

Made fresh for every request by ``context_getter`` (so no loader cache outlives a request or crosses
callers). The database work of a request runs in one transaction on one connection, opened at the
first look-up; resolvers reach it through ``GraphContext.db``, which runs the synchronous SQL in a worker
thread (the event loop is never blocked) and one statement batch at a time (a connection is not shared
by two threads at once).

The audit ledger notes every person a request resolved and every achievement it gave out;
``GraphContext.finish`` writes one audit row per person and commits, before the response leaves — if
the rows cannot be written, the response carries no person data.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext

from api.auth import Principal
from api.errors import ApiError
from api.graphql import queries
from api.graphql.errors import missing_scope
from register import audit
from register.errors import RegisterError
from register.history import AchievementHistory, achievement_histories
from register.organisations import OrganisationView
from register.persons import person_id_by_nin
from register.queries import AchievementView, PersonView, Selection, SpecificationView, person_view
from register.settings import Settings
from register.stats import StatsResult, VersionedCache

T = TypeVar("T")

#: the key of one person's achievements under a selection (the arguments of ``achievements``)
ViewKey = tuple[uuid.UUID, Selection]

AUDIT_ACTION = "graphql.person"
ENDPOINT = "POST /graphql"


@dataclass(slots=True)
class PersonAccess:
    """What one request gave out about one person."""

    achievement_ids: dict[uuid.UUID, None] = field(default_factory=dict)  # ordered set
    filters: list[dict[str, Any]] = field(default_factory=list)
    # achievement id → the versions of it given out (``versions``: its history is person data too)
    versions: dict[str, list[int]] = field(default_factory=dict)


class AuditLedger:
    def __init__(self) -> None:
        self.persons: dict[uuid.UUID, PersonAccess] = {}
        # look-ups of a number no person holds: each is audited too (the answer says it is unknown)
        self.not_found = 0

    def unknown(self) -> None:
        self.not_found += 1

    def person(self, person_id: uuid.UUID) -> None:
        self.persons.setdefault(person_id, PersonAccess())

    def gave_one(self, person_id: uuid.UUID, achievement_id: uuid.UUID) -> None:
        access = self.persons.get(person_id)
        if access is None:
            access = self.persons[person_id] = PersonAccess()
        access.achievement_ids[achievement_id] = None

    def versions(self, person_id: uuid.UUID, achievement_id: uuid.UUID, versions: list[int]) -> None:
        access = self.persons.setdefault(person_id, PersonAccess())
        access.versions[str(achievement_id)] = versions

    def filtered(self, person_id: uuid.UUID, filters: dict[str, Any]) -> None:
        access = self.persons.setdefault(person_id, PersonAccess())
        if filters not in access.filters:
            access.filters.append(filters)


class Loaders:
    """The request's DataLoaders: each collects the keys asked for in one tick and answers them at once."""

    def __init__(self, context: GraphContext) -> None:
        db = context.db

        allow_synthetic = context.settings.synthetic_ids_allowed

        async def person_ids(keys: list[str]) -> list[uuid.UUID | BaseException]:
            # One worker-thread hop for every number of the request, so the persons found go on to
            # their next loads together (one statement for all their identifiers, and so on). Their
            # person rows come in the same hop: every person resolved needs them.
            def read(
                conn: Connection,
            ) -> tuple[list[uuid.UUID | BaseException], dict[uuid.UUID, queries.PersonRecord]]:
                found: list[uuid.UUID | BaseException] = []
                for nin in keys:
                    try:
                        found.append(person_id_by_nin(conn, nin, allow_synthetic=allow_synthetic))
                    except RegisterError as exc:
                        found.append(exc)
                ids = [f for f in found if isinstance(f, uuid.UUID)]
                return found, queries.persons_by_ids(conn, ids) if ids else {}

            found, records = await db(read)
            for person_id in (f for f in found if isinstance(f, uuid.UUID)):
                self.person.prime(person_id, records.get(person_id))
            return found

        async def persons(keys: list[uuid.UUID]) -> list[queries.PersonRecord | None]:
            found = await db(lambda conn: queries.persons_by_ids(conn, keys))
            return [found.get(k) for k in keys]

        async def identifiers(keys: list[uuid.UUID]) -> list[list[queries.IdentifierView]]:
            found = await db(lambda conn: queries.identifiers_by_person(conn, keys))
            return [found.get(k, []) for k in keys]

        async def views(keys: list[ViewKey]) -> list[PersonView | BaseException | None]:
            # One nested read per person and filter, from the same code as REST's look-up (so both
            # give out exactly the same achievements under the same filters).
            def read(conn: Connection) -> list[PersonView | None]:
                return [person_view(conn, pid, selection) for pid, selection in keys]

            found = await db(read)
            bound = context.tree_bound
            if bound is None:
                return list(found)
            return [_within(view, bound) for view in found]

        async def organisations(keys: list[int]) -> list[OrganisationView | None]:
            found = await db(lambda conn: queries.organisations_by_id(conn, keys))
            return [found.get(k) for k in keys]

        async def organisations_by_orgnr(keys: list[str]) -> list[OrganisationView | None]:
            found = await db(lambda conn: queries.organisations_by_orgnr(conn, keys))
            return [found.get(k) for k in keys]

        async def specifications(keys: list[int]) -> list[SpecificationView | None]:
            found = await db(lambda conn: queries.specifications_by_id(conn, keys))
            return [found.get(k) for k in keys]

        async def histories(keys: list[uuid.UUID]) -> list[AchievementHistory]:
            # Only achievements already given out ask for their versions: every key exists.
            found = await db(lambda conn: achievement_histories(conn, keys))
            return [found[k] for k in keys]

        self.person_id = DataLoader(load_fn=person_ids)
        self.person = DataLoader(load_fn=persons)
        self.identifiers = DataLoader(load_fn=identifiers)
        self.person_view = DataLoader(load_fn=views)
        self.organisation = DataLoader(load_fn=organisations)
        self.organisation_by_orgnr = DataLoader(load_fn=organisations_by_orgnr)
        self.specification = DataLoader(load_fn=specifications)
        self.versions = DataLoader(load_fn=histories)
        # achievement id → achievement, per person view already read (for partOf)
        self.indexes: dict[ViewKey, dict[uuid.UUID, AchievementView]] = {}
        # the parents partOf has built, per list they were reached from: siblings share one (a parent
        # is built with its whole subtree, so 500 courses of one degree would otherwise build the
        # degree and its 500 courses 500 times over)
        self.parents: dict[tuple[ViewKey, uuid.UUID], Any] = {}


def _within(view: PersonView | None, bound: int) -> PersonView | BaseException | None:
    """The view, or the refusal of a query that walks ``parts`` of a person with more than ``bound``
    achievements (its cost estimate counted at most ``bound`` per ``parts``)."""
    if view is None:
        return None
    size = len(view.achievement_ids())
    if size <= bound:
        return view
    return ApiError(
        400,
        "query.too_costly",
        f"this person has {size} achievements under these filters, more than the {bound} a query that"
        " selects `parts` may walk; leave out `parts` (use `kind` and `partOf`), narrow with `sector`,"
        " or use POST /v1/persons/lookup",
    )


class GraphContext(BaseContext):
    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine,
        principal: Principal | None,
        request_id: str | None,
        stats_results: VersionedCache[StatsResult] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.engine = engine
        # the app's statistics answers, kept until the next refresh (shared with every request)
        self.stats_results = stats_results or new_stats_results(settings)
        self.principal = principal
        self.request_id = request_id
        # Set by the query limits when the operation selects ``parts``: the most achievements a person
        # tree read for it may hold (api/graphql/limits.py, MAX_PERSON_ACHIEVEMENTS).
        self.tree_bound: int | None = None
        self.audit = AuditLedger()
        self.loaders = Loaders(self)
        self._conn: Connection | None = None
        self._lock = asyncio.Lock()

    def require(self, *any_of: str) -> Principal:
        """The caller, who must hold one of ``any_of`` (else ``auth.missing_scope``, as REST's 403)."""
        if self.principal is None or not self.principal.scopes & set(any_of):
            raise missing_scope(*any_of)
        return self.principal

    async def db(self, work: Callable[[Connection], T]) -> T:
        async with self._lock:
            return await anyio.to_thread.run_sync(self._run, work)

    def _run(self, work: Callable[[Connection], T]) -> T:
        if self._conn is None:
            self._conn = self.engine.connect()
            self._conn.begin()
        return work(self._conn)

    async def finish(self) -> None:
        """Write one audit row per person resolved and per number found unknown, then commit (raises if
        either fails)."""
        if self._conn is None and not self.audit.persons and not self.audit.not_found:
            return
        await self.db(self._write_audit_and_commit)

    def _write_audit_and_commit(self, conn: Connection) -> None:
        principal = self.principal
        for person_id, access in self.audit.persons.items():
            ids = [str(i) for i in access.achievement_ids]
            audit.record_read(
                conn,
                person_id=person_id,
                action=AUDIT_ACTION,
                details={
                    "endpoint": ENDPOINT,
                    "count": len(ids),
                    "achievement_ids": ids,
                    "filters": access.filters,
                    **({"versions": access.versions} if access.versions else {}),
                },
                client_id=principal.client_id if principal else None,
                organisation=principal.orgnr if principal else None,
                scope=principal.scope_text if principal else None,
                request_id=self.request_id,
            )
        for _ in range(self.audit.not_found):
            audit.record_not_found(
                conn,
                action=AUDIT_ACTION,
                details={"endpoint": ENDPOINT},
                client_id=principal.client_id if principal else None,
                organisation=principal.orgnr if principal else None,
                scope=principal.scope_text if principal else None,
                request_id=self.request_id,
            )
        conn.commit()
        # Given back in the same worker-thread hop: nothing more runs on it in this request.
        self._conn = None
        conn.close()

    async def close(self) -> None:
        """Give the connection back; whatever was not committed by ``finish`` is rolled back."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await anyio.to_thread.run_sync(conn.close)


def new_stats_results(settings: Settings) -> VersionedCache[StatsResult]:
    """A cache of statistics results, weighed by their cells (a cell is a few hundred bytes)."""
    return VersionedCache[StatsResult](
        settings.stats_cache_bytes, lambda result: 400 * (1 + len(result.cells))
    )
