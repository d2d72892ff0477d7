"""HTTP route handlers, one module per route in service.yaml."""
