"""The process owner's guide (docs/owners-guide.md, issue #7): every example in it is quoted from a file
the tests deploy — the guide's example bundle is deployed here over HTTP, processes/ by every test — and
every quoted block appears in the file it names."""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "owners-guide.md"
EXAMPLE = ROOT / "docs" / "examples" / "owner_example"
QUOTE = re.compile(r"<!-- file: (?P<file>[^ ]+) -->\n```\w*\n(?P<body>.*?)```", re.S)


def quotes():
    return [(m["file"], m["body"]) for m in QUOTE.finditer(GUIDE.read_text(encoding="utf-8"))]


def test_the_guide_quotes_its_examples():
    assert len(quotes()) >= 8
    assert {f for f, _ in quotes()} >= {"docs/examples/owner_example/owner_example.bpmn", "processes/community_event.bpmn"}


@pytest.mark.parametrize("file, body", quotes())
def test_each_quoted_block_is_in_the_file_it_names(file, body):
    text = (ROOT / file).read_text(encoding="utf-8")
    assert body.rstrip("\n") in text, f"{file} no longer holds the guide's quote:\n{body}"


def test_the_example_bundle_deploys(api):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(EXAMPLE.rglob("*")):
            if path.is_file():
                archive.writestr(f"owner_example/{path.relative_to(EXAMPLE)}", path.read_bytes())
    r = api.client.post("/api/process-versions", headers=api.headers("owner1"),
                        data={"file": (io.BytesIO(buffer.getvalue()), "owner_example.zip")},
                        content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    assert r.json["process_key"] == "owner_example" and r.json["user_tasks"] == ["ex_dispose", "ex_verify"]
