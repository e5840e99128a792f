from __future__ import annotations

# watchfiles' DefaultFilter defaults, copied rather than read: a server's reloader may extend that class in place
# before it forks the worker (granian's --reload-ignore-dirs does), and its ignore list is not ours
WATCHFILES_DIRS = (
    "__pycache__", ".git", ".hg", ".svn", ".tox", ".venv", ".idea", "node_modules", ".mypy_cache", ".pytest_cache",
    ".hypothesis",
)  # fmt: skip
WATCHFILES_FILES = (r"\.py[cod]$", r"\.___jb_...___$", r"\.sw.$", "~$", r"^\.\#", r"^\.DS_Store$", r"^flycheck_")
