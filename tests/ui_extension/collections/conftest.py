"""The builder's browser fixtures (live server, chromium, page) for these pages too."""

from tests.ui_extension.builder.conftest import base_url, browser, page  # noqa: F401
