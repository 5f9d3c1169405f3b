"""PDF files of the §9.1 circular and the §9.2 monthly report (issue #8), made with ReportLab. Chinese text
uses the Adobe CID font STSong-Light, which every PDF reader carries, so no font file ships with the app.

A year's circular has tens of thousands of lines (issue #17): they are laid out as they are read, a short
table at a time (`_Story` hands ReportLab's layout one flowable after another), so no table has to be
split over thousands of pages and what is kept is the pages already made, not the lines."""
from __future__ import annotations

import io
from itertools import groupby, islice

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
_BASE = getSampleStyleSheet()
STYLES = {name: _BASE[name].clone(f"cn-{name}", fontName=FONT, wordWrap="CJK")
          for name in ("Title", "Heading2", "Heading3", "Normal")}


def _escape(text) -> str:
    return str(text if text is not None else "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(rows, widths=None, header: bool = True):
    table = Table([[Paragraph(_escape(cell), STYLES["Normal"]) for cell in row] for row in rows], colWidths=widths,
                  repeatRows=1 if header else 0)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               *([("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0"))] if header else []),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _template(out, title: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(out, pagesize=A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm,
                             topMargin=16 * mm, bottomMargin=16 * mm)


def _document(title: str, story: list) -> bytes:
    out = io.BytesIO()
    _template(out, title).build(story)
    return out.getvalue()


class _Story(list):
    """A story ReportLab's layout reads from a generator as it goes: it looks at the front of its list (and a
    few flowables ahead, to keep a heading with what follows), takes from it and puts split parts back, so a
    few flowables at a time are made and kept."""

    AHEAD = 3

    def __init__(self, flowables):
        super().__init__()
        self._source = iter(flowables)
        self._more = True

    def _fill(self, count: int) -> None:
        while self._more and super().__len__() < count:
            try:
                self.append(next(self._source))
            except StopIteration:
                self._more = False

    def __len__(self) -> int:
        self._fill(self.AHEAD)
        return super().__len__()

    def __getitem__(self, index):
        if isinstance(index, slice):
            self._fill(index.stop if index.stop is not None and index.stop >= 0 else float("inf"))
        elif index >= 0:
            self._fill(index + 1)
        else:
            self._fill(float("inf"))
        return super().__getitem__(index)


#: lines of the circular a table: about a page, so a table is split at most once
CIRCULAR_CHUNK = 40
CIRCULAR_WIDTHS = [24 * mm, 36 * mm, 88 * mm, 26 * mm]
LEVELS = (("units", "单位"), ("people", "个人"), ("communities", "社区"))
_PLAIN = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
                     ("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 9)])
_HEADED = TableStyle([*_PLAIN.getCommands(), ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0"))])


def _lines_table(rows, header: bool):
    """A run of the circular's lines: 问题 and 事件 as plain text (short, one line each), 情况 wrapped (a
    Paragraph, the costly part of laying a line out), 时间 to the minute."""
    table = Table(rows, colWidths=CIRCULAR_WIDTHS, repeatRows=1 if header else 0)
    table.setStyle(_HEADED if header else _PLAIN)
    return table


def circular(out, lines, count: int, first, last) -> None:
    """通报 (engine/oversight/circular.py) as a PDF written into the binary file `out`: `lines`, (level, row)
    pairs in order (circular.lines: the row as circular.HEADER names its columns), laid out as they are read —
    each party under a heading of its name and 分管领导, its lines in tables of CIRCULAR_CHUNK; `count`, how
    many there are, is said under the title."""
    def story():
        yield Paragraph("事件处置情况通报", STYLES["Title"])
        yield Paragraph(_escape(f"DB330383/T 5—2021 §9.1 · {first} 至 {last} · 共 {count} 条"), STYLES["Normal"])
        yield Spacer(1, 6 * mm)
        levels = groupby(lines, key=lambda line: line[0])
        pending = next(levels, None)
        for level, word in LEVELS:
            yield Paragraph(word, STYLES["Heading2"])
            if pending is None or pending[0] != level:
                yield Paragraph("无", STYLES["Normal"])
                continue
            for (_key, name, lead), party in groupby((row for _, row in pending[1]), key=lambda row: (row[1], row[2], row[3])):
                yield Paragraph(_escape(f"{name}" + (f"（分管领导：{lead}）" if lead else "")), STYLES["Heading3"])
                rows = ([row[4], row[5], Paragraph(_escape(row[6]), STYLES["Normal"]), str(row[7])[:16].replace("T", " ")]
                        for row in party)
                header = [["问题", "事件", "情况", "时间"]]
                while chunk := list(islice(rows, CIRCULAR_CHUNK)):
                    yield _lines_table(header + chunk, header=bool(header))
                    header = []
            pending = next(levels, None)
    _template(out, "事件处置情况通报").build(_Story(story()))


def monthly(report: dict) -> bytes:
    """社区月报 (engine/oversight/monthly_report.py) as a PDF."""
    events = report["events"]
    story = [Paragraph(_escape(f"{report['community_name']} {report['month']} 社区月报"), STYLES["Title"]),
             Paragraph("DB330383/T 5—2021 §9.2", STYLES["Normal"]), Spacer(1, 6 * mm),
             Paragraph("事件流转处置", STYLES["Heading2"]),
             _table([["受理", "办结", "吹哨", "超期"],
                     [events["received"], events["closed"], events["whistled"], events["overdue"]]]),
             Paragraph("重点问题", STYLES["Heading2"]),
             _table([["类型", "数量"], *[[f"{p['type_code']} {p['name']}", p["count"]] for p in report["key_problems"]]]),
             Paragraph("人员到位", STYLES["Heading2"]),
             _table([["姓名", "值班（天）", "巡查（次）", "办理（天）"],
                     *[[p["name"], p["duty_days"], p["patrols"], p["active_days"]] for p in report["presence"]]]),
             Paragraph("重点隐患整治点", STYLES["Heading2"])]
    words = {"reported": "已上报", "rectified": "已整改", "verified": "已验收", "rejected": "验收未通过"}
    if report["hazard_points"]:
        story.append(_table([["名称", "地点", "状态", "整改", "验收"],
                             *[[h["title"], h["address"], words[h["status"]], h["rectification_note"] or "",
                                h["verify_note"] or ""] for h in report["hazard_points"]]]))
    else:
        state = report["hazard_month"]
        story.append(Paragraph("本月未上报重点隐患整治点" + ("（已标记）" if state["flagged_at"] else
                                                          "（已提醒）" if state["reminded_at"] else ""), STYLES["Normal"]))
    story += _published(report)
    return _document("社区月报", story)


def _published(report: dict) -> list:
    """The monthly report's §9.3 sections: the month's spot-check findings and its circular lines."""
    found = report["spot_checks"]
    story = [Paragraph("抽查结果（§9.3）", STYLES["Heading2"]),
             Paragraph(_escape(f"合格 {found['passed']} / 抽查 {found['checked']}"), STYLES["Normal"])]
    if found["items"]:
        story.append(_table([["抽查对象", "结论", "情况", "时间"],
                             *[["涉密事件" if f.get("sensitive") else (f["event_number"] or f["title"] or ""),
                                "合格" if f["passed"] else "不合格", f["note"], f["checked_at"][:16].replace("T", " ")]
                               for f in found["items"]]]))
    published = report["circular"]
    story.append(Paragraph("通报（§9.1、§9.3）", STYLES["Heading2"]))
    if not published["parties"]:
        story.append(Paragraph("无", STYLES["Normal"]))
    for party in published["parties"]:
        counts = "，".join(f"{word} {party['counts'][c]}" for c, word in published["categories"].items())
        story.append(Paragraph(_escape(f"{party['name']}：{counts}"), STYLES["Heading3"]))
        if party["lines"]:
            story.append(_table([["问题", "事件", "情况", "时间"],
                                 *[[line["category_name"], line["event_number"] or "", line["reason"],
                                    (line["at"] or "")[:16].replace("T", " ")] for line in party["lines"]]]))
    return story
