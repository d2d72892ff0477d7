"""Entry point: ``python -m golden_middleware`` runs the service (user-owned)."""

from __future__ import annotations

import logging

from golden_middleware._generated.app import run

if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run()
