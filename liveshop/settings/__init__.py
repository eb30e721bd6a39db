"""liveshop settings: everything lives in base.py and is driven by environment
variables; see docs/settings.md for the full list."""

from liveshop.settings.base import *  # noqa: F403
