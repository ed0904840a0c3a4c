"""Hearth's Qt-free core: everything the product does, drivable from Python, the CLI and tests."""
