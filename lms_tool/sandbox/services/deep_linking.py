"""Sandbox platform: deep_linking endpoints (routes registered with server.route)."""
