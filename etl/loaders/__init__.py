"""One module per official (or template) input format.

Each module exposes:
    detect(path: Path) -> bool          does this file belong to the loader (cheap: name/header sniff)
    load(ctx: BuildContext, paths: list[Path]) -> None
and may expose:
    finalize(ctx: BuildContext) -> None  run once after every loader has loaded

`etl.build.LOADER_ORDER` fixes the order: later loaders rely on earlier tables.
"""
