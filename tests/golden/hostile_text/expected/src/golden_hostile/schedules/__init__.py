"""Schedule arguments, one module per schedule in service.yaml."""
