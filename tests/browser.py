"""A real headless Chromium for the dashboard's tests, through Selenium and Debian's chromedriver.

Without Chromium the tests skip, saying why, unless IVR_REQUIRE_BROWSER=1 (CI): then they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run"]
BINARIES = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)


def chromium(profile: Path, width: int = 1366, height: int = 900) -> Any:
    """A fresh headless Chromium with its own user data dir, or a skip (a failure in CI) saying what is missing."""
    browser = next((found for name in BINARIES if (found := shutil.which(name))), None)
    driver = next((found for name in DRIVERS if (found := shutil.which(name))), None)
    missing = [what for what, found in (("chromium", browser), ("chromium-driver", driver)) if not found]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        why = f"the browser tests need {', '.join(missing)}: apt-get install chromium chromium-driver"
        if os.environ.get("IVR_REQUIRE_BROWSER") == "1":
            pytest.fail(why + " (IVR_REQUIRE_BROWSER=1)")
        pytest.skip(why)
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser)
    for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(executable_path=str(driver)))


def shown(browser: Any, element_id: str, seconds: float = 30.0) -> Any:
    """The element once the page that has it is there: a form's answer arrives after the click
    returns, later on a loaded machine (a wait for a page, not a measure of its speed)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds).until(lambda b: b.find_elements("id", element_id) and
                                                 b.find_element("id", element_id))


def arrived(browser: Any, url: str, seconds: float = 30.0) -> bool:
    """Whether the browser gets to `url` (after a form's redirect), waiting for the page."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return bool(WebDriverWait(browser, seconds).until(lambda b: b.current_url == url))
    except TimeoutException:
        return False
