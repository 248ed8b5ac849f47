"""Pure rules of postwright: no I/O, no framework imports, nothing else of the project."""
