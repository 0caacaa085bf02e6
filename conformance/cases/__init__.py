"""The cases: one module per section of the spec's requirements (h2spec style), named after them."""
