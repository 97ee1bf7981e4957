"""Settings of the reporting service."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from etnik.common.pdf_fonts import DEFAULT_BOLD_FONT_FILE, DEFAULT_FONT_FILE
from etnik.common.settings import ServiceSettings

# Development only: a production deployment must set its own key (see the validator).
_DEVELOPMENT_PSEUDONYM_KEY = "etnik-reporting-development-pseudonym-key"


class ReportingSettings(ServiceSettings):
    """Settings of the reporting service."""

    service_name: str = "reporting"
    # Person ids are replaced by a keyed hash before anything is stored.
    reporting_pseudonym_key: str = Field(default=_DEVELOPMENT_PSEUDONYM_KEY, min_length=16)
    # Debian's fonts-dejavu-core: a TTF with Cyrillic glyphs for the PDF export.
    reporting_pdf_font: Path = DEFAULT_FONT_FILE
    reporting_pdf_bold_font: Path = DEFAULT_BOLD_FONT_FILE
    # How often end offsets are read for the lag metrics.
    reporting_metrics_interval_s: float = Field(default=5.0, gt=0)
    # How long the consumer trusts its cached view of the generations.
    reporting_generation_cache_s: float = Field(default=1.0, gt=0)
    # A rebuild whose heartbeat is older than this is taken as dead and may be restarted.
    reporting_rebuild_stale_s: float = Field(default=60.0, gt=0)
    # How long a grant report waits for the report view to read what Kafka holds (then 503).
    reporting_report_wait_s: float = Field(default=20.0, gt=0)

    @property
    def pseudonym_key(self) -> bytes:
        """The key of the person pseudonyms."""
        return self.reporting_pseudonym_key.encode()

    @model_validator(mode="after")
    def _production_needs_its_own_key(self) -> Self:
        if self.is_production and self.reporting_pseudonym_key == _DEVELOPMENT_PSEUDONYM_KEY:
            raise ValueError("in production REPORTING_PSEUDONYM_KEY must be set explicitly")
        return self
