"""The inventory: what granja last saw of the farm, each VM's baseline and changes, and the audit log."""
