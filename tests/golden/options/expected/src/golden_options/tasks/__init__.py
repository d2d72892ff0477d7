"""Task handlers, one module per task in service.yaml."""
