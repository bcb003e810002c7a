"""keen-import ui: the local web app (Starlette + Jinja2) on the import-job API.

``create_app(settings)`` builds the app; ``keen-import ui`` (server.cmd_ui) serves it.
The web stack is imported only when the app is built: the CLI starts as fast as before.
"""

from importer.ui.settings import ApiKey, UISettings


def __getattr__(name: str):
    if name == "create_app":
        from importer.ui.app import create_app

        return create_app
    raise AttributeError(f"module 'importer.ui' has no attribute {name!r}")


__all__ = ["ApiKey", "UISettings", "create_app"]
