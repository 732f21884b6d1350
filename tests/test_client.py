"""client.py: status -> error mapping, secret redaction, the Retry policy, and retries over real
local sockets (a tiny stub FHIR server behind the fault proxy, no mocks)."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic import SecretStr

from mono2fhir import client
from mono2fhir.errors import AuthenticationFailed, ServerError, ServerUnreachable

sys.path.insert(0, str(Path(__file__).parent / "integration"))
from faultproxy import FaultProxy  # noqa: E402

TOKEN = "s3cr3t-token-value"
PASSWORD = "hunter2-password"
OUTCOME = {"resourceType": "OperationOutcome",
           "issue": [{"severity": "error", "code": "processing", "diagnostics": "HAPI-0541: bad reference",
                      "expression": ["Bundle.entry[0]"]}]}


# --------------------------------------------------------------------------- a stub server


class _Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, dict]] = []
    status = 200

    def log_message(self, *args):
        pass

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        type(self).seen.append((self.command, self.path, dict(self.headers)))
        if self.path.endswith("$validate"):
            status, out = (412 if b"bad" in body else 200), OUTCOME
        else:
            status, out = type(self).status, {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _reply


@pytest.fixture
def stub():
    handler = type("Stub", (_Stub,), {"seen": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fast(**kw) -> client.ClientOptions:
    return client.ClientOptions(backoff_factor=0.01, backoff_jitter=0.0, connect_timeout=2, read_timeout=5, **kw)


# --------------------------------------------------------------------------- status mapping


@pytest.mark.parametrize("status, cls, words", [
    (401, AuthenticationFailed, "--bearer-token"),
    (403, AuthenticationFailed, "403"),
    (404, ServerError, "--server"),
    (413, ServerError, "--batch-size"),
    (422, ServerError, "422"),
    (429, ServerError, "--jobs"),
    (500, ServerError, "server error (500) after all retries"),
    (501, ServerError, "server error (501)"),
    (418, ServerError, "request refused (418)"),
])
def test_status_maps_to_domain_error(status, cls, words):
    error = client.error_for_status(status, "http://h/fhir", json.dumps(OUTCOME).encode())
    assert type(error) is cls
    assert error.status == status
    assert words in str(error)
    assert error.outcome == "error processing: HAPI-0541: bad reference [at Bundle.entry[0]]"
    assert "HAPI-0541" in str(error)


def test_success_is_no_error():
    assert client.error_for_status(200, "u") is None
    assert client.error_for_status(201, "u") is None


def test_outcome_text_of_non_json_body_is_kept_short():
    assert client.outcome_text(b"<html>Bad gateway</html>") == "<html>Bad gateway</html>"
    assert client.outcome_text({"resourceType": "Patient"}) is None
    coded = {"resourceType": "OperationOutcome",
             "issue": [{"severity": "information", "code": "informational",
                        "details": {"coding": [{"code": "SUCCESSFUL_UPDATE_NO_CHANGE"}]}}]}
    assert client.outcome_text(coded) == "information informational: SUCCESSFUL_UPDATE_NO_CHANGE"


def test_error_url_is_redacted():
    error = client.error_for_status(500, "https://bob:pw123@h/fhir")
    assert "pw123" not in str(error) and "***@h" in str(error)


# --------------------------------------------------------------------------- redaction


def test_redact_headers_keeps_scheme_hides_value():
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": "k", "X-Tenant": "t1", "Accept": "x"}
    out = client.redact_headers(headers, frozenset({"x-tenant"}))
    assert out == {"Authorization": "Bearer ***", "X-Api-Key": "***", "X-Tenant": "***", "Accept": "x"}


def test_options_and_session_reprs_hide_secrets():
    options = client.ClientOptions(bearer_token=SecretStr(TOKEN), headers={"X-Key": SecretStr("hdr-secret")})
    assert TOKEN not in repr(options) and "hdr-secret" not in repr(options)
    assert TOKEN not in options.model_dump_json()
    session = client.build_session(options)
    assert TOKEN not in repr(session) and TOKEN not in repr(session.auth)
    basic = client.build_session(client.ClientOptions(basic_user="bob", basic_password=SecretStr(PASSWORD)))
    assert PASSWORD not in repr(basic.auth) and "bob" in repr(basic.auth)


def test_debug_log_redacts_authorization(stub, caplog):
    handler, url = stub
    session = client.build_session(fast(bearer_token=SecretStr(TOKEN), headers={"X-Key": SecretStr("hdr-secret")}))
    with caplog.at_level(logging.DEBUG):
        client.capability(session, url)
    assert handler.seen[-1][2]["Authorization"] == f"Bearer {TOKEN}"  # really sent
    assert handler.seen[-1][2]["X-Key"] == "hdr-secret"
    assert "Bearer ***" in caplog.text
    assert TOKEN not in caplog.text and "hdr-secret" not in caplog.text


def test_auth_error_carries_no_token(stub):
    handler, url = stub
    with FaultProxy(url, token="right-token") as proxy:
        session = client.build_session(fast(bearer_token=SecretStr(TOKEN)))
        with pytest.raises(AuthenticationFailed) as info:
            client.capability(session, proxy.url)
    text = f"{info.value!s} {info.value!r} {info.value.outcome}"
    assert "401" in text and TOKEN not in text


def test_unreachable_is_wrapped_with_cause_and_no_secret():
    session = client.build_session(fast(retries=1, bearer_token=SecretStr(TOKEN)))
    with pytest.raises(ServerUnreachable) as info:
        client.capability(session, "http://127.0.0.1:9")  # discard port: connection refused
    assert info.value.status is None and info.value.__cause__ is not None
    assert "unreachable" in str(info.value) and TOKEN not in str(info.value)


def test_parse_header():
    assert client.parse_header("X-Tenant:  abc ") == ("X-Tenant", "abc")
    with pytest.raises(ValueError) as info:
        client.parse_header("no colon secretvalue")
    assert "secretvalue" not in str(info.value)


def test_insecure_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = client.build_session(client.ClientOptions(verify=False))
    assert session.verify is False
    assert any(issubclass(w.category, client.InsecureTransportWarning) for w in caught)
    assert client.build_session(client.ClientOptions(ca_bundle="/tmp/ca.pem")).verify == "/tmp/ca.pem"


# --------------------------------------------------------------------------- retry policy


def test_retry_configuration():
    retry = client.build_retry(client.ClientOptions(retries=4))
    assert retry.total == 4 and retry.connect == 4 and retry.read == 4 and retry.status == 4
    assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}
    assert {"POST", "PUT", "GET"} <= set(retry.allowed_methods)
    assert retry.respect_retry_after_header and not retry.raise_on_status
    assert retry.backoff_factor == 0.5 and retry.backoff_jitter > 0
    session = client.build_session(client.ClientOptions(retries=4))
    assert session.get_adapter("https://x").max_retries.total == 4


def test_retries_503_429_and_dropped_connections(stub):
    handler, url = stub
    session = client.build_session(fast(retries=5))
    with FaultProxy(url, faults=["503", "429", "drop", "drop-after"], every=1, max_faults=4) as proxy:
        started = time.monotonic()
        response = client.request(session, "POST", proxy.url, data=b"{}")
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert [w for _, _, w in proxy.log] == ["503", "429", "drop", "drop-after", "200"]
    assert [m for m, _, _ in handler.seen] == ["POST", "POST"]  # reached the server: drop-after and the last
    assert elapsed >= 1.0  # Retry-After: 1 was honoured
    assert len(response.raw.retries.history) >= 4


def test_retries_exhausted_gives_last_status(stub):
    handler, url = stub
    session = client.build_session(fast(retries=2))
    with FaultProxy(url, faults=["503"], every=1) as proxy:
        with pytest.raises(ServerError) as info:
            client.request(session, "GET", proxy.url + "/metadata")
    assert info.value.status == 503 and "faultproxy: service unavailable" in str(info.value)
    assert len(proxy.log) == 3


def test_validate_on_server_returns_outcome_for_200_and_412(stub):
    handler, url = stub
    session = client.build_session(fast())
    ok = client.validate_on_server(session, url, {"resourceType": "Patient", "id": "p"})
    bad = client.validate_on_server(session, url, {"resourceType": "Patient", "id": "bad"})
    assert ok["resourceType"] == bad["resourceType"] == "OperationOutcome"
    assert handler.seen[-1][1] == "/Patient/$validate"
    handler.status = 500


def test_server_fhir_version():
    assert client.server_fhir_version({"fhirVersion": "4.0.1"}) == "R4"
    assert client.server_fhir_version({"fhirVersion": "5.0.0"}) == "R5"
    assert client.server_fhir_version({}) is None
