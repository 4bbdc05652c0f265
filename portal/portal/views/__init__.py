"""The portal's pages: one module per area, each with a blueprint named `bp`.

Every module of this package that defines `bp` is registered, so an area is added by adding
its module (and its templates/<area>/ and translations/<area>/).
"""

from __future__ import annotations

import importlib
import pkgutil

from flask import Flask


def register_views(app: Flask) -> None:
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        blueprint = getattr(module, "bp", None)
        if blueprint is not None:
            app.register_blueprint(blueprint)
