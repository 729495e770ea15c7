"""The one error of the staff side: the directory, onboarding and the status records raise it."""


class StaffError(ValueError):
    """A refused staff operation; the message says what is wrong."""
