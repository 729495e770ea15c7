"""The chat kit: the router, the button codec, the actor."""
