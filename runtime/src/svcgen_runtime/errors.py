"""The runtime's exceptions: one root, each with a one-sentence message naming the fix."""

from __future__ import annotations


class SvcgenRuntimeError(Exception):
    """Root of every error the runtime raises on purpose."""


class ConfigurationError(SvcgenRuntimeError):
    """A component was constructed with settings that cannot work."""


class MissingExtraError(SvcgenRuntimeError):
    """An optional dependency of the runtime is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        self.module = module
        super().__init__(
            f"the {extra} extra is not installed (no module {module!r}): "
            f"pip install 'svcgen-runtime[{extra}]'"
        )


class PoisonMessage(SvcgenRuntimeError):
    """A message no retry can help (as one that does not decode): raised from a
    handler, or what wraps it, the consume loop dead-letters it at once as poison."""


class BrokerError(SvcgenRuntimeError):
    """A broker operation failed."""


class BrokerConnectionError(BrokerError):
    """The connection to a broker is down; the caller reconnects with backoff."""


def require(module: str, extra: str) -> None:
    """Raise MissingExtraError unless ``module`` can be imported."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(extra, module) from exc


def redacted(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe for logs and errors."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"
