"""The browser fixtures live in tests/browser.py, registered once for the whole suite by tests/conftest.py."""
