"""Open maps in Debian's headless Chromium through Playwright (dev extra), for tests and the benchmark.

Never ``playwright install``: the browser is the system one (``scripts/ensure-chromium.sh``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from geo.errors import ConfigError

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

LAYERS_DRAWN = """() => {
    const om = window.opvangmatch;
    if (!om || !om.map) return false;
    // every shown layer is on the map; the canvas renderer has drawn once the map has a size and panes
    return Object.values(om.layers).every(l => !om.map.hasLayer(l) || l._map === om.map);
}"""


def chromium_path(path: Path) -> str:
    if not Path(path).exists():
        raise ConfigError(f"Chromium not found at {path}; run scripts/ensure-chromium.sh (or set OPVANGMATCH_CHROMIUM)")
    return str(path)


@contextmanager
def chromium(path: Path):
    """A headless Chromium (the executable at ``path``, ``Settings.chromium``) with a fresh user-data directory,
    removed afterwards."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="opvangmatch-chromium-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=chromium_path(path),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1280, "height": 900},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def open_map(context, path: Path | str, *, timeout_ms: int = 30_000, viewport: tuple[int, int] | None = None):
    """Open a map file (or URL); returns (page, console errors, dialogs, seconds until load + layers drawn)."""
    page = context.new_page()
    if viewport:
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    started = time.perf_counter()
    target = path if isinstance(path, str) and "://" in path else Path(path).resolve().as_uri()
    page.goto(target, wait_until="load", timeout=timeout_ms)
    page.wait_for_function(LAYERS_DRAWN, timeout=timeout_ms)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    seconds = time.perf_counter() - started
    return page, errors, dialogs, seconds
