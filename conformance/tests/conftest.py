def pytest_configure(config):
    config.addinivalue_line("markers", "requirement(id, level, rationale): a conformance case")
