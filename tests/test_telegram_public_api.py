"""chatshop uses python-telegram-bot through its public API only, so that a minor
upgrade cannot break it silently: no import from a private module (``telegram._utils``,
``telegram._bot``...) and no private name of python-telegram-bot's objects
(``bot._post``, ``self._unfrozen()``) anywhere in ``chatshop/``."""

from __future__ import annotations

import ast
from pathlib import Path

import chatshop

PACKAGE = Path(chatshop.__file__).parent
# Private names chatshop reached for before: what python-telegram-bot's objects hold.
PTB_PRIVATE = {"_post", "_do_post", "_unfrozen", "_freeze", "_request", "_bot",
               "_insert_defaults", "_get_attrs", "_frozen"}


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
            for path in sorted(PACKAGE.rglob("*.py"))]


def _private(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "telegram" and any(part.startswith("_") for part in parts)


def test_no_module_imports_from_python_telegram_bot_s_private_modules() -> None:
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            found += [f"{path.relative_to(PACKAGE)}:{node.lineno} {name}"
                      for name in names if _private(name)]
    assert found == []


def test_no_code_touches_a_private_name_of_python_telegram_bot_s_objects() -> None:
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or node.attr not in PTB_PRIVATE:
                continue
            # (on ``self`` too: a subclass of python-telegram-bot's reaching into it)
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
    assert found == []
