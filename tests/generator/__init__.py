"""Tests of the svcgen generator: spec errors, goldens, writer, CLI, new/add-*, examples."""
