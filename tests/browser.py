"""Headless Chromium driven by selenium, for the tests that look at a page as a user's browser draws it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest


def headless_chromium(profile: Path) -> Any:
    """A 1280x1000 headless Chromium (Debian's chromium + chromium-driver); the caller quits it."""
    if shutil.which("chromedriver") is None:
        pytest.fail("chromedriver missing: run scripts/install.sh (Debian chromium + chromium-driver)")
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1000", "--no-first-run", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium") or ""
    return webdriver.Chrome(options=opts, service=webdriver.ChromeService(shutil.which("chromedriver")))
