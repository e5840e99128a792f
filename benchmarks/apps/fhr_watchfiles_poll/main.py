"""The benchmark page with FastHotReload, but watchfiles' own polling where ours would run (figure 8's baseline).

Under WATCHFILES_FORCE_POLLING, awatch then polls by itself (notify's PollWatcher), as it did before ours.
"""

from __future__ import annotations

from page import create_app

import fast_hot_reload._files.watch
from fast_hot_reload import FastHotReload

MESSAGE = "python-v1"

fast_hot_reload._files.watch.polling_forced = lambda: False  # a benchmark-only switch: what forced polling was

app = create_app(MESSAGE, setup=FastHotReload)
