"""The web page in a real headless Chromium (Debian's, driven by Playwright; no browser
download): open it, pick a device, delete a memory, then check through REST that it is gone."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess, server_config

KEY = "web-key"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_delete_a_memory_from_the_page(tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright (test extra)")
    srv = ServerProcess(server_config(tmp_path, api={"key": KEY}, llm={"provider": "scripted"}),
                        tmp_path / "server.log")
    srv.start()
    try:
        srv.wait_ready()
        h = {"Authorization": f"Token {KEY}"}
        ids = []
        for text in ("Likes green tea", "Has a cat called Momo", "住在上海"):
            r = httpx.post(f"{srv.http_url}/v3/memories/add/", headers=h, json={
                "messages": text, "user_id": "aa:bb:cc:00:00:01", "infer": False})
            ids.append(r.json()["results"][0]["id"])
        httpx.post(f"{srv.http_url}/v3/memories/add/", headers=h, json={
            "messages": "Other device's fact", "user_id": "aa:bb:cc:00:00:02", "infer": False})

        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page()
            page.goto(srv.http_url + "/")
            page.fill("#key", KEY)
            page.click("#save-key")
            page.click("li.device[data-id='aa:bb:cc:00:00:01']")
            page.wait_for_selector(f".mem[data-id='{ids[1]}']")
            assert page.locator("#memories .mem").count() == 3
            assert "Other device's fact" not in page.inner_text("#memories")
            page.on("dialog", lambda d: d.accept())
            page.click(f".mem[data-id='{ids[1]}'] button.delete")
            page.wait_for_selector(f".mem[data-id='{ids[1]}']", state="detached")
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "web-page-after-delete.png"
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
        assert shot.stat().st_size > 5000

        gone = httpx.get(f"{srv.http_url}/v1/memories/{ids[1]}/", headers=h)
        assert gone.status_code == 404
        left = httpx.post(f"{srv.http_url}/v3/memories/", headers=h,
                          json={"filters": {"user_id": "aa:bb:cc:00:00:01"}}).json()
        assert sorted(m["memory"] for m in left["results"]) == ["Likes green tea", "住在上海"]
    finally:
        assert srv.stop() == 0, srv.log()
