"""Bearer tokens on the real `rlvr verifier serve` process: 401 before the body is read or the pool is
touched, the client and the trainer's http mode send the token, and no start beyond loopback without one."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import httpx
import pytest
from vf_server import REPO, free_port, serve_command

from rlvr.config.schema import VerifierConfig
from rlvr.trainer.components import make_verifier
from verifiers.service.http_client import HttpVerifier, VerifierAuthError

TOKENS = ("alpha-secret", "beta-secret")
BOMBS = {"items": [{"response": r"\boxed{9^{9^{9^{9^{9}}}}}", "reference": "1"}] * 4}


@pytest.fixture(scope="module")
def server(start_server):
    # Tokens from the environment (the recommended way: argv is visible to every user of the machine).
    return start_server(
        "--option", "workers=2", "--option", "timeout=20", env={"RLVR_VERIFIER_TOKEN": ",".join(TOKENS)}
    )


def _busy(url: str) -> int:
    return httpx.get(url + "/v1/health", timeout=10).json()["pool"]["busy"]


def test_missing_or_wrong_token_is_401_without_touching_the_pool(server):
    for headers in (
        {},
        {"authorization": "Bearer wrong"},
        {"authorization": "Basic YWxwaGE="},
        {"authorization": f"Bearer {TOKENS[0]}x"},
    ):
        start = time.monotonic()
        r = httpx.post(server.url + "/v1/verify", json=BOMBS, headers=headers, timeout=30)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer" and "bearer token" in r.json()["error"]
        assert time.monotonic() - start < 2
        assert _busy(server.url) == 0  # the bombs never reached a worker
    assert httpx.get(server.url + "/metrics", timeout=10).status_code == 401
    assert httpx.get(server.url + "/v1/health", timeout=10).status_code == 200  # probes need no token


def test_401_comes_before_the_body_is_read(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        # 50 MB announced and never sent: a server that read the body first would wait for it.
        s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 401")


def test_each_token_is_accepted_and_the_client_sends_it(server, monkeypatch):
    for token in TOKENS:
        r = httpx.post(
            server.url + "/v1/verify",
            headers={"authorization": f"Bearer {token}"},
            timeout=60,
            json={"items": [{"response": r"\boxed{2}", "reference": "2"}]},
        )
        assert r.status_code == 200 and r.json()["results"][0]["reason"] == "ok"
    with HttpVerifier(server.url, token=TOKENS[1]) as client:
        assert client.verify(r"\boxed{3}", "3").correct
    monkeypatch.delenv("RLVR_VERIFIER_TOKEN", raising=False)
    with HttpVerifier(server.url) as client, pytest.raises(VerifierAuthError, match="refused the token"):
        client.verify(r"\boxed{3}", "3")
    # The trainer's http mode takes the token from the environment, not from a recipe.
    monkeypatch.setenv("RLVR_VERIFIER_TOKEN", TOKENS[0])
    remote = make_verifier(VerifierConfig(name="math", mode="http", url=server.url, timeout_s=60))
    try:
        assert [str(r.reason) for r in remote.verify_batch([r"\boxed{12}", "x"], ["12", "1"], [{}, {}])] == [
            "ok",
            "unparseable",
        ]
    finally:
        remote.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "example.org"])
def test_refuses_to_bind_beyond_loopback_without_a_token(host):
    argv = serve_command("math", port=free_port())
    argv[argv.index("--host") + 1] = host
    env = {k: v for k, v in os.environ.items() if k != "RLVR_VERIFIER_TOKEN"} | {"PYTHONPATH": str(REPO)}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2
    assert f"refusing to serve on {host} without authentication" in done.stderr
    assert "RLVR_VERIFIER_TOKEN" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--host", "0.0.0.0", "--token", " "],
            "refusing to serve on 0.0.0.0 without authentication",
        ),  # blank token
        (["--header-timeout", "0"], "header_timeout must be > 0 seconds"),
        (["--max-body-mb", "0"], "must be >= 1"),
    ],
)
def test_bad_serve_settings_are_refused_with_a_clear_message(args, message):
    argv = serve_command("math", port=free_port())
    if "--host" in args:
        argv[argv.index("--host") + 1] = args[1]
        args = args[2:]
    env = {k: v for k, v in os.environ.items() if k != "RLVR_VERIFIER_TOKEN"} | {"PYTHONPATH": str(REPO)}
    done = subprocess.run(argv + args, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and message in done.stderr, done.stderr[-500:]


def test_client_sends_the_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("RLVR_VERIFIER_TOKEN", "from-env")
    with HttpVerifier("http://127.0.0.1:9") as client:
        assert client._client.headers["authorization"] == "Bearer from-env"
    with HttpVerifier("http://127.0.0.1:9", token="given") as client:
        assert client._client.headers["authorization"] == "Bearer given"
