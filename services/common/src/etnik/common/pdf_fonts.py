"""The Cyrillic font of the PDFs the services render with ReportLab (grant reports,
strategies and collections, participants' tickets).

ReportLab's built-in fonts have no Cyrillic glyphs, so a TrueType font is embedded: DejaVu
Sans from Debian's fonts-dejavu-core by default (the set-up installs it locally, the images
install it too). Needs the `pdf` extra (`etnik-common[pdf]`).
"""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

# Debian's fonts-dejavu-core.
DEFAULT_FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DEFAULT_BOLD_FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

# The names styles use; bold is the bold face of the regular one (<b> in a paragraph).
REGULAR = "EtnikSans"
BOLD = "EtnikSans-Bold"


class FontMissing(RuntimeError):
    """The TrueType font a PDF needs for Cyrillic text is not installed."""


def register_fonts(regular: Path, bold: Path | None = None, *, setting: str) -> None:
    """Embed the fonts as REGULAR and BOLD, once per process (the first files win).

    FontMissing says what to install, and which setting (`setting`, an environment variable)
    points elsewhere, when the regular face is absent. Bold is a nicety: without its file the
    regular face stands in, as it has every glyph."""
    if not regular.is_file():
        raise FontMissing(
            f"a PDF needs a TrueType font with Cyrillic glyphs at {regular}: install Debian's "
            f"fonts-dejavu-core, or point {setting} at another TTF file"
        )
    if REGULAR in pdfmetrics.getRegisteredFontNames():
        return
    bold_file = bold if bold is not None and bold.is_file() else regular
    pdfmetrics.registerFont(TTFont(BOLD, str(bold_file)))
    pdfmetrics.registerFont(TTFont(REGULAR, str(regular)))
    pdfmetrics.registerFontFamily(
        REGULAR, normal=REGULAR, bold=BOLD, italic=REGULAR, boldItalic=BOLD
    )
