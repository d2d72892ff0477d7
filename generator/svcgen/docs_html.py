"""``svcgen docs --html``: the AsyncAPI document as one self-contained page.

The page is a pure function of the document ``docs.asyncapi`` builds (the YAML and
the page never disagree): servers, channels, operations, messages with their payload
and header schemas as field tables, and every schema of ``components``. It has no
script and loads nothing: the styles are inline and a Content-Security-Policy of
``default-src 'none'`` forbids any fetch, so it opens from a file, offline, and a
description holding markup stays text (everything from the spec or a model is
escaped). Anchors (``#channel-…``, ``#message-…``, ``#schema-…``) link each
reference to what it names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import quote

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
header{background:#24292f;color:#fff;padding:1.2rem 1.5rem}
header h1{margin:0;font-size:1.6rem}header p{margin:.3rem 0 0;opacity:.85}
nav a{color:#fff;margin-right:1rem}
h2{border-bottom:2px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
article{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;
margin:.8rem 0}
h3{margin:.2rem 0;font-size:1.1rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
th,td{text-align:left;vertical-align:top;border-bottom:1px solid #eaeef2;padding:.25rem .5rem}
th{background:#f6f8fa}
code{font:13px/1.4 ui-monospace,monospace;background:#f6f8fa;padding:0 .2rem}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:12px}
.send{color:#0a6e31;font-weight:600}.receive{color:#0550ae;font-weight:600}
.muted{color:#57606a}
header code{background:#57606a;color:#fff}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def page(document: Mapping[str, Any]) -> str:
    """The HTML page of an AsyncAPI ``document`` (as ``docs.asyncapi`` returns it)."""
    info = document.get("info", {})
    title = str(info.get("title", "service"))
    components = document.get("components", {})
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_t(title)}: AsyncAPI {_t(document.get('asyncapi', ''))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<header><h1>{_t(title)}</h1>",
        f"<p>version {_t(info.get('version', ''))} · AsyncAPI "
        f"{_t(document.get('asyncapi', ''))} · default content type "
        f"<code>{_t(document.get('defaultContentType', ''))}</code></p>",
        '<nav><a href="#servers">Servers</a><a href="#channels">Channels</a>'
        '<a href="#operations">Operations</a><a href="#messages">Messages</a>'
        '<a href="#schemas">Schemas</a></nav></header><main>',
    ]
    if info.get("description"):
        parts.append(f"<p>{_t(info['description'])}</p>")
    parts += _servers(document.get("servers", {}))
    parts += _channels(document.get("channels", {}), document.get("operations", {}))
    parts += _operations(document.get("operations", {}))
    parts += _messages(components.get("messages", {}), components.get("schemas", {}))
    parts += _schemas(components.get("schemas", {}))
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def _servers(servers: Mapping[str, Any]) -> list[str]:
    rows = [
        _row(
            f'<span id="server-{_a(name)}">{_t(name)}</span>',
            _t(server.get("protocol", "")),
            f"<code>{_t(server.get('host', ''))}</code>",
            f"<code>{_t(server.get('pathname', ''))}</code>",
            _t(server.get("description", "")) + _variables(server.get("variables")),
        )
        for name, server in servers.items()
    ]
    head = _row("name", "protocol", "host", "path", "description", cell="th")
    return [
        '<section id="servers"><h2>Servers</h2>',
        f"<table>{head}{''.join(rows)}</table>" if rows else _none("servers"),
        "</section>",
    ]


def _variables(variables: Mapping[str, Any] | None) -> str:
    if not variables:
        return ""
    items = "".join(
        f"<li><code>{{{_t(name)}}}</code>: {_t(var.get('description', ''))}</li>"
        for name, var in variables.items()
    )
    return f"<ul>{items}</ul>"


def _channels(channels: Mapping[str, Any], operations: Mapping[str, Any]) -> list[str]:
    used: dict[str, list[tuple[str, str]]] = {}
    for name, op in operations.items():
        used.setdefault(_last(op["channel"]["$ref"]), []).append((name, op["action"]))
    out = ['<section id="channels"><h2>Channels</h2>']
    for key, channel in channels.items():
        servers = ", ".join(
            _link("server", _last(s["$ref"])) for s in channel["servers"]
        )
        messages = ", ".join(
            _link("message", _last(m["$ref"])) for m in channel["messages"].values()
        )
        ops = ", ".join(
            f'<span class="{_a(action)}">{_t(action)}</span> {_link("operation", name)}'
            for name, action in used.get(key, [])
        )
        out.append(
            f'<article class="channel" id="channel-{_a(key)}" '
            f'data-address="{_a(channel["address"])}">'
            f"<h3><code>{_t(channel['address'])}</code></h3>"
            f'<p class="muted">channel {_t(key)} on {servers}</p>'
            f"<p>messages: {messages}</p><p>operations: {ops or 'none'}</p></article>"
        )
    if not channels:
        out.append(_none("channels"))
    out.append("</section>")
    return out


def _operations(operations: Mapping[str, Any]) -> list[str]:
    rows = []
    for name, op in operations.items():
        about = _t(op.get("description", ""))
        if "x-svcgen-dedupe" in op:
            about += f"<pre>{_t(_json(op['x-svcgen-dedupe']))}</pre>"
        rows.append(
            _row(
                f'<span id="operation-{_a(name)}">{_t(name)}</span>',
                f'<span class="{_a(op["action"])}">{_t(op["action"])}</span>',
                _link("channel", _last(op["channel"]["$ref"])),
                ", ".join(_link("message", _last(m["$ref"])) for m in op["messages"]),
                about,
            )
        )
    head = _row("operation", "action", "channel", "messages", "description", cell="th")
    return [
        '<section id="operations"><h2>Operations</h2>',
        f"<table>{head}{''.join(rows)}</table>" if rows else _none("operations"),
        "</section>",
    ]


def _messages(messages: Mapping[str, Any], schemas: Mapping[str, Any]) -> list[str]:
    out = ['<section id="messages"><h2>Messages</h2>']
    for name, message in messages.items():
        out.append(f'<article id="message-{_a(name)}"><h3>{_t(name)}</h3>')
        if message.get("title"):
            out.append(f"<p><code>{_t(message['title'])}</code></p>")
        out.append(
            f"<p>content type <code>{_t(message.get('contentType', ''))}</code></p>"
        )
        if "headers" in message:
            out.append("<h4>Headers</h4>" + _fields(message["headers"]))
        payload = message.get("payload", {})
        out.append("<h4>Payload</h4>" + _fields(payload))
        if "$ref" in payload and _last(payload["$ref"]) in schemas:
            out.append(_fields(schemas[_last(payload["$ref"])]))
        out.append("</article>")
    if not messages:
        out.append(_none("messages"))
    out.append("</section>")
    return out


def _schemas(schemas: Mapping[str, Any]) -> list[str]:
    out = ['<section id="schemas"><h2>Schemas</h2>']
    for name, schema in schemas.items():
        out.append(
            f'<article id="schema-{_a(name)}"><h3>{_t(name)}</h3>'
            + (
                f"<p>{_t(schema['description'])}</p>"
                if schema.get("description")
                else ""
            )
            + _fields(schema)
            + f"<details><summary>JSON Schema</summary><pre>{_t(_json(schema))}</pre>"
            "</details></article>"
        )
    if not schemas:
        out.append(_none("schemas"))
    out.append("</section>")
    return out


def _fields(schema: Mapping[str, Any]) -> str:
    """A schema as a table of its properties, or its type when it has none."""
    if "$ref" in schema:
        return f"<p>{_link('schema', _last(schema['$ref']))}</p>"
    properties = schema.get("properties")
    if not properties:
        return f"<p>{_type(schema)}</p>"
    required = set(schema.get("required", ()))
    rows = [
        _row(
            f"<code>{_t(name)}</code>",
            _type(prop),
            "yes" if name in required else "no",
            _t(prop.get("description", "")) + _constraints(prop),
        )
        for name, prop in properties.items()
    ]
    head = _row("field", "type", "required", "description", cell="th")
    return f"<table>{head}{''.join(rows)}</table>"


def _type(schema: Mapping[str, Any]) -> str:
    """One schema's type as text, references as links."""
    if "$ref" in schema:
        return _link("schema", _last(schema["$ref"]))
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            joiner = " &amp; " if combinator == "allOf" else " | "
            return joiner.join(_type(part) for part in schema[combinator])
    if "enum" in schema:
        return "one of " + ", ".join(
            f"<code>{_t(_json(v))}</code>" for v in schema["enum"]
        )
    if "const" in schema:
        return f"<code>{_t(_json(schema['const']))}</code>"
    kind = schema.get("type", "any")
    text = " | ".join(map(_t, kind)) if isinstance(kind, list) else _t(kind)
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        text += " of " + _type(schema["items"])
    if "format" in schema:
        text += f" ({_t(schema['format'])})"
    return text


_CONSTRAINTS = (
    "default",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
)


def _constraints(schema: Mapping[str, Any]) -> str:
    found = [
        f"{k} <code>{_t(_json(schema[k]))}</code>" for k in _CONSTRAINTS if k in schema
    ]
    return f'<div class="muted">{"; ".join(found)}</div>' if found else ""


def _row(*cells: str, cell: str = "td") -> str:
    return "<tr>" + "".join(f"<{cell}>{c}</{cell}>" for c in cells) + "</tr>"


def _link(kind: str, name: str) -> str:
    return f'<a href="#{kind}-{quote(name, safe="")}">{_t(name)}</a>'


def _last(ref: str) -> str:
    """The last part of a local ``$ref`` (JSON Pointer escapes undone)."""
    return ref.rpartition("/")[2].replace("~1", "/").replace("~0", "~")


def _none(what: str) -> str:
    return f'<p class="muted">No {what}.</p>'


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _t(value: object) -> str:
    """Text: escaped, so markup in a description stays text."""
    return escape(str(value), quote=False)


def _a(value: object) -> str:
    """An attribute value or id: escaped, quotes included."""
    return escape(str(value), quote=True)
