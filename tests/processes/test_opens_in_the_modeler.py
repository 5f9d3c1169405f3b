"""Every BPMN file (processes/, and the small processes of tests/data the engine tests run) opens cleanly
in the bpmn-js modeler (issue #3): the real bpmn-js (npm, pinned in tools/lint-bpmn) in the real Chromium
(Debian package, installed by `make test`), no stand-ins.

"Cleanly" means importXML reports no warnings (unknown elements, unresolved references, DI pointing
nowhere), every flow node, lane and flow of the file is drawn, and the `spiffworkflow:*` extensions the
engine reads are still there when the modeler saves the diagram again.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FIXTURES = ROOT / "tests" / "data"
BUNDLE = ROOT / "tools" / "lint-bpmn" / "node_modules" / "bpmn-js" / "dist" / "bpmn-modeler.production.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
PAGE = """<!doctype html><html><body><div id="canvas" style="width:1600px;height:900px"></div>
<script src="{bundle}"></script></body></html>"""

IMPORT = """async (xml) => {
  const modeler = new BpmnJS({ container: '#canvas' });
  const { warnings } = await modeler.importXML(xml);
  const drawn = modeler.get('elementRegistry').getAll()
      .map(e => e.businessObject && e.businessObject.id).filter(Boolean);
  const { xml: saved } = await modeler.saveXML({ format: true });
  modeler.destroy();
  return { warnings: warnings.map(w => w.message), drawn, saved };
}"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not BUNDLE.is_file():
        pytest.fail(f"{BUNDLE} is missing: run `make test` (it runs npm ci in tools/lint-bpmn)")
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make test` (it installs the Debian package)")
    html = tmp_path_factory.mktemp("modeler") / "modeler.html"
    html.write_text(PAGE.format(bundle=BUNDLE.as_uri()), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        tab = browser.new_page()
        tab.goto(html.as_uri())
        tab.wait_for_function("typeof BpmnJS === 'function'")
        yield tab
        browser.close()


def expected_ids(root) -> set[str]:
    ids = set()
    for tag in ("participant", "lane", "sequenceFlow", "startEvent", "endEvent", "boundaryEvent", "userTask",
                "serviceTask", "scriptTask", "callActivity", "exclusiveGateway", "parallelGateway",
                "intermediateCatchEvent"):
        ids |= {el.get("id") for el in root.iterfind(f".//bpmn:{tag}", NS)}
    return ids


def engine_extensions(root) -> list[tuple]:
    found = []
    for el in root.iterfind(".//spiffworkflow:property", NS):
        found.append(("property", el.get("name"), el.get("value")))
    for el in root.iterfind(".//spiffworkflow:serviceTaskOperator", NS):
        found.append(("operator", el.get("id"), el.get("resultVariable")))
    for el in root.iterfind(".//spiffworkflow:parameter", NS):
        found.append(("parameter", el.get("id"), el.get("value")))
    return sorted(found)


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.bpmn")) + sorted(FIXTURES.glob("*.bpmn")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_diagram_opens_cleanly_and_round_trips(page, path):
    xml = path.read_text(encoding="utf-8")
    result = page.evaluate(IMPORT, xml)
    assert result["warnings"] == [], json.dumps(result["warnings"], ensure_ascii=False)
    original = etree.fromstring(xml.encode("utf-8"))
    missing = expected_ids(original) - set(result["drawn"])
    assert not missing, f"not drawn: {sorted(missing)}"
    saved = etree.fromstring(result["saved"].encode("utf-8"))
    assert engine_extensions(saved) == engine_extensions(original)
