"""Sandbox platform: ags endpoints (routes registered with server.route)."""
