"""The audit log: who on the staff changed what, when, from which request.

A project-level app because every app's staff actions are audited (challenges, badges, XP) and
`challenges` may not depend on `progress`: each app calls `audit.services.audit_record`.
"""
