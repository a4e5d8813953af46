"""The command engine and its chat front ends: parse, authorize, confirm, act, audit, reply."""
