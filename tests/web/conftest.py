"""Pages in a real browser reuse the API's fixtures (app, settings, tokens) and add the browser's."""

from tests.api.conftest import *  # noqa: F403  (the app, settings, token and organisation fixtures)
from tests.browser import browser, live_server, page  # noqa: F401  (fixtures)
from tests.citizen.conftest import citizen  # noqa: F401  (a person with results, for the citizen pages)
