def pytest_configure(config):
    config.addinivalue_line("markers", "requirement(id, level, rationale): a conformance case")
    config.addinivalue_line("markers", "runs_beside: a case that mostly waits")
    config.addinivalue_line("markers", "runs_alone: a case that nothing may run beside")
