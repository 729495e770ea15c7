"""The Telegram layer (python-telegram-bot 22). The core in ``bot/`` never imports it.

``app.py`` builds and runs the ``Application`` and registers every handler and job
(``register``); ``frontend.py`` turns an update into one call of the core router;
``replies.py`` and ``commands.py`` send replies and set command menus; ``context.py`` is the
``CallbackContext`` carrying the update's actor.
"""
