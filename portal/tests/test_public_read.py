"""Public answers kept a few seconds and shared: a rush on one ZIP code costs the gateway one
request, not one per person."""

from __future__ import annotations

import pytest

from portal.app import create_app
from portal.gateway import ApiProblem, public_read


class CountingGateway:
    def __init__(self):
        self.calls = []

    def call(self, method, path, *, params=None, **_):
        self.calls.append((method, path, params))
        if path.endswith("/unknown"):
            raise ApiProblem(404, "not_found", "location unknown not found")
        return [{"location_id": "demo-clinic", "asked": params}]


@pytest.fixture
def app(tmp_path, settings):
    app = create_app(settings, data_dir=tmp_path)
    app.extensions["cvms_gateway"] = CountingGateway()
    yield app
    shared = app.extensions["cvms_redis"]
    for key in shared.scan_iter(f"{settings.redis_prefix}:*"):
        shared.delete(key)


def test_the_same_search_is_asked_once_within_its_seconds(app):
    with app.test_request_context():
        first = public_read("/public/locations", {"zip": "30303", "radius_miles": "25"})
        again = public_read("/public/locations", {"radius_miles": "25", "zip": "30303"})
        other = public_read("/public/locations", {"zip": "30309", "radius_miles": "25"})
    assert first == again and other != first
    assert len(app.extensions["cvms_gateway"].calls) == 2


def test_a_refusal_is_not_kept(app):
    with app.test_request_context():
        for _ in range(2):
            with pytest.raises(ApiProblem):
                public_read("/public/locations/unknown")
    assert len(app.extensions["cvms_gateway"].calls) == 2
