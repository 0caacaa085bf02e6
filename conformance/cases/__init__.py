"""The cases: one module per CONTRACT.md section (h2spec style), named after requirements."""
