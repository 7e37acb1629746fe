"""Clients of the dashboard in tests: plain HTTP with the token, and a real headless Chromium (Debian ``chromium``
+ ``chromium-driver``) driven by selenium."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest


def headless_chromium(profile: Path, size: str = "1280,1000") -> Any:
    """A started ``webdriver.Chrome`` with its own profile folder; the caller quits it."""
    if shutil.which("chromedriver") is None:
        pytest.fail("chromedriver missing: run scripts/install.sh (Debian chromium + chromium-driver)")
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={size}", "--no-first-run", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium") or ""
    return webdriver.Chrome(options=opts, service=webdriver.ChromeService(shutil.which("chromedriver")))


def http_get(url: str, token: str | None, timeout: float = 60.0) -> tuple[int, bytes]:
    """(status, body) of a GET, with ``?token=`` added when given; HTTP errors are answers, not exceptions."""
    if token is not None:
        url += ("&" if "?" in url else "?") + f"token={token}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
