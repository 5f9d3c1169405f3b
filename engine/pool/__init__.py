"""The event pool (§5, §7.1): reports registered from the six sources (`events`, `intake`), where they
are (`location`), photos (`photos`), duplicates across channels (`duplicates`) and 留言/催办 (`comments`)."""
