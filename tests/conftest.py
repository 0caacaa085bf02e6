from conformance.tests.harness import isolated_cache  # noqa: F401 - an autouse fixture
