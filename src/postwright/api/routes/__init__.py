"""One router per resource; prefixes and tags are set once in `api.app`."""
