"""The JSON report: the report document as JSON (a stable schema: `archlint schema`).
Exact integers throughout."""

from __future__ import annotations

from archlint.report.document import SCHEMA_VERSION, Report, build_document, json_schema
from archlint.report.reporters import RenderContext

__all__ = ["SCHEMA_VERSION", "Report", "build_document", "json_schema", "render"]


def render(doc: Report, context: RenderContext) -> str:
    """``--format json``. The GGUF blocks appear only where they apply (the other reports keep
    their exact bytes)."""
    absent = {k for k in ("gguf", "llama_cpp_kv") if getattr(doc, k) is None}
    return doc.model_dump_json(indent=2, exclude=absent or None)
