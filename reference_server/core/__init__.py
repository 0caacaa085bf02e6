"""Protocol core: the spec's rules as pure logic, with the clock and randomness injected."""
