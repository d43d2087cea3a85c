"""shopflow."""
