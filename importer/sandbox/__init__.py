"""A faithful local emulator of the Keen partner API, with fault injection.

    from importer.sandbox import Sandbox, Faults

    with Sandbox(faults=Faults(p_commit_then_drop=0.1, seed=7)) as sb:
        ...  # send to sb.base_url with the key sb.api_key, then inspect sb.purchases()

Modules: ``world`` (the seeded world file), ``store`` (SQLite state), ``faults`` (what goes wrong
on purpose), ``actions`` (the Keen actions and reward rules), ``app`` (the Starlette app: routing,
faults, admin endpoints), ``server`` (running it), ``cli`` (the ``keen-import sandbox`` command).
Behaviours chosen where the Keen docs are silent are listed in ``actions`` and
``docs/sandbox.md``.
"""

from typing import TYPE_CHECKING, Any

from importer.sandbox.faults import Faults

if TYPE_CHECKING:
    from importer.sandbox.server import Sandbox
    from importer.sandbox.world import DEFAULT_WORLD_PATH, WorldError, load_world

DEMO_API_KEY = "bdd640fb-0667-4ad1-9c80-317fa3b1799d"

# The server (Starlette, uvicorn) loads on first use: `keen-import run` registers the sandbox
# command but never starts it, and would otherwise pay for those imports on every start-up.
_LAZY = {
    "Sandbox": "importer.sandbox.server",
    "DEFAULT_WORLD_PATH": "importer.sandbox.world",
    "WorldError": "importer.sandbox.world",
    "load_world": "importer.sandbox.world",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_WORLD_PATH", "DEMO_API_KEY", "Faults", "Sandbox", "WorldError", "load_world"]
