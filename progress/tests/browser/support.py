"""Checks every browser test runs on a page: accessibility (axe-core), screenshots, no sideways scroll."""

from __future__ import annotations

import os

from django.conf import settings
from django.urls import reverse

AXE_JS = settings.BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = settings.BASE_DIR / "test-artifacts"
README_SCREENSHOTS = settings.BASE_DIR / "docs" / "screenshots"
PASSWORD = "Sturdy-Pass-991-x"  # of the accounts the browser tests sign in with


def assert_accessible(page, name: str) -> None:
    """axe-core finds no serious or critical violation on the current page."""
    # Evaluated over the DevTools protocol rather than added as a <script>: the site's CSP forbids inline
    # scripts, and the test should not need to relax it.
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => await axe.run(document, { resultTypes: ['violations'] })")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    details = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in serious
    )
    assert not serious, f"axe found serious violations on {name}:\n{details}"


def check_layout(page, name: str) -> None:
    """Screenshots at a phone and a desktop width; at 375 px the page must not scroll sideways."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(50)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        if width == 375:
            scroll_width, inner_width = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert scroll_width <= inner_width, f"{name} scrolls sideways at 375px ({scroll_width}px wide)"


def save_readme_screenshot(page, name: str) -> None:
    """With SAVE_README_SCREENSHOTS=1, write docs/screenshots/<name>.png at desktop width (README images)."""
    if not os.environ.get("SAVE_README_SCREENSHOTS"):
        return
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(50)
    page.screenshot(path=str(README_SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page, live_server, username: str) -> None:
    page.goto(live_server.url + reverse("accounts:login"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
