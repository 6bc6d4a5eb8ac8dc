"""Every path into a JSON document, and a random mutation at one: the fuzz tests of real payloads."""

from hypothesis import strategies as st


def paths(value, prefix=()):
    """The path of `value` itself, then of everything inside it (keys of objects, indexes of lists)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def mutate(draw, payload, rounds: int, values) -> None:
    """`rounds` times, delete the value at a random path (from an object) or replace it by one of `values`
    (a hypothesis strategy), in place; `draw` is a composite strategy's."""
    for _ in range(rounds):
        found = [path for path in paths(payload) if path]
        if not found:
            return
        path = draw(st.sampled_from(found))
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
