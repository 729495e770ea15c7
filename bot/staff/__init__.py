"""Staff: the directory, the status desk and loop, working days, the 7.16 report."""
