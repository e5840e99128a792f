"""The dev runner, `fast-hot-reload main:app`: one uvicorn server, each Python save swapped in place (hmr).

cli parses the options and picks the mode; loader imports the app through hmr and reruns what changed;
serve watches, reruns and swaps; dispatch routes connections to the current app and retires the old one;
lifespans drives each app's lifespan by hand; tabs tells the pages; restart is the fallback to a new process.
"""
