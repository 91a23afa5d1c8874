"""The tour's page: one self-contained ``index.html`` (inline CSS, no script, no network) with
its PNG files beside it."""

from __future__ import annotations

import html
import platform
from pathlib import Path

from ._section import SectionResult

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;
padding:0 1em;color:#1d2330;line-height:1.5}
h1{margin-bottom:.2em} .lede{color:#555;margin-top:0}
table.summary{border-collapse:collapse;margin:1em 0}
table.summary td,table.summary th{padding:.25em .8em;
border-bottom:1px solid #ddd;text-align:left}
section{border-top:2px solid #e3e6ee;margin-top:2.2em;padding-top:.6em}
.idea{font-style:italic;color:#445}
figure{display:inline-block;margin:.6em 1em .6em 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;border:1px solid #e3e6ee}
figcaption{font-size:.9em;color:#555;max-width:640px}
ul.checks{list-style:none;padding-left:0} ul.checks li{margin:.15em 0}
.pass{color:#11772f;font-weight:600} .fail{color:#b3261e;font-weight:600}
pre.error{background:#fff3f2;border:1px solid #f1c0bb;padding:.8em;overflow-x:auto;font-size:.85em}
dl.numbers{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}
dl.numbers dt{color:#555} dl.numbers dd{margin:0;font-family:ui-monospace,monospace}
footer{margin-top:3em;color:#777;font-size:.85em}
"""


def _esc(s: str) -> str:
    return html.escape(s, quote=True)


def _text(s: str) -> str:
    """Paragraph text: escaped, except for a few inline tags the sections use."""
    out = _esc(s)
    for tag in ("b", "i", "sub", "sup", "code"):
        out = out.replace(f"&lt;{tag}&gt;", f"<{tag}>").replace(f"&lt;/{tag}&gt;", f"</{tag}>")
    return out


def write_page(out: Path, results: list[SectionResult], quick: bool, seconds: float) -> Path:
    import jax

    import steepest
    from steepest._core.config import x64_enabled

    n_checks = sum(len(r.checks) for r in results)
    n_pass = sum(c.passed for r in results for c in r.checks)
    rows = []
    for i, r in enumerate(results, 1):
        state = (
            '<span class="pass">ok</span>'
            if r.ok
            else '<span class="fail">failed</span>'
            if r.error
            else '<span class="fail">a check failed</span>'
        )
        rows.append(
            f'<tr><td>{i}</td><td><a href="#{r.key}">{_esc(r.title)}</a></td><td>{state}</td>'
            f"<td>{sum(c.passed for c in r.checks)}/{len(r.checks)}</td>"
            f"<td>{r.seconds:.1f} s</td></tr>"
        )
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>steepest — a tour of gradient flows</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>A tour of gradient flows</h1>",
        '<p class="lede">A gradient flow is a state space, an energy and a metric: the state moves '
        "along −G<sup>−1</sup>∇E, the steepest way down. Every figure and number below was "
        "computed by steepest when this page was made"
        f"{' (the quick tour)' if quick else ''}; every check states what it measured.</p>",
        f"<p><b>{n_pass} of {n_checks} checks passed</b> in {len(results)} sections, "
        f"{seconds:.0f} s in all.</p>",
        '<table class="summary"><tr><th></th><th>section</th><th>state</th><th>checks</th>'
        "<th>time</th></tr>",
        *rows,
        "</table>",
    ]
    for i, r in enumerate(results, 1):
        parts.append(f'<section id="{r.key}"><h2>{i}. {_esc(r.title)}</h2>')
        parts.append(f'<p class="idea">{_text(r.idea)}</p>')
        parts += [f"<p>{_text(p)}</p>" for p in r.paragraphs]
        for fname, caption in r.figures:
            parts.append(
                f'<figure><img src="{_esc(fname)}" alt="{_esc(caption)}">'
                f"<figcaption>{_text(caption)}</figcaption></figure>"
            )
        if r.numbers:
            parts.append('<dl class="numbers">')
            parts += [f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in r.numbers]
            parts.append("</dl>")
        if r.checks:
            parts.append('<ul class="checks">')
            for c in r.checks:
                mark = '<span class="pass">✓</span>' if c.passed else '<span class="fail">✗</span>'
                parts.append(f"<li>{mark} {_text(c.what)}</li>")
            parts.append("</ul>")
        if r.error:
            parts.append(
                '<p class="fail">This section failed; the others ran.</p>'
                f'<pre class="error">{_esc(r.error)}</pre>'
            )
        parts.append("</section>")
    parts.append(
        f"<footer>steepest {steepest.__version__}, jax {jax.__version__} on "
        f"{_esc(platform.platform())}, float64 {'on' if x64_enabled() else 'off'}."
        "</footer></body></html>"
    )
    page = out / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page
