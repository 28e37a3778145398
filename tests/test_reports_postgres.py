"""The Reports page's figures on PostgreSQL (its hour buckets are PostgreSQL's own SQL)."""
from __future__ import annotations

import pytest

from tests import helpers
from tests.test_reports import test_every_figure_of_a_hand_built_month, world  # noqa: F401  (run here on PostgreSQL)

pytestmark = pytest.mark.postgres


@pytest.fixture()
def settings(settings, postgres_url):
    return helpers.on_postgres(settings, postgres_url)
