"""Consoles for the people who take over from the bot: interpreters, staff and admins.

The pages are plain HTML + JavaScript files in ``static/`` (served at
``/static/consoles``), no framework and no build step; their APIs live in
``assistant/api/routes``.
"""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"

__all__ = ["STATIC_DIR"]
