"""Staff, the status loop and the 7.16 report."""
