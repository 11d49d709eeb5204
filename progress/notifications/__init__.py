"""What players are told: the live messages and the inbox of those worth keeping.

- `messages`: the message types and their envelope `{"id", "type", "created_at", "data"}` (adding a
  type is one line there).
- `services`: `notify` (called inside the transaction of the change it reports: stores the kept
  types, pushes every message once that transaction commits) and `notifications_mark_read`.
- `selectors`: the inbox, what came after an id (a socket's resume), the bell's count.

The socket that carries them is `progress.live`.
"""
