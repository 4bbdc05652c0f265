"""Inventory: the catalog, lots and stock, the ledger, levels, transfers, the offline form."""
