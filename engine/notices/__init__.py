"""Notifications: what the engine tells people (`outbox`, quiet hours by the working calendar) and
each person's messages (`inbox`)."""
