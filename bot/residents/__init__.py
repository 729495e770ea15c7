"""The residents' conversation: questions, answers, browsing, languages, subscriptions."""
