"""Headless Chromium driven over the DevTools protocol on a pipe, and a static file server, for tests.

`--remote-debugging-pipe` speaks the protocol on file descriptors 3 (commands in) and 4
(replies and events out), NUL-separated JSON: no websocket library and no open port needed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"


class Browser:
    """One headless Chromium with one page, stopped by PID on close."""

    def __init__(self, profile: Path, *, timeout: float = 15.0) -> None:
        self.timeout = timeout
        cmd_read, self._cmd = os.pipe()
        self._out, out_write = os.pipe()
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-pipe",
                 f"--user-data-dir={profile}", "about:blank"]
        # bash (dash takes one-digit fds only) puts our pipe ends at fd 3 and fd 4 for Chromium.
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{cmd_read} 4>&{out_write}', "bash", CHROMIUM, *flags],
            pass_fds=(cmd_read, out_write), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(cmd_read)
        os.close(out_write)
        self._buffer = b""
        self._next_id = 0
        self.session = ""

    def open(self, url: str) -> None:
        """Open `url` in a new page, attach to it, and wait until it has loaded."""
        target = self.call("Target.createTarget", url=url)["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        # The new page starts as about:blank, which is "complete" before `url` even begins.
        self.wait_for("location.protocol !== 'about:' && document.readyState === 'complete'")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command (to the page once attached) and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._cmd, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply["result"])

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def wait_for(self, expression: str) -> Any:
        """Evaluate until the value is truthy; fail after the timeout."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"still false after {self.timeout} s: {expression}")

    def type(self, text: str) -> None:
        """Type text into the focused element, key by key, as a user does."""
        for char in text:
            self.call("Input.dispatchKeyEvent", type="keyDown", key=char, text=char)
            self.call("Input.dispatchKeyEvent", type="keyUp", key=char)

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Size the page as a screen of `width` × `height` CSS pixels (a phone when `mobile`)."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=2 if mobile else 1, mobile=mobile)

    def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        """Save what the viewport shows (or the whole page) as a PNG."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Stop Chromium (by its PID) and close the pipes."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._cmd)
        os.close(self._out)

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        waiting = select.poll()  # not select(): a long test run's descriptors may be numbered past 1024
        waiting.register(self._out, select.POLLIN)
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not waiting.poll(left * 1000):
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._out, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(message))


class StaticServer:
    """`python -m http.server` on 127.0.0.1, on a port the OS picks, stopped by PID."""

    def __init__(self, directory: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
             "--directory", str(directory)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 40123 (http://…/) ..."
        match = re.search(r"port (\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"http.server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{match.group(1)}/"

    def stop(self) -> None:
        """Stop the server by its PID."""
        self.process.terminate()
        self.process.wait(10)
        if self.process.stdout:
            self.process.stdout.close()
