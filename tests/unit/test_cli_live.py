"""``--connect``: only virtaddr's message when libvirt fails, not libvirt's printer's as well.

libvirt's default error handler writes each error to standard error ("libvirt: XML-RPC error :
...") before the call raises it; the stand-in module below behaves the same way, and the real
libvirt-python is tried as well where it is installed.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from virtaddr import live
from virtaddr.cli import main

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "pc-typical.in.xml"
SOCKET = "/nonexistent/virtaddr-test-sock"


class FakeLibvirtError(Exception):
    def get_error_message(self) -> str:
        return str(self.args[0])


def fake_libvirt() -> types.ModuleType:
    """libvirt-python's behaviour on a failed connection: report to the handler, then raise."""
    module = types.ModuleType("libvirt")
    handler: dict[str, Any] = {}

    def register_error_handler(function: Any, context: Any) -> None:
        handler["function"], handler["context"] = function, context

    def open_connection(uri: str) -> None:
        message = f"Failed to connect socket to '{SOCKET}': No such file or directory"
        if "function" in handler:
            handler["function"](handler["context"], (1, 38, message))
        else:  # libvirt's default handler
            print(f"libvirt: XML-RPC error : {message}", file=sys.stderr)
        raise FakeLibvirtError(message)

    module.libvirtError = FakeLibvirtError  # type: ignore[attr-defined]
    module.registerErrorHandler = register_error_handler  # type: ignore[attr-defined]
    module.open = open_connection  # type: ignore[attr-defined]
    return module


def test_connect_failure_is_said_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "libvirt", fake_libvirt())
    monkeypatch.setattr(live, "_quiet", False, raising=False)  # as in a new process
    assert main(["assign", "--connect", "qemu:///system", str(FIXTURE)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "virtaddr assign: --connect: cannot connect to qemu:///system: Failed to connect "
        f"socket to '{SOCKET}': No such file or directory\n"
    )


def test_with_the_real_libvirt_python(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("libvirt", reason="libvirt-python is not installed (the libvirt extra)")
    uri = f"qemu:///system?socket={SOCKET}"
    assert main(["assign", "--connect", uri, str(FIXTURE)]) == 2
    err = capfd.readouterr().err  # libvirt's printer writes to the file descriptor itself
    assert err.startswith(f"virtaddr assign: --connect: cannot connect to {uri}: ")
    assert err.count("\n") == 1, err
