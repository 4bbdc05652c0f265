"""/health, /ready and /metrics, and what the access log records."""

import logging

import pytest


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "alive"}
    assert response.headers["X-Request-ID"]


def test_health_needs_no_token_and_no_services(client, rpc):
    assert client.get("/health").status_code == 200
    assert rpc.calls == []


def test_metrics_has_request_latency_by_route_template(client, monkeypatch, rpc, login):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    rpc.answer("inventory.location_inventory", [])
    client.get("/api/v1/locations/demo-clinic/inventory", headers=login("clinic.manager"))
    client.get("/health")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "cvms_http_request_duration_seconds" in text
    assert (
        'cvms_http_request_duration_seconds_count{method="GET",'
        'route="/api/v1/locations/<location_id>/inventory",status="200"}' in text
    )
    assert 'cvms_http_requests_total{outcome="2xx",route="/health"}' in text
    # paths (which may carry ids) never become labels
    assert 'route="/api/v1/locations/demo-clinic/inventory"' not in text


def test_unmatched_paths_share_one_label(client, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    client.get("/no/such/path/with-an-id-123")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'route="unmatched"' in text
    assert "with-an-id-123" not in text


def test_metrics_in_multiprocess_mode(client, monkeypatch, tmp_path):
    (tmp_path / "prometheus").mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "prometheus"))
    response = client.get("/metrics")
    assert response.status_code == 200


def test_the_access_log_has_the_route_template_not_the_path(client, rpc, login, caplog):
    rpc.answer("administration.get_recipient", {"id": "r-secret-42"})
    headers = login("clinic.vaccinator", **{"X-Request-ID": "log-me"})
    with caplog.at_level(logging.INFO, logger="cvms.gateway.access"):
        client.get("/api/v1/recipients/r-secret-42", headers=headers)
    lines = [r.getMessage() for r in caplog.records if r.name == "cvms.gateway.access"]
    assert any(
        "request_id=log-me" in line and "route=/api/v1/recipients/<recipient_id>" in line
        for line in lines
    )
    assert not any("r-secret-42" in line for line in lines)


@pytest.mark.parametrize("broker_up", [False, True])
def test_ready_checks_the_broker(make_app, broker_up, request):
    """The gateway keeps no database (identity's readiness checks its own: services/identity/
    tests/test_readiness.py); every request needs the broker."""
    if broker_up:
        amqp_uri = request.getfixturevalue("amqp_uri")
        app = make_app(amqp_uri=amqp_uri)
    else:
        app = make_app()  # the default settings point at a closed port
    response = app.test_client().get("/ready")
    body = response.get_json()
    if broker_up:
        assert response.status_code == 200
        assert body == {"status": "ready", "broker": "ok"}
    else:
        assert response.status_code == 503
        assert body["status"] == "not ready"
        assert body["broker"] != "ok"
