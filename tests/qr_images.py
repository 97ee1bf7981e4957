"""QR codes as the tests see them: the modules of the SVG the registration service serves, and
the QR code of a ticket PDF rendered as a printer or a screen shows it (PDFium)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

_NUMBER = r"-?\d+(?:\.\d+)?"


def svg_modules(svg: bytes) -> list[list[bool]]:
    """The modules of a QR code drawn as segno draws it (dark is True, quiet zone included):
    one stroked path of horizontal runs, `M x y` / `m dx dy` moves and `h dx` lines, each
    run centred on its row (y + 0.5), in a group scaled to the image's pixel size.

    Read back from the served bytes, not from the encoder, so that a test decodes exactly the
    image a participant's browser shows."""
    text = svg.decode()
    width = float(_attribute(text, "width"))
    scale_found = re.search(rf"scale\(({_NUMBER})\)", text)
    scale = float(scale_found.group(1)) if scale_found else 1.0
    size = round(width / scale)
    dark = re.search(r'<path[^>]*stroke="#000"[^>]*\sd="([^"]+)"', text) or re.search(
        r'<path[^>]*\sd="([^"]+)"[^>]*stroke="#000"', text
    )
    assert dark, "no stroked path of dark modules in the SVG"
    matrix = [[False] * size for _ in range(size)]
    x = y = 0.0
    for command, arguments in re.findall(rf"([MmHhz])((?:\s*{_NUMBER})*)", dark.group(1)):
        values = [float(v) for v in re.findall(_NUMBER, arguments)]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        elif command == "h":
            row = int(y)  # runs are stroked at the middle of their row
            for column in range(round(x), round(x + values[0])):
                matrix[row][column] = True
            x += values[0]
        elif command == "H":
            row = int(y)
            for column in range(round(x), round(values[0])):
                matrix[row][column] = True
            x = values[0]
    return matrix


def _attribute(text: str, name: str) -> str:
    found = re.search(rf'<svg[^>]*\s{name}="({_NUMBER})"', text)
    assert found, f"the SVG has no {name}"
    return found.group(1)


def grey_raster(matrix: Sequence[Sequence[bool]], scale: int = 4) -> tuple[bytes, int, int]:
    """A matrix as 8-bit grey pixels (0 dark, 255 light), `scale` pixels a module."""
    rows = []
    for row in matrix:
        line = b"".join((b"\x00" if dark else b"\xff") * scale for dark in row)
        rows.extend([line] * scale)
    return b"".join(rows), len(matrix[0]) * scale, len(matrix) * scale


def ticket_qr_image(pdf: bytes, scale: float = 4.0) -> Any:
    """The QR code of a ticket PDF as a greyscale PIL image, rendered by PDFium: the page's
    largest square drawing (the code on its white quiet zone), cropped as a camera held up
    to the ticket would frame it."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_raw

    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        width, height = page.get_size()
        squares = [
            obj.get_bounds()
            for obj in page.get_objects()
            if obj.type == pdfium_raw.FPDF_PAGEOBJ_PATH
        ]
        assert squares, "the ticket has no drawing"
        left, bottom, right, top = max(squares, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        margin = 6.0  # points of page around the code
        crop = (
            max(0.0, left - margin),
            max(0.0, bottom - margin),
            max(0.0, width - right - margin),
            max(0.0, height - top - margin),
        )
        return page.render(scale=scale, crop=crop).to_pil().convert("L")
    finally:
        document.close()
