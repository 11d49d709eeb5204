"""Time-limited events: a window, some challenges, an XP multiplier, a board frozen at the end.

- `rules`: which attempts count for an event (`EventTerms`); the bonus itself is
  `progress.awards.rules.event_bonus`, beside the other XP rules.
- `selectors`: events by state, the terms the award job applies to a batch, an event's board (live
  from the ledger, or final from its snapshot), the ended events still to freeze.
- `services`: staff create, edit and delete events, under the rules that keep a result honest.
- `freezing`: the snapshot of the final standings, once and for all.
- `jobs`: the freeze job, scheduled on RQ for the end of the event (plus `EVENT_FREEZE_DELAY_SECONDS`).

The award job decides once, when it pays an attempt, whether the attempt counts for an event: it tags
the attempt's ledger entry with the event and writes the `event_bonus` entry beside it (key
`event_bonus:<attempt id>`), in the same transaction. An event's live board is the sum of its tagged
entries per player; its final board is the snapshot, which nothing writes again.
"""
