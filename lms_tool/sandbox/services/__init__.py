"""The platform's LTI Advantage services; each module registers its routes on import."""

from .. import embedding, registration  # noqa: F401 - dynamic registration and the embedding course page
from . import ags, deep_linking, nrps  # noqa: F401
