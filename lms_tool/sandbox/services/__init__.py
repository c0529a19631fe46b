"""The platform's LTI Advantage services; each module registers its routes on import."""

from . import ags, deep_linking, nrps  # noqa: F401
