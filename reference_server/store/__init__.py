"""Where state lasts: SQLite, one transaction per decision."""

from reference_server.store.sqlite import Account, Store, Tx

__all__ = ["Account", "Store", "Tx"]
