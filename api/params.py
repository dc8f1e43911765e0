"""Query parameters given more than once (``year=2024&year=2025``).

FastAPI keeps the last of several values of a parameter declared with one, silently: a filter
``year=2024&year=2025`` answered for 2025 alone looks like an answer for both. So every REST
operation either takes a parameter as a set of values (declared as a list: the statistics' filters)
or refuses its repetition with 422 ``request.repeated_parameter`` (``refuse_repeated``, a dependency
of every REST router, api/app.py). Which parameters take several values is read from the operation's
own declaration, so the two never disagree.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from fastapi import Request
from fastapi.routing import APIRoute

from api.errors import ApiError

T = TypeVar("T", bound=Hashable)


async def refuse_repeated(request: Request) -> None:
    """Refuse a query parameter given more than once where the operation takes one value. Async on
    purpose: FastAPI runs a plain function on the thread pool, a hop every request would pay."""
    if not request.scope.get("query_string"):
        return  # the common case (a look-up, an upload): nothing to read
    names = [name for name, _ in request.query_params.multi_items()]
    if len(names) == len(set(names)):
        return
    route = request.scope.get("route")
    several = _multi_valued(route) if isinstance(route, APIRoute) else frozenset()
    repeated = sorted({n for n in names if names.count(n) > 1} - several)
    if repeated:
        raise ApiError(
            422,
            "request.repeated_parameter",
            f"the query parameter {', '.join(repeated)} is given more than once; this operation takes one "
            "value of it" + (f" (several are taken by: {', '.join(sorted(several))})" if several else ""),
            extra={"parameters": repeated},
        )


def _multi_valued(route: APIRoute) -> frozenset[str]:
    """The query parameters the operation declares as lists (their names as sent: aliases); read once
    per route and kept on it (a route is not hashable, so no functools.cache)."""
    known: frozenset[str] | None = getattr(route, "_register_multi_valued", None)
    if known is None:
        known = _declared_lists(route)
        route._register_multi_valued = known  # type: ignore[attr-defined]
    return known


def _declared_lists(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending = [route.dependant]
    while pending:  # the operation's own parameters and those of its dependencies
        dependant = pending.pop()
        names.update(p.alias for p in dependant.query_params if _is_list(p.field_info.annotation))
        pending.extend(dependant.dependencies)
    return frozenset(names)


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return origin in (list, set, frozenset, tuple)


def value_set(values: Sequence[T] | None) -> T | tuple[T, ...] | None:
    """A multi-valued parameter as the register's filters take it: None if absent, the value if one,
    else the distinct values in the order given (``year=2024&year=2024`` is one year)."""
    if not values:
        return None
    distinct = tuple(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else distinct
