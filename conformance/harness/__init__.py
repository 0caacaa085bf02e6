"""The one part of the suite that knows the reference server (a test checks the import graph).

The suite judges any target through its target profile alone; only here does it start the
reference server for a default run (`reference.py`), serve it in-process for the client
scenarios and the benchmark (`embedded.py`), and borrow its certificate issuer (`certs.py`).
"""
