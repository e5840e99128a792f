from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

ROUTE_KEY = "fast_hot_reload.route"  # scope key: which of the grouped routes matched


class Endpoints(BaseRoute):
    """The hot reload routes behind one substring test.

    The outer layer answers them; in the app's routes (moved last when the app first serves) they are
    for `url_path_for`, tools that list routes, and the 405 of a wrong method.
    """

    def __init__(self, prefix: str, routes: Sequence[BaseRoute]) -> None:
        self.path = prefix  # for tools that list an app's routes by path
        self.marker = prefix + "/"  # in the path of every request any of the routes can match
        self.routes = list(routes)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.marker not in scope.get("path", ""):
            return Match.NONE, {}
        found: tuple[Match, Scope] = (Match.NONE, {})
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, ROUTE_KEY: route}
            if match is Match.PARTIAL and found[0] is Match.NONE:
                found = match, {**child_scope, ROUTE_KEY: route}  # e.g. the right path with the wrong method
        return found

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope.pop(ROUTE_KEY).handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)
