"""The platform's LTI Advantage services (AGS, NRPS, deep-linking return), routes registered on import."""
