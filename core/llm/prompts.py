"""Versioned Jinja2 prompt templates, one per pipeline step and language (``prompts/<language>/<step>.j2``).

Every template starts with a header comment ``{# name: navigator; version: 1.0.0 #}``; the name and version
are stored in each step's trace so a run can be tied to the exact wording that produced it. Templates render
with ``StrictUndefined``: a missing variable is a bug, not an empty string.

Text taken from the note is passed through the ``data`` filter, which neutralises the tags the prompts use as
delimiters (``<note>``, ``<answer>``), so a note cannot close its own data block and pose as instructions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from core.settings import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"
PROMPT_STEPS = (
    "evidence",
    "navigator",
    "validator",
    "reconciler",
    "rag",
    "hierarchical",
    "classifier",
    "validate_code",
    "dictionary_llm",
)
FALLBACK_LANGUAGE = "en"
_HEADER = re.compile(r"^\{#\s*name:\s*([\w-]+)\s*;\s*version:\s*([\w.+-]+)\s*#\}")
_DELIMITER_TAG = re.compile(r"<\s*(/?)\s*(note|answer|snippet|evidence)\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedPrompt:
    text: str
    template: str  # path under prompts/, e.g. "en/navigator.j2"
    version: str
    name: str = ""
    language: str = ""


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    version: str
    template: str
    language: str


def as_data(value: object, max_chars: int | None = None) -> str:
    """Note-derived text made safe to embed between delimiters; optionally clipped."""
    text = _DELIMITER_TAG.sub(lambda m: f"[{m.group(1)}{m.group(2).lower()}]", str(value))
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def _one_line(value: object, max_chars: int = 160) -> str:
    """Collapse whitespace so one candidate stays on one line."""
    return as_data(re.sub(r"\s+", " ", str(value)).strip(), max_chars)


@lru_cache(maxsize=1)
def _environment(root: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["data"] = as_data
    env.filters["one_line"] = _one_line
    return env


def _template_path(step: str, language: str, root: Path) -> str:
    if step not in PROMPT_STEPS:
        raise ValueError(f"unknown prompt step {step!r}: expected one of {', '.join(PROMPT_STEPS)}")
    for lang in (language, FALLBACK_LANGUAGE):
        if (root / lang / f"{step}.j2").is_file():
            return f"{lang}/{step}.j2"
    raise FileNotFoundError(f"no prompt template for step {step!r} under {root}")


@lru_cache(maxsize=64)
def _header(root: str, path: str) -> tuple[str, str]:
    source = (Path(root) / path).read_text(encoding="utf-8")
    match = _HEADER.match(source)
    if match is None:
        raise ValueError(f"prompt template {path} lacks the header '{{# name: <step>; version: <x.y.z> #}}'")
    return match.group(1), match.group(2)


def template_info(step: str, language: str, *, root: Path = PROMPTS_DIR) -> TemplateInfo:
    path = _template_path(step, language, root)
    name, version = _header(str(root), path)
    return TemplateInfo(name=name, version=version, template=path, language=path.split("/")[0])


def template_version(template: str, *, root: Path = PROMPTS_DIR) -> str:
    """The current version of a template named as traces record it (``"en/navigator.j2"``)."""
    language, _, file_name = template.partition("/")
    return template_info(file_name.removesuffix(".j2"), language, root=root).version


def render_prompt(step: str, language: str, *, root: Path = PROMPTS_DIR, **variables: Any) -> RenderedPrompt:
    """Render ``prompts/<language>/<step>.j2`` (English when the language has no such template)."""
    info = template_info(step, language, root=root)
    template = _environment(str(root)).get_template(info.template)
    text = template.render(**variables).strip() + "\n"
    text = re.sub(r"\n{3,}", "\n\n", text)
    return RenderedPrompt(text=text, template=info.template, version=info.version, name=info.name,
                          language=info.language)


def list_prompts(*, root: Path = PROMPTS_DIR) -> list[TemplateInfo]:
    """Every template with its name and version (for the UI and run records)."""
    infos = []
    for path in sorted(root.glob("*/*.j2")):
        if path.stem in PROMPT_STEPS:
            infos.append(template_info(path.stem, path.parent.name, root=root))
    return infos
