"""The event pool (§5, §7.1): reports registered from the six sources (`registration`, `events`, `intake`),
where they are (`location`), an event as its readers see it (`reading`), photos (`photos`), duplicates
across channels (`duplicates`) and 留言/催办 (`comments`)."""
