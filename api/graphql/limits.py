"""Depth, cost and alias limits, checked after validation and before anything runs.

One pass over the operation to be executed, with fragments expanded where they are spread and with
the request's variables at hand, measures:

- depth: how deeply selections of objects nest (introspection fields are not counted; introspection
  is switched off as a whole in production);
- aliases: how many fields carry an alias (an alias is how one document repeats a costly field);
- cost: an upper bound of the objects the query builds. A field of object type costs the number of
  objects it can give in the whole answer: 1 per parent object, times the length of the list it is,
  where it is a list. A connection counts its page (``first``, or the default page); ``parts`` counts
  the most achievements one person may have (``MAX_PERSON_ACHIEVEMENTS``, held at run time by
  ``tree_bound``); other lists of objects count a fixed figure (``LIST_SIZES``, else
  ``DEFAULT_LIST``).

  One refinement keeps ordinary nested queries cheap: below a page the achievements of one level are
  *distinct* (each has one parent), so all ``parts`` lists of that level together hold at most
  ``MAX_PERSON_ACHIEVEMENTS`` achievements, not that many per parent. ``partOf`` ends that: siblings
  share their parent, so ``partOf { parts }`` gives every sibling's whole family again — the walk up
  and down that built 504 896 objects from an estimate of 4 001 (docs/reliability.md). After a
  ``partOf`` each ``parts`` counts ``MAX_PERSON_ACHIEVEMENTS`` per parent.

A request over a limit gets one error with a stable code in ``extensions.code`` and is not executed.
The document itself is bounded before this (a token limit on parsing, a body size limit on HTTP).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_introspection_type,
    is_list_type,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from graphql.language import BREAK
from strawberry.extensions import SchemaExtension

#: lists of objects other than connections: field name → the number of items assumed
LIST_SIZES: Mapping[str, int] = {
    "identifiers": 5,
    "codes": 5,
    "credits": 3,  # a statistics cell's sums, one per credit scheme
    "stats": 500,
}
DEFAULT_LIST = 10
#: connection fields: their ``first`` argument sizes the page
CONNECTIONS = frozenset({"achievements"})
#: the list of an achievement's children
PARTS = "parts"
#: a connection's lists of its page (counted at the page size the connection was asked for)
PAGE_LISTS = frozenset({"edges", "nodes"})
#: The most valid achievements of one person (under one set of filters) a GraphQL query walks through
#: ``parts``: the bound of one ``parts`` list, and of all ``parts`` lists of one distinct level. The
#: national-scale run holds 30 per person on average (29.1 M achievements of 954 806 persons); two
#: degrees of 60 courses each and a vitnemål of 30 subjects come to about 150. A person with more is
#: refused by a query that selects ``parts`` (``tree_bound``) and served whole by REST's look-up.
MAX_PERSON_ACHIEVEMENTS = 1_000
#: selections visited at most (the walk must stay bounded whatever the document)
_MAX_WALK = 100_000

_Composite = GraphQLObjectType | GraphQLInterfaceType


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int
    max_cost: int
    max_aliases: int
    default_page: int
    max_page: int


@dataclass(slots=True)
class Measure:
    depth: int = 0
    cost: int = 0
    aliases: int = 0
    steps: int = 0
    parts: bool = False  # the operation selects ``parts`` somewhere (its bound must hold at run time)


class NoIntrospection(ValidationRule):
    """Introspection switched off: any field that returns an introspection type is refused."""

    def enter_field(self, node: FieldNode, *_args: Any) -> Any:
        found = get_named_type(self.context.get_type())
        if found is not None and is_introspection_type(found):
            # One error says it; the rest of the document is not walked for more.
            self.report_error(
                GraphQLError(
                    f"introspection is switched off on this server (field {node.name.value!r})",
                    nodes=[node],
                    extensions={"code": "query.introspection_disabled"},
                )
            )
            return BREAK
        return None


def limits_extension(limits: Limits) -> type[SchemaExtension]:
    """A schema extension that refuses an operation over ``limits`` before it is executed."""

    class QueryLimits(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            schema: GraphQLSchema = context.schema._schema
            if document is not None:
                fragments = {
                    d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
                }
                operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
                chosen = [
                    op
                    for op in operations
                    if context.operation_name is None or (op.name and op.name.value == context.operation_name)
                ]
                for operation in chosen[:1]:
                    measure = Measure()
                    error = check(operation, fragments, schema, limits, context.variables or {}, measure)
                    if error is not None:
                        # A result set before execution is returned as it is: nothing runs.
                        context.result = GraphQLExecutionResult(data=None, errors=[error])
                    elif measure.parts and hasattr(context.context, "tree_bound"):
                        # The estimate counted MAX_PERSON_ACHIEVEMENTS per ``parts``: the loaders hold
                        # every person tree this request reads to it.
                        context.context.tree_bound = MAX_PERSON_ACHIEVEMENTS
            yield

    return QueryLimits


def check(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    schema: GraphQLSchema,
    limits: Limits,
    variables: Mapping[str, Any],
    measure: Measure | None = None,
) -> GraphQLError | None:
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    measure = measure if measure is not None else Measure()
    walker = _Walker(fragments, schema, limits, variables, measure)
    walker.walk(operation.selection_set, root, depth=0, multiplier=1, distinct=False, spreading=())
    name = operation.name.value if operation.name else "the operation"
    if measure.steps > _MAX_WALK or measure.depth > limits.max_depth:
        return GraphQLError(
            f"{name} nests deeper than the allowed {limits.max_depth} levels",
            nodes=[operation],
            extensions={"code": "query.too_deep"},
        )
    if measure.aliases > limits.max_aliases:
        return GraphQLError(
            f"{name} uses {measure.aliases} aliases; at most {limits.max_aliases} are allowed",
            nodes=[operation],
            extensions={"code": "query.too_many_aliases"},
        )
    if measure.cost > limits.max_cost:
        return GraphQLError(
            f"{name} may resolve about {measure.cost} objects; at most {limits.max_cost} are allowed"
            " (ask for smaller pages with `first`, or for fewer fields)",
            nodes=[operation],
            extensions={"code": "query.too_costly"},
        )
    return None


@dataclass(slots=True)
class _Walker:
    fragments: Mapping[str, FragmentDefinitionNode]
    schema: GraphQLSchema
    limits: Limits
    variables: Mapping[str, Any]
    measure: Measure
    pages: list[int] = field(default_factory=list)  # the page sizes of the connections walked into

    def walk(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        *,
        depth: int,
        multiplier: int,
        distinct: bool,
        spreading: tuple[str, ...],
    ) -> None:
        """``multiplier``: how many objects of ``parent`` the answer may hold here; ``distinct``: they
        are achievements no two of which are the same (a page, or ``parts`` of a distinct level)."""
        if selection_set is None or not isinstance(parent, _Composite):
            return
        measure, limits = self.measure, self.limits
        for selection in selection_set.selections:
            measure.steps += 1
            # Past a limit the numbers only grow: stop walking, the verdict is already known. Not on
            # cost: a document both too deep and too costly is told it is too deep (the walk is bounded
            # by its steps either way).
            if measure.steps > _MAX_WALK or measure.depth > limits.max_depth:
                return
            if isinstance(selection, FieldNode):
                self._field(
                    selection,
                    parent,
                    depth=depth,
                    multiplier=multiplier,
                    distinct=distinct,
                    spreading=spreading,
                )
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self.walk(
                    selection.selection_set,
                    inner,
                    depth=depth,
                    multiplier=multiplier,
                    distinct=distinct,
                    spreading=spreading,
                )
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None or fragment.name.value in spreading:
                    continue  # unknown or cyclic: validation has refused such a document already
                self.walk(
                    fragment.selection_set,
                    self.schema.get_type(fragment.type_condition.name.value),
                    depth=depth,
                    multiplier=multiplier,
                    distinct=distinct,
                    spreading=(*spreading, fragment.name.value),
                )

    def _field(
        self,
        node: FieldNode,
        parent: Any,
        *,
        depth: int,
        multiplier: int,
        distinct: bool,
        spreading: tuple[str, ...],
    ) -> None:
        name = node.name.value
        if name.startswith("__"):
            return  # __typename is free; __schema/__type are governed by the introspection switch
        measure = self.measure
        if node.alias is not None:
            measure.aliases += 1
        definition = parent.fields.get(name)
        if definition is None or node.selection_set is None:
            return
        field_type = definition.type
        if isinstance(field_type, GraphQLNonNull):
            field_type = field_type.of_type
        if name in CONNECTIONS:
            # One connection object per parent; its ``edges`` and ``nodes`` hold the page.
            inner, inner_distinct = multiplier, False
            self.pages.append(self._page(node))
        elif name in PAGE_LISTS and self.pages:
            # A page's achievements are distinct: no two edges or nodes are the same achievement.
            inner, inner_distinct = multiplier * self.pages[-1], True
        elif name == PARTS:
            measure.parts = True
            if distinct:
                # Children of distinct parents are distinct: one person's achievements at most.
                inner = MAX_PERSON_ACHIEVEMENTS if multiplier else 0
            else:
                inner = multiplier * MAX_PERSON_ACHIEVEMENTS
            inner_distinct = distinct
        elif is_list_type(field_type):
            inner, inner_distinct = multiplier * LIST_SIZES.get(name, DEFAULT_LIST), False
        else:
            # An edge's node is the edge's own achievement; partOf is not: siblings share their parent,
            # so what lies below it is no longer distinct.
            inner, inner_distinct = multiplier, distinct and name == "node"
        measure.cost += inner
        measure.depth = max(measure.depth, depth + 1)
        self.walk(
            node.selection_set,
            get_named_type(field_type),
            depth=depth + 1,
            multiplier=inner,
            distinct=inner_distinct,
            spreading=spreading,
        )
        if name in CONNECTIONS:
            self.pages.pop()

    def _page(self, node: FieldNode) -> int:
        limits = self.limits
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value: Any = argument.value
            if isinstance(value, IntValueNode):
                given: Any = int(value.value)
            elif isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
            else:
                given = None
            if isinstance(given, int) and not isinstance(given, bool):
                return max(0, min(given, limits.max_page))
            return limits.default_page if given is None else limits.max_page
        return limits.default_page
