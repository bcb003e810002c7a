"""Started by every Python process of a simulated Windows run, before the program imports.

``tests/windows/simulation.py`` puts this folder on PYTHONPATH and sets ``KEEN_SIM_WINDOWS=1``;
without that switch (a control run) nothing is changed.
"""

import os

if os.environ.get("KEEN_SIM_WINDOWS") == "1":
    import keen_sim_files
    import keen_sim_platform

    keen_sim_platform.install()
    keen_sim_files.install()
