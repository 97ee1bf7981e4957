"""Settings of the content service."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator

from etnik.common.pdf_fonts import DEFAULT_BOLD_FONT_FILE, DEFAULT_FONT_FILE
from etnik.common.settings import ServiceSettings


class ContentSettings(ServiceSettings):
    """File limits, the key of download pseudonyms, and the PDF font."""

    service_name: str = "content"
    # The gateway lets 200 MB through on /api/content/; one file may be at most this.
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    # Keyed hash of readers in download statistics; without it, a key per process (not production).
    pseudonym_key: SecretStr | None = None
    # How often the search index looks for other processes' writes (one `_id` look-up).
    search_index_poll_s: float = Field(default=2.0, gt=0)
    # A TrueType font with Cyrillic glyphs for PDF exports (Debian: fonts-dejavu-core).
    pdf_font_file: Path = DEFAULT_FONT_FILE
    pdf_bold_font_file: Path = DEFAULT_BOLD_FONT_FILE
    # How often erasures not yet completed are run again (etnik.common.erasure).
    erasure_retry_interval_s: float = Field(default=30.0, gt=0)
    # A viewer's playbacks of one video within this long count as one view.
    video_view_window_s: float = Field(default=30 * 60, gt=0)

    @model_validator(mode="after")
    def _production_needs_a_pseudonym_key(self) -> Self:
        if self.is_production and self.pseudonym_key is None:
            raise ValueError("in production PSEUDONYM_KEY must be set (download statistics)")
        return self

    def pseudonym_key_bytes(self) -> bytes:
        """The configured key, or a random one for this process."""
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value().encode()
        return secrets.token_bytes(32)
