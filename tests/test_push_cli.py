"""``mono2fhir push`` option handling that needs no FHIR server: usage errors (exit 2), the password
prompt, --insecure, and an unreachable server (exit 3), with no secret in any output."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mono2fhir.cli import main

DOWN = "http://127.0.0.1:9/fhir"  # the discard port: connection refused


@pytest.fixture
def bundle(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": []}))
    return path


def invoke(*args, input=None, env=None):
    return CliRunner().invoke(main, ["push", *args], input=input, env=env or {"MONO2FHIR_TOKEN": None,
                                                                               "MONO2FHIR_SERVER": None})


def test_server_is_required(bundle):
    result = invoke(str(bundle))
    assert result.exit_code == 2 and "--server" in result.stderr


def test_missing_input_is_a_usage_error():
    result = invoke("no/such/file.json", "--server", DOWN)
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_malformed_header_is_a_usage_error_without_its_value(bundle):
    result = invoke(str(bundle), "--server", DOWN, "--header", "no-colon-s3cret")
    assert result.exit_code == 2 and "--header" in result.stderr and "s3cret" not in result.output


def test_token_and_basic_together_is_a_usage_error(bundle):
    result = invoke(str(bundle), "--server", DOWN, "--bearer-token", "t0k", "--basic", "bob:pw")
    assert result.exit_code == 2 and "not both" in result.stderr and "t0k" not in result.output


def test_basic_without_password_prompts_hidden(bundle):
    result = invoke(str(bundle), "--server", DOWN, "--basic", "bob", "--retries", "0", input="pa55word\n")
    assert "Password for bob" in result.stderr
    assert "pa55word" not in result.output  # hidden input is not echoed
    assert result.exit_code == 3 and "unreachable" in result.stderr


def test_unreachable_server_exit_3_one_line_no_secret(bundle):
    result = invoke(str(bundle), "--server", DOWN, "--retries", "0", "--bearer-token", "t0ken-xyz",
                    "--header", "X-Api-Key: k3y-xyz")
    assert result.exit_code == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "t0ken-xyz" not in result.output and "k3y-xyz" not in result.output
    assert "Traceback" not in result.output


def test_insecure_warns(bundle):
    result = invoke(str(bundle), "--server", DOWN, "--retries", "0", "--insecure")
    assert "warning: --insecure" in result.stderr and result.exit_code == 3


def test_server_from_env(bundle):
    result = invoke(str(bundle), "--retries", "0", env={"MONO2FHIR_SERVER": DOWN, "MONO2FHIR_TOKEN": None})
    assert result.exit_code == 3 and "127.0.0.1:9" in result.stderr
