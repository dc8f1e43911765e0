"""A faster path through graphql-core's executor for fields that only read an attribute.

Why: a portal's person query selects ~40 fields per achievement; for 300 achievements graphql-core
executes ~12 000 fields, each with a resolve-info object, a path, a resolver call and awaitable
checks — about 20 µs apiece, several times what REST spends on the same data. Most of those fields are
plain attributes of the register's views (Strawberry fields without a resolver, argument or
extension). For those this executor reads the attribute and completes the value itself:

- a scalar or enum (or a list of them): serialized with the type's own ``serialize``;
- an object: its sub-selection is collected with the executor's own (memoized) ``collect_subfields``
  and executed by ``execute_fields`` again, so resolvers further down run as usual.

Everything else — resolvers, arguments, ``__typename``, a null where the schema forbids one, a value
that does not serialize, a deferred fragment — goes through the standard ``execute_field``, which
produces the standard errors and null propagation. The response is the same as graphql-core's; the
test suite runs every query through this executor.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

LEAF, LEAF_LIST, OBJECT, OBJECT_LIST = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class _Plain:
    python_name: str
    kind: int
    non_null: bool
    item_non_null: bool
    serialize: Callable[[Any], Any] | None
    object_type: GraphQLObjectType | None
    return_type: Any
    # A Python type whose values the scalar would give back unchanged (str for String, bool for
    # Boolean): checked with ``type(value) is``, so a subclass (an enum, a bool for Int) still serializes.
    verbatim: type | None = None
    # A Python type and the conversion the scalar applies to it (Strawberry's UUID and Date scalars).
    direct: tuple[type, Callable[[Any], Any]] | None = None


_VERBATIM = {"String": str, "ID": str, "Boolean": bool}
_DIRECT: dict[str, tuple[type, Callable[[Any], Any]]] = {
    "UUID": (uuid.UUID, str),
    "Date": (dt.date, dt.date.isoformat),
}


class _Slow(Exception):
    """This field needs the standard path (a null in a non-null position, a value that does not serialize)."""


def _plain(field_def: Any) -> _Plain | None:
    resolve = field_def.resolve
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if definition is None or not getattr(resolve, "_is_default", False) or field_def.args:
        return None
    python_name = definition.python_name
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if non_null else field_type
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        scalar = isinstance(inner, GraphQLScalarType)
        verbatim = _VERBATIM.get(inner.name) if scalar else None
        direct = _DIRECT.get(inner.name) if scalar else None
        return _Plain(python_name, LEAF, non_null, False, inner.serialize, None, field_type, verbatim, direct)
    if isinstance(inner, GraphQLObjectType):
        return _Plain(python_name, OBJECT, non_null, False, None, inner, field_type)
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        item_non_null = isinstance(item, GraphQLNonNull)
        item = item.of_type if item_non_null else item
        if isinstance(item, GraphQLScalarType | GraphQLEnumType):
            return _Plain(python_name, LEAF_LIST, non_null, item_non_null, item.serialize, None, field_type)
        if isinstance(item, GraphQLObjectType):
            return _Plain(python_name, OBJECT_LIST, non_null, item_non_null, None, item, field_type)
    return None


# Per object type of any schema built in this process; weak, so a discarded schema takes its plans along.
_PLANS: weakref.WeakKeyDictionary[GraphQLObjectType, dict[str, _Plain]] = weakref.WeakKeyDictionary()


def _plan(parent_type: GraphQLObjectType) -> dict[str, _Plain]:
    plan = _PLANS.get(parent_type)
    if plan is None:
        plan = {}
        for name, field_def in parent_type.fields.items():
            found = _plain(field_def)
            if found is not None:
                plan[name] = found
        _PLANS[parent_type] = plan
    return plan


@dataclass(frozen=True, slots=True)
class _Program:
    """One grouped field set of one parent type, with the plain fields found once per request."""

    fields: tuple[tuple[str, Any, _Plain | None], ...]
    all_plain: bool
    parent_type: GraphQLObjectType
    grouped: Any  # kept alive: the program is cached by the identity of this object


Projector = Callable[[Any, Any], dict[str, Any]]


def _leaf(plain: _Plain, value: Any) -> Any:
    if type(value) is plain.verbatim:
        return value
    direct = plain.direct
    if direct is not None and type(value) is direct[0]:
        return direct[1](value)
    serialize = plain.serialize
    assert serialize is not None
    try:
        return serialize(value)
    except Exception:
        raise _Slow from None


def _projector(steps: tuple[tuple[str, _Plain, Projector | None], ...]) -> Projector:
    """A function building the response dict of a selection made only of plain fields, all the way down.

    It raises _Slow for anything the standard path must handle (then the caller starts over there).
    """

    def project(source: Any, context: Any) -> dict[str, Any]:
        resolved = getattr(source, "graphql_resolved", None)
        if resolved is not None:
            resolved(context)
        out: dict[str, Any] = {}
        for name, plain, sub in steps:
            value = getattr(source, plain.python_name)
            if value is None:
                if plain.non_null:
                    raise _Slow
                out[name] = None
                continue
            kind = plain.kind
            if kind == LEAF:
                out[name] = value if type(value) is plain.verbatim else _leaf(plain, value)
            elif kind == OBJECT:
                assert sub is not None
                out[name] = sub(value, context)
            elif kind == OBJECT_LIST:
                assert sub is not None
                if plain.item_non_null:
                    out[name] = [sub(item, context) if item is not None else _none_item() for item in value]
                else:
                    out[name] = [sub(item, context) if item is not None else None for item in value]
            else:
                items = [_leaf(plain, item) if item is not None else None for item in value]
                if plain.item_non_null and None in items:
                    raise _Slow
                out[name] = items
        return out

    return project


def _none_item() -> Any:
    raise _Slow


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # grouped field sets are memoized per parent type by collect_subfields, and kept alive in the
        # program, so their identity is a key for this execution
        self._fast_programs: dict[int, _Program] = {}
        # (object type, id of the field details list) → projector, or None where one cannot be made
        self._projectors: dict[tuple[GraphQLObjectType, int], tuple[Any, Projector | None]] = {}

    def _projector_for(self, object_type: GraphQLObjectType, field_details_list: Any) -> Projector | None:
        """The projector of this selection on ``object_type`` if it is plain all the way down, else None."""
        key = (object_type, id(field_details_list))
        cached = self._projectors.get(key)
        if cached is not None:
            return cached[1]
        projector: Projector | None = None
        grouped, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        program = self._program(object_type, grouped)
        if program.all_plain and not new_defer_usages:
            steps: list[tuple[str, _Plain, Projector | None]] = []
            for response_name, details, plain in program.fields:
                assert plain is not None
                sub = None
                if plain.kind in (OBJECT, OBJECT_LIST):
                    assert plain.object_type is not None
                    sub = self._projector_for(plain.object_type, details)
                    if sub is None:
                        break
                steps.append((response_name, plain, sub))
            else:
                projector = _projector(tuple(steps))
        self._projectors[key] = (field_details_list, projector)  # the list is kept alive with its id
        return projector

    def _program(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Program:
        programs = self._fast_programs
        program = programs.get(id(grouped_field_set))
        if program is None or program.parent_type is not parent_type:
            manager = self.middleware_manager
            # A resolve middleware (a schema extension with a ``resolve`` hook) must see every field.
            plan = {} if manager is not None and manager.middlewares else _plan(parent_type)
            fields = []
            for response_name, field_details_list in grouped_field_set.items():
                node = field_details_list[0].node
                plain = None if node.arguments else plan.get(node.name.value)
                fields.append((response_name, field_details_list, plain))
            program = _Program(
                tuple(fields), all(f[2] is not None for f in fields), parent_type, grouped_field_set
            )
            programs[id(grouped_field_set)] = program
        return program

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        resolved = getattr(source_value, "graphql_resolved", None)
        if resolved is not None:
            resolved(self.context_value)
        program = self._program(parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        waiting: list[str] = []
        if program.all_plain:
            # The common case (a view's attributes only): no ordering work, no awaitables of our own
            # unless an object below has a resolver.
            try:
                for response_name, field_details_list, plain in program.fields:
                    assert plain is not None
                    value = getattr(source_value, plain.python_name)
                    if value is None:
                        if plain.non_null:
                            raise _Slow
                        results[response_name] = None
                    elif plain.kind == LEAF:
                        if type(value) is plain.verbatim:
                            results[response_name] = value
                            continue
                        direct = plain.direct
                        if direct is not None and type(value) is direct[0]:
                            results[response_name] = direct[1](value)
                            continue
                        try:
                            results[response_name] = plain.serialize(value)  # type: ignore[misc]
                        except Exception:
                            raise _Slow from None
                    else:
                        completed = self._complete_plain(
                            plain,
                            parent_type,
                            value,
                            path,
                            response_name,
                            field_details_list,
                            position_context,
                        )
                        results[response_name] = completed
                        if plain.kind >= OBJECT and self.is_awaitable(completed):
                            waiting.append(response_name)
            except _Slow:
                pass  # the rest field by field, below (what is done stays done)
            else:
                if not waiting:
                    return results
                return self._settle(results, waiting, [name for name, _, _ in program.fields])
        return self._mixed(program, parent_type, source_value, path, position_context, results, waiting)

    def _mixed(
        self,
        program: _Program,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        position_context: Any,
        results: dict[str, Any],
        waiting: list[str],
    ) -> Any:
        slow: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        for response_name, field_details_list, plain in program.fields:
            if response_name in results:
                continue
            if plain is None:
                slow[response_name] = field_details_list
                continue
            try:
                value = getattr(source_value, plain.python_name)
                if value is None and plain.non_null:
                    raise _Slow
                completed = (
                    None
                    if value is None
                    else self._complete_plain(
                        plain, parent_type, value, path, response_name, field_details_list, position_context
                    )
                )
            except _Slow:
                slow[response_name] = field_details_list
                continue
            results[response_name] = completed
            if plain.kind >= OBJECT and is_awaitable(completed):
                waiting.append(response_name)
        if slow:
            rest = super().execute_fields(parent_type, source_value, path, slow, position_context)
            if is_awaitable(rest):
                waiting.append("")  # "" stands for the standard fields' result (no field has that name)
                results[""] = rest
            else:
                results.update(cast(dict[str, Any], rest))
        order = [name for name, _, _ in program.fields]
        if not waiting:
            return {name: results[name] for name in order if name in results}
        return self._settle(results, waiting, order)

    async def _settle(self, results: dict[str, Any], waiting: list[str], order: list[str]) -> dict[str, Any]:
        # Concurrently, as graphql-core does: sibling fields waiting on DataLoaders share their batches.
        if len(waiting) == 1:
            awaited = [await results[waiting[0]]]
        else:
            awaited = await asyncio.gather(*(results[name] for name in waiting))
        for name, value in zip(waiting, awaited, strict=True):
            if name == "":
                del results[""]
                results.update(value)
            else:
                results[name] = value
        return {name: results[name] for name in order if name in results}

    def _complete_plain(
        self,
        plain: _Plain,
        parent_type: GraphQLObjectType,
        value: Any,
        path: Path | None,
        response_name: str,
        field_details_list: Any,
        position_context: Any,
    ) -> Any:
        """The completed value of a plain field whose value is not None (raises _Slow to hand it back)."""
        kind = plain.kind
        if kind == LEAF:
            serialize = plain.serialize
            assert serialize is not None
            try:
                return serialize(value)
            except Exception:
                raise _Slow from None
        if kind == LEAF_LIST:
            serialize = plain.serialize
            assert serialize is not None
            try:
                items = [serialize(item) if item is not None else None for item in value]
            except Exception:
                raise _Slow from None
            if plain.item_non_null and any(item is None for item in items):
                raise _Slow
            return items
        object_type = plain.object_type
        assert object_type is not None
        projector = self._projector_for(object_type, field_details_list)
        if projector is not None:
            # Plain all the way down: one tight walk, no paths, no awaitables. Anything unusual in the
            # data (_Slow) sends this field to the general path below, which starts it over.
            try:
                if kind == OBJECT:
                    return projector(value, self.context_value)
                if plain.item_non_null:
                    return [
                        projector(v, self.context_value) if v is not None else _none_item() for v in value
                    ]
                return [projector(v, self.context_value) if v is not None else None for v in value]
            except _Slow:
                pass
        grouped, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            raise _Slow
        field_path = Path(path, response_name, parent_type.name)
        if kind == OBJECT_LIST:
            return self._complete_object_list(
                plain, object_type, value, grouped, field_details_list, field_path, position_context
            )
        try:
            completed = self.execute_fields(object_type, value, field_path, grouped, position_context)
        except Exception as raw_error:
            # As graphql-core: null here, or (non-null field) the error goes on to the parent.
            self.handle_field_error(raw_error, plain.return_type, field_details_list, field_path)
            return None
        if self.is_awaitable(completed):
            return self._await_object(completed, plain.return_type, field_details_list, field_path)
        return completed

    def _complete_object_list(
        self,
        plain: _Plain,
        object_type: GraphQLObjectType,
        items: Any,
        grouped: Any,
        field_details_list: Any,
        field_path: Path,
        position_context: Any,
    ) -> Any:
        if plain.item_non_null and any(item is None for item in items):
            raise _Slow
        item_type = plain.return_type.of_type if plain.non_null else plain.return_type
        item_type = item_type.of_type
        completed: list[Any] = []
        waiting: list[int] = []
        for index, item in enumerate(items):
            if item is None:
                completed.append(None)
                continue
            item_path = Path(field_path, index, None)
            try:
                value = self.execute_fields(object_type, item, item_path, grouped, position_context)
            except Exception as raw_error:
                # As graphql-core: this item null, or (non-null items) the error goes to the list.
                self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                value = None
            if self.is_awaitable(value):
                value = self._await_object(value, item_type, field_details_list, item_path)
                waiting.append(index)
            completed.append(value)
        if not waiting:
            return completed
        return self._await_items(completed, waiting)

    async def _await_items(self, completed: list[Any], waiting: list[int]) -> list[Any]:
        awaited = await asyncio.gather(*(completed[i] for i in waiting))
        for index, value in zip(waiting, awaited, strict=True):
            completed[index] = value
        return completed

    async def _await_object(
        self, completed: Awaitable[Any], return_type: Any, field_details_list: Any, field_path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, field_path)
            return None
