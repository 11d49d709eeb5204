"""Webhooks: a transactional outbox delivered to staff-registered endpoints, signed per Standard Webhooks.

- `events`: the event types a staff member may subscribe to, and the data each carries. Pure.
- `outbox`: `outbox_record`, called inside the transaction of the change it reports (the award batch,
  a staff grant, the badge evaluator), writes `OutboxEvent` rows only for types an active endpoint
  subscribes to (a cached set), and schedules their delivery once that transaction commits.
- `subscriptions`: the cached set of subscribed types, cleared when an endpoint changes.
- `targets`: which URLs may be called (https, no loopback/private/link-local/metadata addresses).
- `sending`: one signed HTTP attempt to an address checked just before (no redirects, 64 KB caps).
- `delivery`: the pipeline's steps: dispatch (fan-out), claim (lease), record (log, retry, disable).
- `services`: staff's actions: endpoint create/update/delete, a test event, a redelivery (audited).
- `selectors`: endpoints and their delivery log.
- `jobs`: the RQ job that dispatches and delivers whatever is due, and its scheduling.
"""
