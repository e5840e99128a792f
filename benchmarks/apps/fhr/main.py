"""The benchmark page with fast-hot-reload, default options."""

from __future__ import annotations

from page import create_app

from fast_hot_reload import FastHotReload

MESSAGE = "python-v1"

app = create_app(MESSAGE, setup=FastHotReload)  # right after FastAPI(), as our README has it
