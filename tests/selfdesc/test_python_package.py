"""A small Python package described with ≥ 15 checks across `python` and `files`: green as written, and
one deliberate violation turns exactly the expected check red (issue 7)."""

from __future__ import annotations

from pathlib import Path

from tests.selfdesc.kit import prepend, red_checks, write_tree

PACKAGE = {
    "shop/__init__.py": '"""The shop."""\n',
    "shop/models.py": (
        "from dataclasses import dataclass\n"
        "from decimal import Decimal\n\n"
        "@dataclass\n"
        "class Order:\n"
        "    total: Decimal\n\n"
        "def order_total(order: Order) -> Decimal:\n"
        "    return order.total\n"
    ),
    "shop/api.py": (
        "import logging\n"
        "from shop import models\n"
        "from shop.models import Order\n\n"
        "logger = logging.getLogger(__name__)\n\n"
        "def checkout(order: Order) -> str:\n"
        "    logger.info('checkout')\n"
        "    return str(models.order_total(order))\n"
    ),
    "shop/db.py": "import sqlite3\n\ndef connect() -> sqlite3.Connection:\n    return sqlite3.connect(':memory:')\n",
    "tests/test_api.py": "from shop.api import checkout\n\ndef test_checkout():\n    assert checkout\n",
    "README.md": "# shop\n",
}

# `shop.models.mod`, not `models.mod`: upstream evaluates no two-part path as a value (#11, the oracle).
SPEC = """\
import files
import python

## The shop package and its layers
element shop:
    scope pkg = files.folder_selector('shop')
    scope tests = files.folder_selector('tests')
    check files.exists(pkg, '__init__.py')
    check files.exists(tests, 'test_api.py')
    check files.no_files_matching(pkg, '*.pyc')
    check files.max_size(pkg, 10000)

    element models:
        scope mod = python.module_selector('shop.models')
        scope order_cls = python.class_selector('Order')
        check python.imports(mod, 'dataclasses')
        check python.no_import(mod, 'shop')
        check python.no_import(mod, 'sqlite3')
        check python.returns_type(mod, 'Decimal')
        check python.function_returns_type(mod, 'order_total', 'Decimal')
        check files.contains(order_cls, 'models.py')

    element api:
        scope mod = python.module_selector('shop.api')
        scope handlers = python.function_selector('checkout')
        check python.imports(mod, 'shop')
        check python.no_import(mod, 'sqlite3')
        check python.calls(mod, 'logger')
        check python.calls_function(mod, 'models', 'order_total')
        check python.calls_scope(mod, shop.models.mod)
        check python.function_returns_type(handlers, 'checkout', 'str')

    element storage:
        scope mod = python.module_selector('shop.db')
        check python.imports(mod, 'sqlite3')
        check python.returns_type(mod, 'Connection')
"""


def make_workspace(root: Path) -> Path:
    return write_tree(root, PACKAGE, SPEC)


def test_description_is_green(tmp_path: Path) -> None:
    assert red_checks(make_workspace(tmp_path)) == set()


def test_forbidden_import_turns_exactly_one_check_red(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    prepend(ws / "shop" / "api.py", "import sqlite3\n")
    assert red_checks(ws) == {"shop.api :: python.no_import(mod, 'sqlite3')"}


def test_missing_test_module_turns_exactly_one_check_red(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path)
    (ws / "tests" / "test_api.py").unlink()
    assert red_checks(ws) == {"shop :: files.exists(tests, 'test_api.py')"}
