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

from importer.sandbox.faults import Faults
from importer.sandbox.server import Sandbox
from importer.sandbox.world import DEFAULT_WORLD_PATH, WorldError, load_world

DEMO_API_KEY = "bdd640fb-0667-4ad1-9c80-317fa3b1799d"

__all__ = ["DEFAULT_WORLD_PATH", "DEMO_API_KEY", "Faults", "Sandbox", "WorldError", "load_world"]
