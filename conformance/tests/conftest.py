from conformance.tests.harness import isolated_cache  # noqa: F401 - an autouse fixture


def pytest_configure(config):
    config.addinivalue_line("markers", "requirement: the requirement a case judges")
