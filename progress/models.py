from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone

from progress.badges import conditions
from progress.quests import kinds as quest_kinds

ICON_MAX_EMOJI_CHARS = 16
EVENT_MULTIPLIER_MIN, EVENT_MULTIPLIER_MAX = Decimal("1.00"), Decimal("5.00")
QUEST_REWARD_MIN, QUEST_REWARD_MAX = 1, 10_000


def validate_condition(value) -> None:
    try:
        conditions.validate(value)
    except conditions.ConditionError as exc:
        raise ValidationError(str(exc))


def validate_icon(value: str) -> None:
    """An http(s) URL, or a short emoji (no letters, digits or spaces, so no stray text)."""
    if not value:
        return
    if value.startswith(("http://", "https://")):
        URLValidator(schemes=["http", "https"])(value)
        return
    stray_text = any(ch.isspace() or (ch.isascii() and ch.isalnum()) for ch in value)
    if len(value) > ICON_MAX_EMOJI_CHARS or stray_text:
        raise ValidationError("The icon must be an emoji or an http(s) URL.")


class Badge(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    condition = models.JSONField(
        validators=[validate_condition],
        # The types are listed where staff edit badges (admin form, API schema), not here: a new
        # condition type must need no migration.
        help_text='A JSON object with a "type" and its settings, e.g. {"type": "xp", "threshold": 1000}.',
    )
    icon = models.CharField(max_length=500, blank=True, validators=[validate_icon], help_text="Emoji or URL.")
    is_active = models.BooleanField(default=True)
    secret = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Until a player earns it, they see only 'Secret badge': no name, description or condition.",
    )
    # Rarity: the share of players with any XP who hold it, in percent with one decimal. Written by
    # the `badge_rarity_refresh` job (progress.badges.rarity), never counted per request.
    earned_by_percent = models.FloatField(default=0, db_default=0, editable=False)
    rarity_refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def condition_type(self) -> str:
        return self.condition.get("type", "") if isinstance(self.condition, dict) else ""

    @property
    def condition_description(self) -> str:
        return conditions.describe(self.condition)


class UserBadgeQuerySet(models.QuerySet["UserBadge"]):
    def held(self) -> UserBadgeQuerySet:
        """The awards a player holds: every award staff have not revoked."""
        return self.filter(revoked_at__isnull=True)


class UserBadge(models.Model):
    """One award of a badge to a player. Staff may revoke it (progress.openbadges): the row stays, with
    who revoked it, when and why, and keeps the rules from awarding the badge again."""

    REVOCATION_REASON_MAX_LENGTH = 500

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="badges")
    # PROTECT: an awarded badge is deactivated, not deleted (a revoked award is history too).
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="awards")
    awarded_at = models.DateTimeField(default=timezone.now)
    metadata = models.JSONField(default=dict, blank=True)
    # The public Open Badges assertion's name (/ob/assertions/<assertion_id>): random, so unguessable,
    # and not the primary key, which staff endpoints use.
    assertion_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revocation_reason = models.TextField(
        blank=True, default="", db_default="", max_length=REVOCATION_REASON_MAX_LENGTH, editable=False
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects = UserBadgeQuerySet.as_manager()

    class Meta:
        ordering = ["-awarded_at"]
        constraints = [
            # The guarantee behind "at most once per player", even for two concurrent award jobs.
            models.UniqueConstraint(fields=["user", "badge"], name="progress_userbadge_user_badge_unique"),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | ~models.Q(revocation_reason=""),
                name="progress_userbadge_revocation_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["awarded_at"], name="userbadge_awarded_at")]

    def __str__(self) -> str:
        return f"{self.user_id} · {self.badge_id}"


class XpEntry(models.Model):
    """One change of a player's XP. Append-only: PostgreSQL (and SQLite) refuse UPDATE and DELETE.

    A player's `total_xp` and `level` are a projection of their entries: every writer (the award
    job, grants, recalculation) inserts the entries and moves the total in one transaction.
    """

    class Kind(models.TextChoices):
        ATTEMPT = "attempt", "Attempt"
        GRANT = "grant", "Staff grant"
        REVOKE = "revoke", "Staff revocation"
        RECALC = "recalc", "Recalculation"
        EVENT_BONUS = "event_bonus", "Event bonus"
        QUEST = "quest", "Daily quest"

    STAFF_KINDS = (Kind.GRANT, Kind.REVOKE)
    REASON_MAX_LENGTH = 500

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT throughout: an entry is history, and the trigger refuses the DELETE a cascade would
    # issue. Erasing a player is an anonymisation of the user row, not a deletion of their ledger.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="xp_entries", db_index=False
    )
    amount = models.IntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    attempt = models.ForeignKey(
        "challenges.Attempt", on_delete=models.PROTECT, null=True, blank=True, related_name="xp_entries"
    )
    run_id = models.UUIDField(null=True, blank=True, help_text="The recalculation run, for recalc entries.")
    # A replayed writer inserts nothing twice: `attempt:<id>`, `grant:<id>`, `recalc:<run>:<user>`.
    idempotency_key = models.CharField(max_length=200, unique=True)
    reason = models.TextField(blank=True, max_length=REASON_MAX_LENGTH)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="xp_entries_given",
    )
    explanation = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The event an award (and its bonus) counted for, decided by the award job when it paid: an
    # event's board sums exactly these entries. PROTECT: an event that paid is history.
    event = models.ForeignKey(
        "progress.Event",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="xp_entries",
        db_index=False,
    )
    # The daily quest a `quest` entry rewards (its day is in the idempotency key and the explanation).
    quest = models.ForeignKey(
        "progress.Quest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="xp_entries",
        db_index=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "XP entry"
        verbose_name_plural = "XP entries"
        indexes = [
            # A player's history, newest first; also serves every per-player sum.
            models.Index(fields=["user", "-created_at", "-id"], name="xpentry_user_recent"),
            # Windowed leaderboards sum the entries of a week or a month.
            models.Index(fields=["created_at"], name="xpentry_created_at"),
            # An event's board: its entries by player. Partial, so most entries pay nothing for it.
            models.Index(
                fields=["event", "user"], name="xpentry_event", condition=models.Q(event__isnull=False)
            ),
            # "Has this quest ever paid?" (a quest that has is deactivated, not deleted).
            models.Index(fields=["quest"], name="xpentry_quest", condition=models.Q(quest__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="progress_xpentry_amount_not_0"),
            models.CheckConstraint(
                condition=models.Q(kind="attempt", attempt__isnull=False, amount__gt=0)
                | models.Q(kind="grant", amount__gt=0)
                | models.Q(kind="revoke", amount__lt=0)
                | models.Q(kind="recalc", run_id__isnull=False)
                | models.Q(kind="event_bonus", attempt__isnull=False, event__isnull=False, amount__gt=0)
                | models.Q(kind="quest", quest__isnull=False, amount__gt=0),
                name="progress_xpentry_kind_fits",
            ),
            models.CheckConstraint(
                condition=(models.Q(event__isnull=True) | models.Q(kind__in=["attempt", "event_bonus"]))
                & (models.Q(quest__isnull=True) | models.Q(kind="quest")),
                name="progress_xpentry_links_fit",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=["grant", "revoke"])
                | (~models.Q(reason="") & models.Q(actor__isnull=False)),
                name="progress_xpentry_staff_kind_has_reason_and_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.amount:+d} ({self.kind})"


class Follow(models.Model):
    """A player following another: their friends board is themselves and everyone they follow."""

    MAX_FOLLOWING = 1000

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    follower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following")
    followed = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Its index serves "whom do I follow", newest first via created_at below.
            models.UniqueConstraint(fields=["follower", "followed"], name="progress_follow_once"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followed")), name="progress_follow_not_self"
            ),
        ]
        indexes = [
            models.Index(fields=["follower", "-created_at", "-id"], name="follow_follower_recent"),
            models.Index(fields=["followed", "-created_at", "-id"], name="follow_followed_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followed_id}"


class Notification(models.Model):
    """Something worth telling a player (a level-up, a badge, a staff grant), kept until they read it.

    Written in the same transaction as the change it reports, so it exists exactly when that change
    does; pushed live once that transaction commits (`progress.notifications`). The id orders one
    player's notifications as they committed: every writer holds the player's row lock (the award
    job, grants), so a socket that reconnects asks for what came after the last id it saw.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    # One of `progress.notifications.messages.TYPES` (not `choices`: a new type needs no migration).
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # A player's inbox, newest first, and what came after an id (resume).
            models.Index(fields=["user", "-id"], name="notification_user_recent"),
            # The bell's count on every page.
            models.Index(
                fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_user_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.type} #{self.pk}"


class Event(models.Model):
    """A time-limited event: attempts on its challenges graded inside [starts_at, ends_at) earn
    (xp_multiplier - 1) x their paid XP on top, and rank on the event's own board, which is frozen into
    `EventStanding` rows once it has ended (progress.events)."""

    class State(models.TextChoices):
        UPCOMING = "upcoming", "Upcoming"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="Exclusive: an attempt graded at this instant no longer counts.")
    xp_multiplier = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(EVENT_MULTIPLIER_MIN), MaxValueValidator(EVENT_MULTIPLIER_MAX)],
        help_text="1.00-5.00: an attempt that counts earns (multiplier - 1) x its XP as a bonus.",
    )
    challenges = models.ManyToManyField("challenges.Challenge", related_name="events")
    # Set once, by the freeze (progress.events.freezing), in the transaction that writes the standings.
    frozen_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at", "name"]
        indexes = [
            # Listing by state, and the sweep for ended events not yet frozen.
            models.Index(fields=["ends_at"], name="event_ends_at"),
            models.Index(fields=["starts_at"], name="event_starts_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="progress_event_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    xp_multiplier__gte=EVENT_MULTIPLIER_MIN, xp_multiplier__lte=EVENT_MULTIPLIER_MAX
                ),
                name="progress_event_multiplier_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def state_at(self, now) -> str:
        if now < self.starts_at:
            return self.State.UPCOMING
        return self.State.LIVE if now < self.ends_at else self.State.ENDED

    @property
    def state(self) -> str:
        return self.state_at(timezone.now())

    @property
    def is_final(self) -> bool:
        return self.frozen_at is not None


class EventStanding(models.Model):
    """One player's row of an event's final standings: written once, when the event is frozen, and
    never changed afterwards, whatever happens to the ledger, the challenges or the player's XP."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="standings")
    # PROTECT as the ledger: a player with standings has event XP entries and is anonymised, never deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="event_standings"
    )
    rank = models.PositiveIntegerField(help_text="Competition rank (1, 2, 2, 4) among the players shown.")
    # The row's place in the board's order when it froze (most XP first, ties by username): frozen
    # too, so that a later rename cannot reorder a tie.
    position = models.PositiveIntegerField()
    xp = models.PositiveIntegerField(help_text="XP earned in the event: its attempts' paid XP and bonuses.")
    level = models.PositiveIntegerField(help_text="The player's level when the event was frozen.")

    class Meta:
        ordering = ["event", "position"]
        constraints = [
            # Two racing freezers cannot write one player twice (the event row lock already serialises them).
            models.UniqueConstraint(fields=["event", "user"], name="progress_eventstanding_once"),
            # Its index serves the board's pages in order.
            models.UniqueConstraint(fields=["event", "position"], name="progress_eventstanding_position"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} #{self.rank} {self.user_id}"


class Quest(models.Model):
    """A daily quest: reach its target within one local day (the player's zone) and earn `reward_xp`,
    once per player and day. Its `kind` and `params` are one class of progress.quests.kinds."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    # The kinds are listed where staff edit quests (admin form, API schema), not here: a new kind
    # needs no migration.
    kind = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    reward_xp = models.IntegerField(
        validators=[MinValueValidator(QUEST_REWARD_MIN), MaxValueValidator(QUEST_REWARD_MAX)]
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reward_xp__gte=QUEST_REWARD_MIN, reward_xp__lte=QUEST_REWARD_MAX),
                name="progress_quest_reward_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def summary(self) -> str:
        """The rule in words ("Pass 3 challenges today.")."""
        return quest_kinds.describe(self.kind, self.params)


class WebhookEndpoint(models.Model):
    """A URL staff registered to receive the outbox's events of some types (progress.webhooks).

    The secret signs every delivery (Standard Webhooks, HMAC-SHA256) and so is kept as it is; the API
    shows it once, when the endpoint is created. `active` goes off by staff or after
    `WEBHOOK_DISABLE_AFTER` failed attempts in a row, with `disabled_reason` saying why.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.CharField(max_length=2000)
    # Event types (progress.webhooks.events.TYPES); JSON rather than an array: the quickstart is SQLite.
    events = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url


class OutboxEvent(models.Model):
    """Something that happened, written in the same transaction as the change it reports (a rolled-back
    award leaves none) and delivered from here to every endpoint subscribed to its type.

    Its id is the deliveries' `webhook-id` (`msg_<hex>`): the same on every retry and redelivery, so a
    receiver deduplicates by it. `dispatched_at` is set once its deliveries exist.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_undispatched",
            ),
            # `manage.py webhooks_prune` walks the dispatched ones from the oldest.
            models.Index(
                fields=["created_at"],
                condition=models.Q(dispatched_at__isnull=False),
                name="outbox_dispatched",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"

    @property
    def message_id(self) -> str:
        return f"msg_{self.pk.hex}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: pending until an attempt gets a 2xx (succeeded) or the retry schedule
    runs out (failed). While an attempt is in flight `next_attempt_at` is its lease's end: a worker
    killed mid-attempt leaves the delivery due again then, and it is sent again with the same id."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Failed attempts since it was (re)queued: which delay of WEBHOOK_RETRY_SCHEDULE comes next.
    failed_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt, with what came back and when the next one is due."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField()
    succeeded = models.BooleanField()
    response_status = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.FloatField()
    error = models.TextField(blank=True)
    response_body = models.TextField(blank=True)  # its first characters, for the log
    next_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["delivery", "-started_at"], name="webhook_attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} {'ok' if self.succeeded else 'failed'} {self.response_status or ''}"
