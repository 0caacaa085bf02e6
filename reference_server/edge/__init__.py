"""HTTP edge: Starlette endpoints, routing table and the cross-cutting middleware."""
