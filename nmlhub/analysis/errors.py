"""The error analysis and plot functions raise for data they cannot use."""

from __future__ import annotations

from ..errors import NmlhubError


class AnalysisError(NmlhubError):
    """Data given to an analysis or plot cannot be used (wrong shape, too short, unknown name)."""
