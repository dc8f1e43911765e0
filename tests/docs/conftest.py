"""The docs tests reuse the API's fixtures (app, settings, tokens). The pages in a browser are tested
in tests/web, beside the browser harness's fixtures: one Playwright per session."""

from tests.api.conftest import *  # noqa: F403  (the app, settings, token and organisation fixtures)
