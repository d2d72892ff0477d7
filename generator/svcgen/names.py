"""The names a spec gives: the service's, and those of its consumers, tasks, ...

Plain Python (no pydantic), so the CLI can check ``svcgen new``'s NAME before it
imports anything heavy; ``spec_values`` makes these checks pydantic types.
"""

from __future__ import annotations

import keyword
import re
import sys
from typing import Final

RESERVED_CONTEXT_NAMES: Final = frozenset({"tasks", "cache", "database", "storage"})
"""Context attributes kept for tasks and resources; publishers may not take them."""


def task_keys_prefix(service: str) -> str:
    """Where a service keeps task idempotency keys and schedule fires in Redis.

    Outside the cache's default prefix (``<service>:``), so ``cache.clear()`` never
    deletes them.
    """
    return f"svcgen-keys:{service}:"


def task_keys_bucket(service: str) -> str:
    """The JetStream key-value bucket of a service's task keys on a NATS broker."""
    return f"svcgen-keys-{service}"  # service names are already [a-z0-9_-]


_TAKEN_PACKAGES: Final = frozenset(
    {
        # svcgen, its runtime, and what a generated service imports or installs
        # (svcgen-runtime's dependencies and extras, the skeleton's test tools):
        # a service package with one of these names would hide it.
        "svcgen",
        "svcgen_runtime",
        "anyio",
        "sniffio",
        "starlette",
        "uvicorn",
        "h11",
        "httptools",
        "uvloop",
        "websockets",
        "watchfiles",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_extensions",
        "typing_inspection",
        "httpx",
        "httpcore",
        "certifi",
        "idna",
        "pytest",
        "pytest_asyncio",
        "_pytest",
        "pluggy",
        "iniconfig",
        "packaging",
        "aiokafka",
        "kafka",
        "async_timeout",
        "aio_pika",
        "aiormq",
        "pamqp",
        "yarl",
        "multidict",
        "propcache",
        "nats",
        "redis",
        "paho",
        "croniter",
        "dateutil",
        "pytz",
        "six",
        "asyncpg",
        "aiosqlite",
        "opentelemetry",
        "prometheus_client",
        "importlib_metadata",
        "zipp",
        "wrapt",
        "deprecated",
        "setuptools",
        "pip",
        "pkg_resources",
        "mypy",
        "ruff",
    }
)
NAME_MAX: Final = 64
"""Longest name: it becomes a file name (``handlers/<name>.py``) and identifiers."""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


def check_name(value: str) -> str:
    """``value`` as a name of a consumer, publisher, task, route, ...; else ValueError."""
    if len(value) > NAME_MAX:
        raise ValueError(
            f"{value[:20]!r}... is {len(value)} characters long; a name has at most "
            f"{NAME_MAX}, since it names a file and a Python identifier"
        )
    if value.startswith("_"):
        bare = value.strip("_")
        valid = _NAME.match(bare) and not keyword.iskeyword(bare)
        example = bare if valid else "order_created"
        raise ValueError(
            f"{value!r} starts with an underscore, which Python keeps for private and "
            f"special names such as __init__; start it with a letter, such as {example}"
        )
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid name: use a Python identifier of lowercase "
            "letters, digits and underscores, such as order_created"
        )
    if keyword.iskeyword(value):
        raise ValueError(
            f"{value!r} is a Python keyword, so it cannot name a module or an "
            f"attribute; choose another name, such as {value}_"
        )
    if value == "l":
        raise ValueError(
            "'l' reads like 1 and I, so linters refuse it as a name (E741); choose "
            "a longer name"
        )
    return value


def package_name(service: str) -> str:
    """The Python package a service lives in: its name with ``-`` as ``_``."""
    return service.replace("-", "_")


def check_service_name(value: str) -> str:
    """``value`` as a service name (``svcgen new NAME``); else ValueError."""
    package = package_name(value)
    if len(value) > NAME_MAX:
        raise ValueError(
            f"{value[:20]!r}... is {len(value)} characters long; a service name has "
            f"at most {NAME_MAX}, since it names the package's directory"
        )
    if not _SERVICE_NAME.match(value) or keyword.iskeyword(package):
        raise ValueError(
            f"{value!r} is not a valid service name: use lowercase letters, digits, "
            "'-' and '_', starting with a letter, such as orders"
        )
    if package in sys.stdlib_module_names or package in _TAKEN_PACKAGES:
        raise ValueError(
            f"{value!r} would make a package that hides the module {package} the "
            "service needs; choose another name, such as "
            f"{package}_service"
        )
    return value
