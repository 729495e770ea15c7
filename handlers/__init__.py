"""The Telegram layer (python-telegram-bot 22). The core in ``bot/`` never imports it.

``app.py`` builds and runs the ``Application``; ``frontend.py`` maps updates to the core dialogue.
"""
