"""The concept as data: loading and checking data/, the import, the in-memory catalog."""
