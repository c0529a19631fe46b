"""Sandbox platform: nrps endpoints (routes registered with server.route)."""
