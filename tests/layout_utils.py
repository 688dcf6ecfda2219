"""Walking a Dash layout tree in unit tests."""


def walk(node):
    """Every component under `node` (children lists and single children)."""
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, (list, tuple)):
        for c in children:
            yield from walk(c)
    elif children is not None and hasattr(children, "to_plotly_json"):
        yield from walk(children)


def find(layout, cid):
    """The component with id `cid`; KeyError when absent."""
    for n in walk(layout):
        if getattr(n, "id", None) == cid:
            return n
    raise KeyError(cid)
