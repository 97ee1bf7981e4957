"""PDF exports with Cyrillic text: NGO development strategies and methodological collections.

ReportLab's built-in fonts have no Cyrillic glyphs: register the TrueType font first
(etnik.common.pdf_fonts). Building is blocking: run the functions here in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)
from reportlab.platypus.tableofcontents import TableOfContents  # type: ignore[import-untyped]

from etnik.common.pdf_fonts import BOLD, REGULAR

# One entry's text in a collection is cut here, so that one huge file cannot swamp the book.
MAX_ENTRY_TEXT_CHARS = 60_000


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("Body", fontName=REGULAR, fontSize=10.5, leading=14, spaceAfter=6)
    return {
        "title": ParagraphStyle("Title", parent=body, fontName=BOLD, fontSize=20, leading=25),
        "subtitle": ParagraphStyle("Subtitle", parent=body, fontSize=12, leading=16),
        "heading": ParagraphStyle(
            "EntryHeading", parent=body, fontName=BOLD, fontSize=14, leading=18, spaceBefore=10
        ),
        "meta": ParagraphStyle(
            "Meta", parent=body, fontSize=9, leading=12, textColor=HexColor("#555555")
        ),
        "body": body,
        "toc": ParagraphStyle("TocEntry", parent=body, fontSize=11, leading=15),
    }


def _paragraphs(text: str, style: ParagraphStyle) -> list[Paragraph]:
    """Blocks separated by blank lines, each a paragraph; markup in the text is shown as is."""
    blocks = [block.strip() for block in text.replace("\r\n", "\n").split("\n\n")]
    return [Paragraph(escape(block).replace("\n", "<br/>"), style) for block in blocks if block]


def _number_pages(canvas: Any, document: Any) -> None:
    canvas.saveState()
    canvas.setFont(REGULAR, 8)
    canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, str(document.page))
    canvas.restoreState()


class _BookWithContents(SimpleDocTemplate):  # type: ignore[misc]
    """Records each entry heading for the table of contents, with a bookmark to its page."""

    def afterFlowable(self, flowable: Any) -> None:
        if isinstance(flowable, Paragraph) and flowable.style.name == "EntryHeading":
            # multiBuild lays the story out several times; the page number keeps keys stable.
            key = f"entry-{self.page}-{abs(hash(flowable.getPlainText()))}"
            self.canv.bookmarkPage(key)
            self.notify("TOCEntry", (0, flowable.getPlainText(), self.page, key))


@dataclass(frozen=True)
class StrategySection:
    """One section of a strategy: its heading and the text operators wrote."""

    heading: str
    text: str


@dataclass(frozen=True)
class ChosenMechanism:
    """A mechanism of the Strategy a strategy chose: its title, task, and the goals it serves."""

    code: str
    title: str
    task: str
    goals: list[str] = field(default_factory=list)


def strategy_pdf(
    organisation: str,
    sections: list[StrategySection],
    *,
    version: int,
    updated_at: datetime,
    vector: str | None = None,
    mechanisms: list[ChosenMechanism] | None = None,
) -> bytes:
    """An organisation's development strategy as a PDF, with its vector and the Strategy's
    mechanisms its goals use, when it has them."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"Индивидуальный вектор развития: {organisation}",
        author="ЭтНик: стратегия в практике",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    story: list[Any] = [
        Paragraph("Индивидуальный вектор развития", styles["title"]),
        Paragraph(escape(organisation), styles["subtitle"]),
        Paragraph(
            f"Редакция {version} от {updated_at:%d.%m.%Y}. Программа «ЭтНик: стратегия в практике»",
            styles["meta"],
        ),
        Spacer(1, 8 * mm),
    ]
    if vector:
        story.append(Paragraph("Вектор развития", styles["heading"]))
        story.extend(_paragraphs(vector, styles["body"]))
    for section in sections:
        story.append(Paragraph(escape(section.heading), styles["heading"]))
        story.extend(_paragraphs(section.text or "—", styles["body"]))
    if mechanisms:
        story.append(
            Paragraph(
                "Механизмы Стратегии государственной национальной политики", styles["heading"]
            )
        )
        for number, mechanism in enumerate(mechanisms, start=1):
            story.append(Paragraph(f"{number}. {escape(mechanism.title)}", styles["body"]))
            if mechanism.task:
                task = "Задача Стратегии: " + escape(mechanism.task)
                story.append(Paragraph(task, styles["meta"]))
            story.append(
                Paragraph("Цели: " + escape("; ".join(mechanism.goals) or "—"), styles["meta"])
            )
    document.build(story, onFirstPage=_number_pages, onLaterPages=_number_pages)
    return buffer.getvalue()


@dataclass(frozen=True)
class CollectionEntry:
    """One published material as it appears in a compiled collection."""

    title: str
    kind: str
    authors: list[str] = field(default_factory=list)
    description: str | None = None
    link: str | None = None
    text: str = ""


def collection_pdf(title: str, description: str | None, entries: list[CollectionEntry]) -> bytes:
    """A methodological collection: a title page, a table of contents, then each material."""
    styles = _styles()
    buffer = io.BytesIO()
    document = _BookWithContents(
        buffer,
        pagesize=A4,
        title=title,
        author="ЭтНик: стратегия в практике",
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    contents = TableOfContents()
    contents.levelStyles = [styles["toc"]]
    contents.dotsMinLevel = 0
    story: list[Any] = [
        Paragraph(escape(title), styles["title"]),
        *_paragraphs(description or "", styles["subtitle"]),
        Spacer(1, 6 * mm),
        Paragraph("Содержание", styles["subtitle"]),
        contents,
    ]
    for entry in entries:
        story.append(PageBreak())
        story.append(Paragraph(escape(entry.title), styles["heading"]))
        meta = [entry.kind]
        if entry.authors:
            meta.append("Авторы: " + ", ".join(entry.authors))
        story.append(Paragraph(escape(" · ".join(meta)), styles["meta"]))
        if entry.link:
            story.append(Paragraph("Ссылка: " + escape(entry.link), styles["meta"]))
        story.extend(_paragraphs(entry.description or "", styles["body"]))
        story.extend(_paragraphs(entry.text[:MAX_ENTRY_TEXT_CHARS], styles["body"]))
    if not entries:
        story.append(Paragraph("В сборнике пока нет опубликованных материалов.", styles["body"]))
    document.multiBuild(story, onFirstPage=_number_pages, onLaterPages=_number_pages)
    return buffer.getvalue()
