"""Open Badges 2.0 with hosted verification: every badge award is a public assertion.

The documents (`documents.py`, JSON-LD in the `https://w3id.org/openbadges/v2` context) and where
they live (`views.py`, mounted at `/ob/`, outside the versioned API: an assertion's URL is its
identity and must outlive API versions):

- `/ob/issuer`: the issuer `Profile` (settings `OB_ISSUER_NAME`, `OB_ISSUER_URL`, `OB_ISSUER_EMAIL`).
- `/ob/assertions/<assertion_id>`: the `Assertion` of one award; `UserBadge.assertion_id` is random
  (not the award's primary key), so the URL cannot be guessed. `.png` after it: the badge image
  baked with that assertion (`baking.py`).
- `/ob/badges/<badge_id>` and `.png`: the `BadgeClass` of a badge that is not secret, and its image.
- `/ob/assertions/<assertion_id>/badge` and `.png`: the `BadgeClass` of a secret badge, reachable only
  from an assertion: whoever holds a secret badge may share it (name, description, image), but the
  catalogue's badge ids are public, so a URL built from one must not reveal a secret badge, and its
  criteria never say how it is earned.

Every URL is absolute on `SITE_URL`. A revoked award answers 410 `{"revoked": true,
"revocationReason": ...}` at its assertion, its baked image and (secret badges) its BadgeClass. An
award whose player is no longer active, or whose email is not verified, answers 404: the recipient of
an assertion is the player's email address (hashed and salted), which must be theirs.
"""
