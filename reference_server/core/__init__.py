"""Protocol core: the rules of CONTRACT.md as pure logic, with the clock and randomness injected."""
