def pytest_configure(config):
    config.addinivalue_line("markers", "requirement: the requirement a case judges")
