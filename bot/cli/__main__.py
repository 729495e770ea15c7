"""``python -m bot.cli``: the same as the ``ankommen`` command."""

from bot.cli import main

raise SystemExit(main())
