"""granja's application wiring: the command line, the fleet configuration and the demo farm."""
