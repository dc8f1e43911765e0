"""The docs tests reuse the API's fixtures (app, settings, tokens) and the browser harness."""

from tests.api.conftest import *  # noqa: F403  (the app, settings, token and organisation fixtures)
from tests.browser import browser, live_server, page  # noqa: F401  (fixtures)
