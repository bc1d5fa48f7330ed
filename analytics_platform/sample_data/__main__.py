"""Entry point for ``python -m analytics_platform.sample_data``."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
