"""The one version of both distributions, svcgen and svcgen-runtime.

Both pyproject.toml files read it (hatch's version source); svcgen requires a
svcgen-runtime of the same major.minor (``svcgen.version.RUNTIME_RANGE``). Bump it
here, and only here, for a release.
"""

__version__ = "0.1.0"
