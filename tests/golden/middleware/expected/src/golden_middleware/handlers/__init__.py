"""Message handlers, one module per consumer in service.yaml."""
