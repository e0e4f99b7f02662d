"""What keeps a typed value a value: sandboxed, autoescaping Jinja and a fetcher that fetches nothing.

Whatever a person typed into a form (``{{ 7*7 }}``, ``<w:p>``, ``& < >``) reaches a
template only as data: the sandbox refuses unsafe attribute access, autoescaping turns
markup into text, and docxtpl's own post-render marker replacements are defused.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from functools import cache
from typing import Any

from jinja2 import ChainableUndefined, Template, nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from weasyprint.urls import URLFetcher

# XML 1.0 forbids most C0 controls, lone surrogates and U+FFFE/U+FFFF; docxtpl turns
# \a and \f into paragraphs and pages. Word and the PDFs' XHTML are both XML.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# docxtpl replaces "{_{", "}_}", "{_%" and "%_}" after rendering (its escape for literal
# braces in templates); a character reference keeps a typed "{_" as typed.
_DOCXTPL_MARKERS = re.compile(r"(?<=[{%])_|_(?=[}%])")


def clean_text(value: str) -> str:
    """Typed text as it may appear in a document: Windows line ends made one, controls removed."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _checked(value: object) -> str:
    return "1" if value is True else "0"


def _box(value: object) -> str:
    return "☒" if value is True else "☐"


def _docx_finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(_DOCXTPL_MARKERS.sub("&#95;", str(escape(clean_text(value)))))
    return value


def _html_finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, Markup):
        return clean_text(value)
    return value


class _CompiledOnce(SandboxedEnvironment):
    """A sandbox that compiles each template source once.

    docxtpl hands every part's XML to ``from_string`` on every render, and a template's
    XML is the same each time: compiling it was half of a Word document's render time.
    Sources are formflow's own templates (typed values arrive only in the context), so
    the cache stays small; it is bounded all the same."""

    MAX_SOURCES = 64

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[str, Template] = {}

    def from_string(
        self,
        source: str | nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: type[Template] | None = None,
    ) -> Template:
        if not isinstance(source, str) or globals is not None or template_class is not None:
            return super().from_string(source, globals, template_class)
        template = self._compiled.get(source)
        if template is None:
            if len(self._compiled) >= self.MAX_SOURCES:
                self._compiled.clear()
            template = self._compiled[source] = super().from_string(source)
        return template


def _environment(finalize: Any) -> SandboxedEnvironment:
    # ChainableUndefined: a blank form is the template rendered with no context at all.
    env = _CompiledOnce(
        autoescape=True, undefined=ChainableUndefined, finalize=finalize, keep_trailing_newline=True
    )
    env.filters["checked"] = _checked
    env.filters["box"] = _box
    return env


@cache
def docx_environment() -> SandboxedEnvironment:
    """For docxtpl: escapes values for XML and keeps docxtpl's markers out of typed text."""
    return _environment(_docx_finalize)


@cache
def html_environment() -> SandboxedEnvironment:
    return _environment(_html_finalize)


def url_fetcher() -> URLFetcher:
    """WeasyPrint's fetcher for formflow: ``data:`` URLs only, and a refusal stops the render.

    No ``file://`` (a template or value must never pull a local file into a document) and
    no network (nothing is sent anywhere). WeasyPrint raises ``FatalURLFetchingError``."""
    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True, allow_redirects=False)
