"""Fault injection for tests: an HTTP proxy that makes the moto server behave like a busy AWS."""
