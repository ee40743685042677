"""A hostile client of the verifier service, run beside honest load (load test, bench/verifiers).

From its own address (127.0.0.2, so it is another peer), in a loop until stopped: batches of power
towers abandoned after 2 s, requests with a wrong token, a 50 MB body announced and never sent,
bodies that are not UTF-8, and slow-loris connections that never finish their headers.
It records every status it got back; a 5xx would mean the service broke.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter

import httpx

BOMBS = {"items": [{"response": r"\boxed{9^{9^{9^{9^{9}}}}}", "reference": "1"}] * 4}
ADDRESS = "127.0.0.2"


class HostileClient:
    def __init__(self, url: str, port: int, token: str) -> None:
        self.url, self.port, self.token = url, port, token
        self.statuses: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-client", daemon=True)
        self._sockets: list[socket.socket] = []

    def start(self) -> HostileClient:
        self._thread.start()
        return self

    def stop(self) -> Counter[str]:
        self._stop.set()
        self._thread.join(60)
        for s in self._sockets:
            s.close()
        return self.statuses

    def server_errors(self) -> int:
        return sum(n for k, n in self.statuses.items() if k.startswith("5"))

    def _raw(self, data: bytes) -> socket.socket:
        s = socket.socket()
        s.settimeout(10)
        s.bind((ADDRESS, 0))
        s.connect(("127.0.0.1", self.port))
        s.sendall(data)
        return s

    def _run(self) -> None:
        auth = {"authorization": f"Bearer {self.token}"}
        transport = httpx.HTTPTransport(local_address=ADDRESS)
        with httpx.Client(transport=transport, timeout=2.0) as c:
            while not self._stop.is_set():
                try:
                    c.post(self.url + "/v1/verify", json=BOMBS, headers=auth)
                    self.statuses["bombs answered"] += 1
                except httpx.TimeoutException:
                    self.statuses["bombs abandoned"] += 1
                r = c.post(self.url + "/v1/verify", json=BOMBS, headers={"authorization": "Bearer wrong"})
                self.statuses[str(r.status_code)] += 1
                r = c.post(
                    self.url + "/v1/verify",
                    content=b'{"items": [{"response": "\xff", "reference": "1"}]}',
                    headers=auth,
                )
                self.statuses[str(r.status_code)] += 1
                with self._raw(
                    b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + self.token.encode()
                    + b"\r\nContent-Length: 52428800\r\n\r\n"
                ) as s:
                    head = s.recv(64).split(b" ")
                    self.statuses[head[1].decode() if len(head) > 1 else "closed"] += 1
                for old in self._sockets[:-45]:
                    old.close()
                self._sockets = self._sockets[-45:]
                for _ in range(5):  # slow loris: headers never finished; the server must drop them
                    self._sockets.append(self._raw(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\n"))
                self.statuses["slow connections opened"] += 5
