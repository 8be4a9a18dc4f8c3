"""What a section found, in words filled from this run's numbers: shown in the notebook.

    reports.record(test_bce=0.0871, bce_floor=0.0614)
    findings.show("**What we found.** The test BCE is {{ test_bce:.4f }} nats per pixel, "
                  "against a floor of {{ bce_floor:.4f }}.")

A notebook ends each section with `show`: the sentence a student reads under the figures is
filled from the numbers the run has just recorded in media/<notebook>/metrics.json, with the
same {{ field }} syntax the reports use (`pdfs.build` fills them with `fill`), so the notebook
and its report can never tell two different results.
"""

from __future__ import annotations

import re

from . import reports

FIELD = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*(?::\s*([^}]*?))?\s*\}\}")


def fill(text: str, metrics: dict, source: str = "metrics") -> str:
    """Replace each {{ key }} or {{ key:fmt }} (dotted keys a.b and a.0 index into dicts and lists)."""
    missing = []

    def lookup(match):
        key, fmt = match.group(1), match.group(2)
        value = metrics
        for part in key.split("."):  # a.b reads a dict, a.0 a list
            if isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict) and part in value:
                value = value[part]
            else:
                missing.append(key)
                return match.group(0)
        return format(value, fmt) if fmt else str(value)

    out = FIELD.sub(lookup, text)
    if missing:
        raise KeyError(f"{source} has no value for {sorted(set(missing))}: run the notebook that "
                       f"records them (reports.record(...)) before building the report")
    return out


def show(template: str, **numbers) -> str:
    """Record `numbers` (if any), fill `template` from this run's metrics.json and display it as
    Markdown in the notebook (printed outside one); return the filled text."""
    metrics = reports.record(**numbers)
    text = fill(template, metrics, "this run's metrics.json")
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # plain Python: no notebook to show it in
        get_ipython = lambda: None  # noqa: E731
    if get_ipython() is not None:
        display(Markdown(text))
    else:
        print(text)
    return text
