"""The handlers run inside the real app: reuse the web fixtures."""
from tests.web.conftest import api, app  # noqa: F401
