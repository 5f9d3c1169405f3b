"""Engine tests that need the real app reuse the web fixtures."""
from tests.web.conftest import api, app  # noqa: F401
