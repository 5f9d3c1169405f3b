"""PDF files of the §9.1 circular and the §9.2 monthly report (issue #8), made with ReportLab. Chinese text
uses the Adobe CID font STSong-Light, which every PDF reader carries, so no font file ships with the app."""
from __future__ import annotations

import io

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


def _table(rows, widths=None):
    table = Table([[Paragraph(_escape(cell), STYLES["Normal"]) for cell in row] for row in rows], colWidths=widths,
                  repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f0f0f0")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _document(title: str, story: list) -> bytes:
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm,
                      topMargin=16 * mm, bottomMargin=16 * mm).build(story)
    return out.getvalue()


def circular(notice: dict, first, last) -> bytes:
    """通报 (engine/oversight/circular.py) as a PDF."""
    story = [Paragraph("事件处置情况通报", STYLES["Title"]),
             Paragraph(_escape(f"DB330383/T 5—2021 §9.1 · {first} 至 {last}"), STYLES["Normal"]), Spacer(1, 6 * mm)]
    categories = notice["categories"]
    for level, word in (("units", "单位"), ("people", "个人"), ("communities", "社区")):
        story.append(Paragraph(word, STYLES["Heading2"]))
        if not notice[level]:
            story.append(Paragraph("无", STYLES["Normal"]))
            continue
        rows = [["名称", "分管领导", "问题", "事件", "情况"]]
        for party in notice[level]:
            supervisor = party["supervisor"] or {}
            lead = f"{supervisor.get('title', '')}{supervisor.get('name', '')}"
            for category, entries in party["entries"].items():
                for entry in entries:
                    rows.append([party["name"], lead, categories[category], entry["event_number"] or "", entry["reason"]])
        story.append(_table(rows, [26 * mm, 30 * mm, 22 * mm, 36 * mm, 60 * mm]))
    return _document("事件处置情况通报", story)


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
    return _document("社区月报", story)
