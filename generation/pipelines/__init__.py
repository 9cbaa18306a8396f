"""One module per model family; each wraps diffusers pipelines behind `VideoFamily`.

Imported lazily by `generation.registry`, so importing this package costs nothing.
"""
