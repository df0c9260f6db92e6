"""The gunicorn settings the README's deployment runs with (./gunicorn.conf.py)."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path


def test_each_worker_freezes_what_the_app_made_at_start_up() -> None:
    spec = importlib.util.spec_from_file_location("gunicorn_conf", Path(__file__).parents[1] / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    assert gc.get_freeze_count() == 0
    try:
        conf.post_worker_init(object())
        # Everything alive when the worker had loaded the app is out of the collector's full passes.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
