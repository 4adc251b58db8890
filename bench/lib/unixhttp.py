"""Minimal HTTP/1.1 client over a Unix socket (stdlib only), as dockerd talks to a legacy plugin."""
import http.client
import json
import socket


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def post(path, call, body=None, timeout=10.0):
    """POST /<call> with a JSON body on a fresh connection; returns (status, parsed JSON or text)."""
    conn = UnixHTTPConnection(path, timeout)
    try:
        data = b"" if body is None else json.dumps(body).encode()
        conn.request("POST", "/" + call, body=data,
                     headers={"Content-Type": "application/vnd.docker.plugins.v1.2+json",
                              "Content-Length": str(len(data))})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw.decode(errors="replace")
    finally:
        conn.close()
