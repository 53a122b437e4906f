"""Builder page benchmark: bundle size and the time to draw a workflow of N steps in chromium.

Serves a builder page (the same elements as ui_extension/templates/builder/builder.html,
the data of a chain of `--steps` steps with a webhook trigger and no saved positions)
with a UI bundle from `--dist` on 127.0.0.1, opens it `--loads` times in Debian's chromium
and reports the median time from navigation start until every node is on the page
(polled each animation frame), and the bundle's size, raw and gzipped.

    .venv/bin/python benchmarks/builder_render.py [--steps 60] [--loads 7]
    .venv/bin/python benchmarks/builder_render.py --dist /tmp/old-dist --svg   # the SVG canvas

`--svg` gives the page the `<svg id="canvas">` the hand-written canvas (before React Flow)
drew into. Prints the results; nothing is written.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import tempfile
import threading
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "ui_extension" / "static" / "dist"
COMMON = "@openfn/language-common@3.3.4"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *_args: Any) -> None:
        pass


def chain(steps: int) -> dict[str, Any]:
    """The builder's page data for trigger -> step 1 -> ... -> step N."""
    trigger = str(uuid.uuid4())
    jobs = [
        {"id": str(uuid.uuid4()), "name": f"Step {i + 1}", "adaptor": COMMON,
         "body": "fn(state => state);\n", "project_credential_id": None}
        for i in range(steps)
    ]  # fmt: skip
    sources = [trigger] + [j["id"] for j in jobs[:-1]]
    edges = [
        {"id": str(uuid.uuid4()), "source_trigger_id": src if i == 0 else None,
         "source_job_id": None if i == 0 else src, "target_job_id": job["id"],
         "condition_type": "always" if i == 0 else "on_job_success", "enabled": True}
        for i, (src, job) in enumerate(zip(sources, jobs, strict=True))
    ]  # fmt: skip
    document = {"name": "Benchmark", "positions": {}, "jobs": jobs, "edges": edges,
                "triggers": [{"id": trigger, "type": "webhook", "enabled": True}]}  # fmt: skip
    return {
        "project_id": str(uuid.uuid4()), "workflow_id": str(uuid.uuid4()), "document": document,
        "selected": None, "permissions": {"edit": True, "run": True, "manage_auth": True},
        "adaptors": [], "credentials": [], "auth_methods": [], "trigger_auth": {},
        "webhook_base": "http://127.0.0.1/i/", "run_limits": None, "last_steps": {},
        "inputs": [], "base_path": "/builder",
    }  # fmt: skip


def page(data: dict[str, Any], svg: bool, nodes: int) -> str:
    canvas = '<svg id="canvas"></svg>' if svg else '<div id="canvas"></div>'
    probe = (
        "<script>(function poll(){if(document.querySelectorAll('#canvas .node').length>="
        f"{nodes})window.__drawn=performance.now();else requestAnimationFrame(poll);}})();</script>"
    )
    return f"""<!doctype html><html><head><meta name="csrf-token" content="0">
<link rel="stylesheet" href="/static/dist/builder.css">
<script src="/static/dist/builder.js" defer></script></head><body><main id="main">
<input id="workflow-name"><button id="undo">Undo</button><button id="redo">Redo</button>
<button id="add-step">Add step</button><button id="save">Save</button>
<p id="save-status"></p><div id="problems" hidden></div>
<div class="panes"><section class="canvas-pane">{canvas}<ul id="outline"></ul></section>
<aside id="inspector"><div id="inspector-body"></div></aside></div>
<script type="application/json" id="builder-data">{json.dumps(data)}</script>{probe}
</main></body></html>"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--dist", type=Path, default=DIST, help="a built static/dist directory")
    parser.add_argument("--svg", action="store_true", help="an <svg> canvas (the old builder)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    js = (args.dist / "builder.js").read_bytes()
    css = (args.dist / "builder.css").read_bytes()
    with tempfile.TemporaryDirectory(prefix="builder-bench-") as tmp:
        root = Path(tmp)
        shutil.copytree(args.dist, root / "static" / "dist")
        (root / "index.html").write_text(page(chain(args.steps), args.svg, args.steps + 1))
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=tmp))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        times = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                for _ in range(args.loads + 1):  # the first load warms the disk cache; not counted
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    tab = context.new_page()
                    tab.goto(url)
                    tab.wait_for_function("window.__drawn !== undefined", timeout=60_000)
                    times.append(tab.evaluate("window.__drawn"))
                    context.close()
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    times = times[1:]
    print(f"bundle {args.dist}: builder.js {len(js):,} B ({len(gzip.compress(js)):,} B gzipped), "
          f"builder.css {len(css):,} B ({len(gzip.compress(css)):,} B gzipped)")  # fmt: skip
    median = statistics.median(times)
    print(f"{args.steps} steps, {args.loads} loads: every node drawn {median:.0f} ms "
          f"after navigation start (median; min {min(times):.0f}, max {max(times):.0f}); "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
