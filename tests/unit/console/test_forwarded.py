"""Behind a proxy the console believes only the proxies it is told to
(CONSOLE_FORWARDED_ALLOW_IPS): the clerk's own address then reaches the sign-in lockout."""

from __future__ import annotations

from typing import Any

import pytest
import uvicorn

from console import __main__ as entry


def test_the_setting_reaches_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("CONSOLE_FORWARDED_ALLOW_IPS", "10.42.0.0/16")
    monkeypatch.setenv("CONSOLE_USERS", "[]")
    assert entry.main([]) == 0
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.42.0.0/16"
    monkeypatch.delenv("CONSOLE_FORWARDED_ALLOW_IPS")
    assert entry.main([]) == 0
    assert seen["forwarded_allow_ips"] == "127.0.0.1"  # nothing believed from elsewhere by default
