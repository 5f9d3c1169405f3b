"""What tests on every layer report and photograph: a grid worker's report (Figure 1's usual start) and
real images made with Pillow (no stand-ins)."""
from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import ExifTags, Image

from catalogs.loader import DATA_DIR

REPORT = {"source": "grid_worker", "type_code": "A05", "description": "人行道被占道经营",
          "community": "lg-xincheng",
          "location": {"lat": 27.52, "lng": 120.60, "address": "龙港市新城大道 88 号"}}


def image(fmt="JPEG", size=(64, 48), color=(90, 140, 200), taken_at=None, offset=None, gps=None) -> bytes:
    """A real image made with Pillow. `taken_at` is an EXIF time "2026:10:08 08:30:00" (with `offset`
    "+08:00" as OffsetTimeOriginal), `gps` a WGS-84 (lat, lng) written as EXIF degrees/minutes/seconds."""
    exif = Image.Exif()
    if taken_at or gps:
        exif[ExifTags.Base.Make] = "eventflow-test"
    if taken_at:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken_at
        if offset:
            exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps:
        info = exif.get_ifd(ExifTags.IFD.GPSInfo)
        for (ref_tag, value_tag), value, signs in (((1, 2), gps[0], "NS"), ((3, 4), gps[1], "EW")):
            minutes, seconds = divmod(abs(value) * 3600, 60)
            degrees, minutes = divmod(minutes, 60)
            info[ref_tag], info[value_tag] = signs[value < 0], (float(degrees), float(minutes), round(seconds, 4))
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, exif=exif)
    return out.getvalue()


#: a process of six user tasks in sequence, each the reporter's own (tests/data/six_user_tasks.bpmn): what
#: an event type naming its own process starts in the tests, and what bench/peer.py runs
SIX_TASKS = "six_user_tasks"


def six_task_files() -> dict[str, bytes]:
    """The six-task process's bundle: its diagram and the form its tasks share."""
    data = Path(__file__).resolve().parent / "data"
    return {"six_user_tasks.bpmn": (data / "six_user_tasks.bpmn").read_bytes(),
            "forms/note.json": (data / "forms" / "note.json").read_bytes()}


def event_types_naming(process: str, code: str = "A05") -> bytes:
    """Table A.1 (catalogs/data/event_types.json) with row `code` naming `process` as the process its
    events start (a catalog override, as load_catalogs takes it)."""
    rows = json.loads((DATA_DIR / "event_types.json").read_text(encoding="utf-8"))
    next(row for row in rows if row["code"] == code)["process"] = process
    return json.dumps(rows, ensure_ascii=False).encode("utf-8")
