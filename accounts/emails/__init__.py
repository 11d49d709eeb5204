"""Account emails: password reset and address verification, rendered from templates, sent by the worker.

`services` starts a flow (inside a request: it only schedules), `jobs` re-reads the player and sends,
`messages` renders a message's text and HTML parts, `tokens` signs and checks verification links.
"""
