"""The live socket: `/ws/live/` pushes a player's messages (`progress.notifications`) to their pages.

- `admission`: who may listen (origin, session cookie or ticket, the connect limit).
- `tickets`: one-use, 30-second tickets for API clients, which have no session cookie.
- `publish`: after a commit, each message to its player's group on the channel layer.
- `layer`: the channel layer (Redis pub/sub), which tells the sockets when it lost Redis for a while.
- `consumers`: the socket itself (join the player's group, resume after the last id seen).
- `routing`: its URL, for `skillquest.asgi`.
"""
