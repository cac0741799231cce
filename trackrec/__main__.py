"""Allow ``python -m trackrec``."""

from __future__ import annotations

from trackrec.cli import main

raise SystemExit(main())
