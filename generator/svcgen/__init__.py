"""svcgen: generate explicit, typed Python services from a service spec."""
