"""gunicorn settings read from the working directory (gunicorn loads ./gunicorn.conf.py by itself).

Each worker, once it has loaded the app, moves every object the app made at start-up (modules, mappers,
compiled templates, the key ring: about 200,000 objects) out of the garbage collector's reach with gc.freeze().
A full collection otherwise walks them all, about 100 ms on the two-core machine (docs/performance.md#gc), and
the request that sets it off waits that long; after the freeze a collection walks only what requests made.
The objects frozen live as long as the worker does anyway.
"""

from __future__ import annotations

import gc
from typing import Any


def post_worker_init(worker: Any) -> None:
    gc.collect()
    gc.freeze()
