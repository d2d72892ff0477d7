"""``svcgen docs``: an AsyncAPI 3.0 document of the service's messaging side.

Servers are the spec's brokers (host and path from the URL's defaults, never its
credentials; an environment variable without a default becomes a server
variable); channels are the addresses the service reads or writes (consumer
sources, publisher targets, task queues, dead-letter destinations); operations
are its consumers and task workers (``receive``), publishers and task enqueues
(``send``); messages carry the JSON Schema of their pydantic model, read by
importing the service's model modules from ``src/``. An outbox publisher's message
declares the ``svcgen-message-id`` header it always carries; a dedupe consumer's
operation says what it deduplicates by (``x-svcgen-dedupe``). The document is a pure
function of the spec and the models: keys sorted, so it can be committed and
diffed like the generated code.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ProjectError
from .kinds import BROKERS
from .plan import make_plan
from .render import duration_text
from .spec_models import ServiceSpec
from .spec_values import ENV_REFERENCE, MESSAGE_ID_HEADER

ASYNCAPI_VERSION = "3.0.0"

BYTES = "Bytes"
"""The message of a consumer, publisher or task with no model: raw bytes."""


def asyncapi(spec: ServiceSpec, root: Path, *, schemas: bool = True) -> dict[str, Any]:
    """The AsyncAPI document of ``spec``; ``schemas`` imports the models under
    ``root/src`` for their JSON Schemas (else each payload names its class)."""
    plan = make_plan(spec)
    doc = _Document(root if schemas else None)
    for c in plan.consumers:
        about, dedupe = c.description, None
        if c.dedupe is not None:
            about, dedupe = _deduped(c.description, c.dedupe.key, c.dedupe.window)
        doc.operation(c.name, "receive", c.broker, c.source, c.message_import, about)
        if dedupe is not None:
            doc.operations[c.name]["x-svcgen-dedupe"] = dedupe
        doc.dead_letter(c.name, c.broker, c.dead_letter, c.message_import)
    for p in plan.publishers:
        doc.operation(
            p.name,
            "send",
            p.broker,
            p.target,
            p.message_import,
            p.description,
            outbox=p.outbox,
        )
    for t in plan.tasks:
        about = t.description or f"Runs the {t.name} task."
        doc.operation(t.name, "receive", t.broker, t.queue, t.args_import, about)
        doc.operation(
            f"enqueue_{t.name}",
            "send",
            t.broker,
            t.queue,
            t.args_import,
            f"Enqueues the {t.name} task (ctx.tasks.{t.name}.enqueue).",
        )
        doc.dead_letter(t.name, t.broker, t.dead_letter, t.args_import)
    info: dict[str, Any] = {"title": spec.name, "version": "1.0.0"}
    if spec.description:
        info["description"] = spec.description
    out: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": info,
        "defaultContentType": "application/json",
        "servers": {
            b.name: _server(b.kind, spec.brokers[b.name].url, b.description)
            for b in plan.brokers
        },
        "channels": doc.channels,
        "operations": doc.operations,
        "components": {"messages": doc.messages},
    }
    if doc.schemas:
        out["components"]["schemas"] = doc.schemas
    # AsyncAPI's order on top, sorted keys below
    return {key: _sorted(value) for key, value in out.items()}


def render(document: dict[str, Any], *, fmt: str) -> str:
    """``document`` as YAML (``fmt="yaml"``), JSON or one HTML page (``"html"``,
    see ``docs_html``), ending in a newline."""
    if fmt == "json":
        return json.dumps(document, indent=2) + "\n"
    if fmt == "html":
        from .docs_html import page

        return page(document)
    import yaml

    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88))


class _Document:
    def __init__(self, root: Path | None) -> None:
        self._root = root
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self._addresses: dict[tuple[str, str], str] = {}

    def operation(
        self,
        name: str,
        action: str,
        broker: str,
        address: str,
        model: tuple[str, str, str | None] | None,
        description: str,
        *,
        outbox: bool = False,
    ) -> None:
        message = self._message(model)
        if outbox:
            message = self._with_message_id(message)
        channel = self._channel(broker, address, message)
        operation: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
        }
        if description:
            operation["description"] = " ".join(description.split())
        self.operations[name] = operation

    def dead_letter(
        self,
        name: str,
        broker: str,
        address: str | None,
        model: tuple[str, str, str | None] | None,
    ) -> None:
        if address is None:
            return
        self.operation(
            f"{name}_dead_letter",
            "send",
            broker,
            address,
            model,
            f"Where {name} puts a message it gives up on, with x-svcgen-* headers "
            "saying why.",
        )

    def _channel(self, broker: str, address: str, message: str) -> str:
        key = self._addresses.get((broker, address))
        if key is None:
            key = _identifier(address)
            taken = set(self.channels)
            base, n = key, 2
            while key in taken:
                key, n = f"{base}_{n}", n + 1
            self._addresses[(broker, address)] = key
            self.channels[key] = {
                "address": address,
                "servers": [{"$ref": f"#/servers/{broker}"}],
                "messages": {},
            }
        messages = self.channels[key]["messages"]
        messages[message] = {"$ref": f"#/components/messages/{message}"}
        return key

    def _message(self, model: tuple[str, str, str | None] | None) -> str:
        if model is None:
            self.messages[BYTES] = {
                "name": BYTES,
                "contentType": "application/octet-stream",
                "payload": {"type": "string", "format": "binary"},
            }
            return BYTES
        module, cls = model[0], model[1]
        title = f"{module}:{cls}"
        name = cls
        if name in self.messages and self.messages[name].get("title") != title:
            name = f"{module.replace('.', '_')}_{cls}"  # another module's cls
        if name in self.messages:
            return name  # its schema is there already: imported once
        self.messages[name] = {
            "name": name,
            "title": title,
            "contentType": "application/json",
            "payload": self._payload(module, cls, name),
        }
        return name

    def _with_message_id(self, message: str) -> str:
        """The variant of ``message`` an outbox publisher sends: the same payload,
        and the ``svcgen-message-id`` header every outbox message carries."""
        name = f"{message}_outbox"
        self.messages[name] = {
            **self.messages[message],
            "name": name,
            "headers": {
                "type": "object",
                "properties": {
                    MESSAGE_ID_HEADER: {
                        "type": "string",
                        "format": "uuid",
                        "description": "A stable id of the message (its outbox "
                        "row's): a republished copy carries the same one, so a "
                        f"consumer deduplicating by header:{MESSAGE_ID_HEADER} "
                        "handles it once.",
                    }
                },
                "required": [MESSAGE_ID_HEADER],
            },
        }
        return name

    def _payload(self, module: str, cls: str, name: str) -> dict[str, Any]:
        if self._root is None:
            return {"type": "object", "description": f"{module}:{cls}"}
        model = _import_model(self._root, module, cls)
        schema: dict[str, Any] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for key, nested in schema.pop("$defs", {}).items():
            self.schemas[key] = nested
        self.schemas[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}


def _deduped(description: str, key: str, window: float) -> tuple[str, dict[str, Any]]:
    """A dedupe consumer's description, with a sentence on what it deduplicates
    by, and its ``x-svcgen-dedupe`` extension."""
    source, _, name = key.partition(":")
    where = f"the header {name}" if source == "header" else f"the body field {name}"
    window_text = duration_text(window)
    sentence = (
        f"Deduplicated by {where}: a message whose key was handled in the last "
        f"{window_text} is acknowledged without running the handler again."
    )
    about = f"{' '.join(description.split())} {sentence}" if description else sentence
    return about, {"key": key, "window": window_text}


def _import_model(root: Path, module: str, cls: str) -> Any:
    where = f"{module}:{cls}"
    with _on_path(root / "src"):
        try:
            found = getattr(importlib.import_module(module), cls)
        except ImportError as exc:
            raise ProjectError(
                f"svcgen docs cannot import {module} for {where} ({exc}): run it where "
                "the service and its dependencies are installed, or pass --no-schemas"
            ) from exc
        except AttributeError as exc:
            raise ProjectError(
                f"{module} has no {cls}, which service.yaml names ({where}): add the "
                "class, or pass --no-schemas"
            ) from exc
    if not callable(getattr(found, "model_json_schema", None)):
        raise ProjectError(
            f"{where} is not a pydantic model (it has no model_json_schema): make it "
            "a pydantic BaseModel, or pass --no-schemas"
        )
    return found


@contextmanager
def _on_path(path: Path) -> Iterator[None]:
    sys.path.insert(0, str(path))
    try:
        yield
    finally:
        sys.path.remove(str(path))


def _server(kind: str, url: str | None, description: str) -> dict[str, Any]:
    """A server object: the URL's host and path with its variables' defaults,
    without user names or passwords."""
    server: dict[str, Any] = {"protocol": BROKERS[kind].protocol}
    if url is None:
        server["host"] = "localhost"
        server["description"] = description or "In-process: the service's own memory."
        return server
    variables: dict[str, Any] = {}

    def default_or_variable(match: re.Match[str]) -> str:
        if match.group("default") is not None:
            return match.group("default")
        variables[match.group("var")] = {
            "description": f"The environment variable {match.group('var')}."
        }
        return "{" + match.group("var") + "}"

    resolved = ENV_REFERENCE.sub(default_or_variable, url)
    parts = urlsplit(resolved if "://" in resolved else f"//{resolved}")
    server["host"] = parts.netloc.rpartition("@")[2] or "localhost"
    if parts.path not in ("", "/"):
        server["pathname"] = parts.path
    used = server["host"] + server.get("pathname", "")
    variables = {k: v for k, v in variables.items() if "{" + k + "}" in used}
    if variables:  # those left in the user name or password are not shown at all
        server["variables"] = variables
    about = " ".join((description or f"The {kind} broker.").split())
    server["description"] = (
        f"{about} URL from service.yaml: {_without_credentials(url)}"
    )
    return server


def _without_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    return f"{scheme}://{rest.rpartition('@')[2]}"


def _identifier(address: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", address).strip("_") or "channel"


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value
