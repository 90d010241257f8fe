"""The model doctor's report: findings ranked by severity, printable and JSON-serializable."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Iterable
from typing import Any

#: Severities from most to least serious.
SEVERITIES = ("error", "warning", "info")
_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}
_INDENTS = {"initial_indent": "    ", "subsequent_indent": "      "}


def _jsonable(value: Any) -> Any:
    """`value` with NumPy scalars and arrays, tuples and sets turned into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return _jsonable(value.tolist())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem (or note) the model doctor found.

    Args:
        severity: `"error"` (training will likely fail or be wrong), `"warning"` (training will
            likely be slow or worse than it could be) or `"info"` (worth knowing; a check that was
            skipped says so with an info finding).
        code: A stable snake_case identifier, for example `"unscaled_inputs"`; tests and tools
            match on it.
        title: A one-line description.
        evidence: What was measured, as a JSON-serializable dict (values, layer names, columns).
        fix: What to do about it.

    Raises:
        ValueError: for an unknown severity or an empty code or title.

    Example:
    ```python
    Finding("warning", "lr_far_from_range_test", "The LR is 100x above the range test's pick",
            {"lr": 1.0, "suggested_lr": 0.01}, "Use learning_rate=0.01.")
    ```
    """

    severity: str
    code: str
    title: str
    evidence: dict = dataclasses.field(default_factory=dict)
    fix: str = ""

    def __post_init__(self):
        if self.severity not in _RANK:
            raise ValueError(
                f"Argument severity must be one of {list(SEVERITIES)}. "
                f"Received: severity={self.severity!r}"
            )
        for name in ("code", "title"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(
                    f"Argument {name} must be a non-empty string. Received: {name}={value!r}"
                )
        if not isinstance(self.evidence, dict):
            raise ValueError(
                f"Argument evidence must be a dict. Received: evidence={self.evidence!r}"
            )

    def to_dict(self) -> dict:
        """The finding as plain JSON types."""
        return {
            "severity": self.severity,
            "code": self.code,
            "title": self.title,
            "evidence": _jsonable(self.evidence),
            "fix": self.fix,
        }

    def __str__(self) -> str:
        lines = textwrap.wrap(
            f"[{self.severity.upper()}] {self.code}: {self.title}", 100, subsequent_indent="    "
        )
        if self.evidence:
            evidence = ", ".join(f"{k}={_short(v)}" for k, v in self.evidence.items())
            lines += textwrap.wrap(f"evidence: {evidence}", 100, **_INDENTS)
        if self.fix:
            lines += textwrap.wrap(f"fix: {self.fix}", 100, **_INDENTS)
        return "\n".join(lines)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return "[" + ", ".join(_short(v) for v in value[:8]) + f", ... ({len(value)} in all)]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)


class DiagnosisReport:
    """The findings of `diagnose`, most severe first.

    Findings are sorted by severity (`"error"` > `"warning"` > `"info"`), keeping the order in
    which the checks produced them within a severity. `str(report)` is a readable summary;
    `report.to_dict()` is JSON-serializable (`json.dumps(report.to_dict())`).

    Args:
        findings: The findings, in any order.
        summary: Facts about the run (parameter count, samples, suggested LR), JSON-serializable.

    Example:
    ```python
    report = diagnose(model, x, y)
    print(report)
    if report.has("unscaled_inputs"):
        ...
    ```
    """

    def __init__(self, findings: Iterable[Finding], summary: dict | None = None):
        findings = list(findings)
        for finding in findings:
            if not isinstance(finding, Finding):
                raise ValueError(
                    f"Argument findings must hold Finding objects. Received: {finding!r}"
                )
        self.findings = sorted(findings, key=lambda f: _RANK[f.severity])
        self.summary = dict(summary or {})

    @property
    def codes(self) -> list[str]:
        """The finding codes, most severe first."""
        return [f.code for f in self.findings]

    def has(self, code: str) -> bool:
        """True when a finding with this code is in the report."""
        return code in self.codes

    def by_severity(self, severity: str) -> list[Finding]:
        """The findings of one severity."""
        if severity not in _RANK:
            raise ValueError(
                f"Argument severity must be one of {list(SEVERITIES)}. "
                f"Received: severity={severity!r}"
            )
        return [f for f in self.findings if f.severity == severity]

    @property
    def errors(self) -> list[Finding]:
        """The `"error"` findings."""
        return self.by_severity("error")

    @property
    def warnings(self) -> list[Finding]:
        """The `"warning"` findings."""
        return self.by_severity("warning")

    @property
    def healthy(self) -> bool:
        """True when there is no error and no warning."""
        return not self.errors and not self.warnings

    def to_dict(self) -> dict:
        """The report as plain JSON types: `{"summary": ..., "findings": [...]}`."""
        return {
            "summary": _jsonable(self.summary),
            "counts": {s: len(self.by_severity(s)) for s in SEVERITIES},
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self, **kwargs) -> str:
        """`json.dumps(self.to_dict(), **kwargs)`."""
        return json.dumps(self.to_dict(), **kwargs)

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self):
        return iter(self.findings)

    def __str__(self) -> str:
        counts = ", ".join(f"{len(self.by_severity(s))} {s}(s)" for s in SEVERITIES)
        lines = [f"Model diagnosis: {counts}"]
        if self.summary:
            lines.append("  " + ", ".join(f"{k}={_short(v)}" for k, v in self.summary.items()))
        if not self.findings:
            lines.append("No problems found.")
        lines += [str(f) for f in self.findings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"DiagnosisReport(codes={self.codes})"
