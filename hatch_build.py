"""svcgen's build hook: its dependencies plus the compatible svcgen-runtime range.

The range is ``compatible_range`` of svcgen's version (the one version file), from
``generator/svcgen/version.py``, loaded from its file: svcgen is not installed
while it builds.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from hatchling.metadata.plugin.interface import MetadataHookInterface


class SvcgenMetadataHook(MetadataHookInterface):
    """Writes ``dependencies``: the configured list and svcgen-runtime's range."""

    PLUGIN_NAME = "custom"

    def update(self, metadata: dict[str, Any]) -> None:
        path = Path(self.root) / "generator" / "svcgen" / "version.py"
        spec = importlib.util.spec_from_file_location("_svcgen_build_version", path)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        runtime = f"svcgen-runtime{module.compatible_range(metadata['version'])}"
        metadata["dependencies"] = [*self.config.get("dependencies", []), runtime]
