"""HTTP surface of the gateway: thin routes over injected services."""
