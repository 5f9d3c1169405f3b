"""A GeoReport v2 client written by others reads eventflow's Open311 endpoint (issue #18): `georeport`
(PyPI, Apache-2.0) against the real app served over HTTP on 127.0.0.1, in JSON and in XML — the services,
a service definition, the requests and one request with its `status_notes` and `expected_datetime`.

`georeport` reads requests but not mySociety's service request updates, and posts nothing; no Python
client on PyPI reads the updates extension (`open311` 1.1 and `three` 0.8 are Python 2 only), so the
updates are tested against the extension's documented shapes instead (tests/web/test_open311_updates.py)."""
from __future__ import annotations

import threading

import pytest
from georeport import GeoReport
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.web.test_open311 import FORM, PHONE, event_by_number, new_key, reported


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture
def served(app):
    """The app on a real socket (a thread of this process), the root its Open311 clients are given."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/open311/v2"
    server.shutdown()
    thread.join()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_georeport_client_reads_services_and_requests(app, api, served, fmt):
    client = GeoReport(served, output_format=fmt)
    services = client.get_service_list()
    assert len(services) == 30 and {s["service_code"] for s in services} >= {"A05", "A08"}
    definition = client.get_service_definition("A05")
    assert definition["service_code"] == "A05"
    codes = [a["code"] for a in definition["attributes"]] if fmt == "json" else \
        [a["code"] for a in definition["attributes"]["attribute"]]
    assert codes == ["occurred_at", "urgent"]

    number = reported(api, new_key(app))["service_request_id"]
    api.whistle_to(event_by_number(app, number).id, department="zhifa")
    listed = client.get_service_requests(service_code="A05", status="open")
    listed = listed if isinstance(listed, list) else [listed]       # xmltodict: one element is not a list
    assert [r["service_request_id"] for r in listed] == [number]
    one = client.get_service_request(number)
    assert one["service_request_id"] == number and one["status"] == "open"
    assert one["status_notes"] == "吹哨派单：已派单至执法局，待签收受理（§7.3、§8.3）"
    assert one["expected_datetime"] == "2026-10-08T09:30:00+08:00"    # 签收受理 within 30 minutes (§8.3)
    assert one["agency_responsible"] == "执法局" and one["address"] == FORM["address_string"]
    assert PHONE not in str(one) and "reporter" not in one
