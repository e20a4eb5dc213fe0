"""Helpers and the fixture notebook for tests/test_browser.py (JupyterLab in Chromium)."""
