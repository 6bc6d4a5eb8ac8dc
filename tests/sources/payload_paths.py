"""Every path into a JSON document, for the fuzz tests that mutate real payloads at a random place."""


def paths(value, prefix=()):
    """The path of `value` itself, then of everything inside it (keys of objects, indexes of lists)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))
