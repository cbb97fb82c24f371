"""Extra ``byzpgd`` sub-commands: every module here defines ``register(subparsers)``, which adds
its parser(s) with ``set_defaults(func=...)``; ``func(namespace) -> int`` is the exit code.
byzpgd.cli discovers them, so a new command needs no edit of cli.py."""
