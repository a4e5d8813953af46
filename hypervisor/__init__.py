"""The hypervisor layer: our own model of hosts and VMs over libvirt, and nothing about chat."""
