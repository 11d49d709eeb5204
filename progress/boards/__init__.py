"""Leaderboards: all-time, the current ISO week and the current month, from Redis or from SQL.

- `windows`: which board a moment falls in (periods, keys, UTC boundaries).
- `backends`: the two ways to answer, SQL (the truth, the quickstart's board) and Redis sorted sets
  (the fast projection), behind one interface.
- `selectors`: pages and one player's standing, with the database as the fallback when Redis is down.
- `services`: refreshing players' entries after awards, and rebuilding every board.

Who is on a board: active players with more than 0 XP in the period (all-time: `users.total_xp`;
week/month: the sum of `attempts.xp_awarded` whose `awarded_at` falls in the window, UTC).
Ranks are standard competition ranking (1, 2, 2, 4); ties are listed by lower-cased username.
PostgreSQL is the truth; the sorted sets are written with absolute values (ZADD, never ZINCRBY), so
any later write or a rebuild repairs them.
"""
