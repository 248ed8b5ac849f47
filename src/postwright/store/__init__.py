"""Persistence: the only package that imports SQLAlchemy. Dialect differences live here only."""
