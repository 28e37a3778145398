"""A tiny OpenAI-compatible Chat Completions server on loopback, for the AI agents' tests."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _first_entry(body: dict) -> str:
    system = next((m["content"] for m in body.get("messages", []) if m["role"] == "system"), "")
    _, found, entries = system.partition("Knowledge base entries:\n[1] ")
    if not found:
        return "HANDOFF"
    first = entries.split("\n\n[2] ")[0]
    return first.split("\n", 1)[1] if "\n" in first else "HANDOFF"


class ChatStub:
    """Answers POST /v1/chat/completions; `mode` is "ok", "sleep", "500", "empty", "handoff" or
    "first_entry" (a model that answers with the first knowledge entry of its prompt, or HANDOFF when
    the prompt has none: the evaluation's stand-in for a model)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.mode = "ok"
        self.reply = "Hello from the model"
        self.sleep = 1.5
        self.on_request = None  # called (no arguments) as each request arrives, before it is answered
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # keep test output quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                stub.requests.append({"path": self.path, **body})
                stub.headers.append(dict(self.headers))
                if stub.on_request is not None:
                    stub.on_request()
                if stub.mode == "sleep":
                    time.sleep(stub.sleep)
                if stub.mode == "500":
                    return self._send(500, {"error": {"message": "boom", "type": "server_error"}})
                content = {"ok": stub.reply, "handoff": "HANDOFF", "sleep": stub.reply}.get(stub.mode)
                if stub.mode == "first_entry":
                    content = _first_entry(body)
                choices = [] if stub.mode == "empty" else [{
                    "index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}]
                self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                                 "model": body.get("model"), "choices": choices,
                                 "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ChatStub":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
