"""GraphQL at /graphql: the register's read side as a graph (see docs/graphql.md)."""

from api.graphql.router import graphql_router

__all__ = ["graphql_router"]
