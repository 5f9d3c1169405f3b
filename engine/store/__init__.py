"""Where the engine keeps things: the tables (`models`), the database and its schema migrations
(`db`, `migrations/`, Alembic), one unit of work per request or job (`uow`) and a simulated clock's saved
time (`clock_state`). Imports only engine.core."""
