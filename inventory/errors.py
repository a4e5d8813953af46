"""What can go wrong in the inventory, as one small tree of exceptions.

InventoryError
├── InventoryCorrupt   a state file cannot be parsed or holds malformed records
└── UnknownVM          (also a LookupError) the VM is not in the inventory
    └── NoBaseline     the VM is known but has no baseline to compare with

Bad arguments (naive datetimes, a VM on a host the refresh does not list) raise ValueError.
"""

from __future__ import annotations


class InventoryError(Exception):
    """Base class of every error the inventory raises on purpose."""


class InventoryCorrupt(InventoryError):
    """A state file is unreadable: names the file and what is wrong with it."""


class UnknownVM(InventoryError, LookupError):
    """The inventory has no VM of that name."""


class NoBaseline(UnknownVM):
    """The VM is known but no baseline was ever taken for it."""
