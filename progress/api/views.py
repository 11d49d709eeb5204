from __future__ import annotations

import uuid
from functools import partial
from typing import cast

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from challenges.api.views import IsStaffOrReadOnly
from challenges.selectors import tag_exists
from progress.api import serializers as s
from progress.badges import selectors as badge_selectors
from progress.badges import services as badge_services
from progress.boards import selectors as boards
from progress.boards.ranks import Page
from progress.ledger import selectors as ledger_selectors
from progress.live.tickets import ticket_issue
from progress.notifications import selectors as notification_selectors
from progress.notifications.services import notifications_mark_read
from progress.players.selectors import player_visible, user_progress
from progress.social import selectors as social_selectors
from progress.social import services as social_services
from skillquest.api import CountedPageNumberPagination
from skillquest.cache import RecentPages
from skillquest.errors import NotFound
from skillquest.http_cache import shareable
from skillquest.openapi import errors, staff_or_player_crud
from skillquest.replicas import ReplicaReads
from skillquest.throttling import ThrottlesInOneCall


def parse_user_id(pk: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(pk))
    except ValueError:
        raise NotFound("User not found.", code="user_not_found")


class UserViewSet(ReplicaReads, ThrottlesInOneCall, viewsets.GenericViewSet):
    """Public progress of any player: no private fields (email, solutions) are exposed."""

    replica_actions = frozenset({"progress", "xp_history", "following", "followers", "badges"})

    permission_classes = [permissions.AllowAny]
    serializer_class = s.ProgressSerializer
    # Only gives the schema the type of `{id}` (a UUID); the actions read through selectors.
    queryset = User.objects.none()

    def reads_from_replica(self, request) -> bool:
        """Other players' pages only: a player's own progress is read from the primary, always."""
        own = request.user.is_authenticated and str(request.user.pk) == str(self.kwargs.get("pk"))
        return not own and super().reads_from_replica(request)

    @extend_schema(responses={200: s.ProgressSerializer})
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        viewer = request.user.pk if request.user.is_authenticated else None
        return Response(s.progress_data(user_progress(user_id=parse_user_id(pk), viewer_id=viewer)))

    @extend_schema(responses={200: s.XpHistoryEntrySerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="xp-history", pagination_class=CountedPageNumberPagination)
    def xp_history(self, request, pk=None):
        """Every change of the player's XP, newest first, each with why (`explanation`)."""
        user = player_visible(user_id=parse_user_id(pk))
        paginator = cast(CountedPageNumberPagination, self.paginator)
        page = paginator.paginate_counted(partial(ledger_selectors.xp_history_page, user_id=user.pk), request)
        return paginator.get_paginated_response([s.xp_history_entry_data(entry) for entry in page])

    @extend_schema(
        request=None, responses={201: s.FollowingSerializer, 200: s.FollowingSerializer, **errors(400)}
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def follow(self, request, pk=None):
        """Follow this player (201; 200 if you already do): they join your friends board."""
        user = cast(User, request.user)
        follow, created = social_services.follow_create(follower=user, followed_id=parse_user_id(pk))
        return Response(s.FollowingSerializer(follow).data, status=201 if created else 200)

    @extend_schema(request=None, responses={204: None})
    @follow.mapping.delete
    def unfollow(self, request, pk=None):
        """Stop following this player (204 whether or not you did)."""
        social_services.follow_delete(follower=cast(User, request.user), followed_id=parse_user_id(pk))
        return Response(status=204)

    @extend_schema(responses={200: s.FollowingSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def following(self, request, pk=None):
        """The players this player follows, newest first."""
        user = player_visible(user_id=parse_user_id(pk))
        page = self.paginate_queryset(social_selectors.following(user_id=user.pk))
        return self.get_paginated_response(s.FollowingSerializer(page, many=True).data)

    @extend_schema(responses={200: s.FollowerSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def followers(self, request, pk=None):
        """The players who follow this player, newest first."""
        user = player_visible(user_id=parse_user_id(pk))
        page = self.paginate_queryset(social_selectors.followers(user_id=user.pk))
        return self.get_paginated_response(s.FollowerSerializer(page, many=True).data)

    @extend_schema(responses={200: s.EarnedBadgeSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)  # the whole list, as the schema says
    def badges(self, request, pk=None):
        earned = badge_selectors.user_badges(user_id=parse_user_id(pk))
        return Response(s.EarnedBadgeSerializer(earned, many=True).data)


# Staff also read inactive badges, with their dates: the schema names both shapes (see challenges).
@staff_or_player_crud("BadgeForStaffOrPlayer", staff=s.BadgeStaffSerializer, player=s.BadgeSerializer)
class BadgeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Active badges for everyone, conditions in words; staff also see inactive ones and edit them."""

    permission_classes = [IsStaffOrReadOnly]
    pagination_class = None  # a handful of badges: the whole catalogue in one response

    def get_queryset(self):
        return badge_selectors.badge_list(viewer=self.request.user)

    def get_serializer_class(self):
        user = self.request.user
        if user and user.is_authenticated and user.is_staff:
            return s.BadgeStaffSerializer
        return s.BadgeSerializer

    def get_serializer_context(self):
        # The secret badges a player holds are shown to them whole; to everyone else, as secrets.
        user = self.request.user
        revealed = badge_selectors.earned_badge_ids(user_id=user.pk) if user.is_authenticated else set()
        return {**super().get_serializer_context(), "revealed": revealed}

    def perform_create(self, serializer):
        serializer.instance = badge_services.badge_create(
            actor=cast(User, self.request.user), **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = badge_services.badge_update(
            badge=serializer.instance, actor=cast(User, self.request.user), **serializer.validated_data
        )

    def perform_destroy(self, instance):
        badge_services.badge_delete(badge=instance, actor=cast(User, self.request.user))


class NotificationViewSet(ThrottlesInOneCall, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The signed-in player's notifications (level-ups, badges, grants), newest first."""

    serializer_class = s.NotificationSerializer

    def get_queryset(self):
        user_id = cast(User, self.request.user).pk
        if self.action != "list":
            return notification_selectors.inbox(user_id=user_id)
        # A plain dict: the QueryDict would hand the serializer a list.
        query = s.NotificationQuerySerializer(data=self.request.query_params.dict())
        query.is_valid(raise_exception=True)
        return notification_selectors.inbox(user_id=user_id, unread=query.validated_data["unread"])

    @extend_schema(parameters=[s.NotificationQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=s.NotificationsReadSerializer,
        responses={200: s.NotificationsReadResultSerializer, **errors(404)},
    )
    @action(detail=False, methods=["post"])
    def read(self, request):
        """Mark `ids` (each must be yours: else 404, nothing marked) or `all` as read."""
        body = s.NotificationsReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user_id = cast(User, request.user).pk
        marked = notifications_mark_read(user_id=user_id, ids=body.validated_data.get("ids"))
        unread = notification_selectors.inbox(user_id=user_id, unread=True).count()
        return Response(s.NotificationsReadResultSerializer({"marked": marked, "unread": unread}).data)


class LiveTicketView(ThrottlesInOneCall, APIView):
    """A ticket to open the live socket (`/ws/live/?ticket=...`) without a session cookie.

    It works once, within 30 seconds, for the signed-in player only.
    """

    @extend_schema(request=None, responses={200: s.LiveTicketSerializer, **errors(503)})
    def post(self, request):
        return Response(s.LiveTicketSerializer(ticket_issue(user_id=cast(User, request.user).pk)).data)


class LeaderboardView(ReplicaReads, ThrottlesInOneCall, APIView):
    """Public leaderboards: all-time, this ISO week and this month (UTC), best first, ties by username;
    of every challenge or of one tag's; and for a signed-in player their friends board and the rows
    around them."""

    permission_classes = [permissions.AllowAny]
    # The usernames beside Redis's ranks, and the whole board when it is read from SQL (no Redis, or
    # Redis down); a player's own rows (friends, around=me) after their writes come from the primary.
    replica_actions = frozenset({"get"})
    cached = None
    # Every parameter that shapes an answer; a page is only reused for the same ones.
    QUERY = ("period", "limit", "offset", "board", "tag", "around", "k")

    def initial(self, request, *args, **kwargs):
        self.cached = leaderboard_pages.get(self.page_key(request))
        super().initial(request, *args, **kwargs)

    @classmethod
    def page_key(cls, request) -> str:
        # The parameters as sent (a bad one never reaches the cache: it fails validation first);
        # others are ignored, so junk parameters cannot fill the cache with copies of one page.
        return "|".join(request.query_params.get(name, "") for name in cls.QUERY)

    def check_throttles(self, request):
        # A page from this process's memory costs less than counting it would (a refused request,
        # with its Redis call and 429, costs more than the answer): only pages built afresh count.
        if self.cached is None:
            super().check_throttles(request)

    @extend_schema(
        parameters=[s.LeaderboardQuerySerializer],
        # 401: the friends board and `around=me` need a signed-in player; 404: no such tag.
        responses={200: s.LeaderboardSerializer, **errors(401, 404)},
    )
    def get(self, request):
        data = self.cached
        if data is None:
            # A plain dict, not the QueryDict: DRF would read `?limit=` as "use the default".
            query = s.LeaderboardQuerySerializer(data=request.query_params.dict())
            query.is_valid(raise_exception=True)
            params = query.validated_data
            personal = params["board"] == "friends" or "around" in params
            if personal and not request.user.is_authenticated:
                raise NotAuthenticated("Sign in to see your friends board or the players around you.")
            tag = params.get("tag")
            if tag is not None and not tag_exists(slug=tag):
                raise NotFound("No such tag.", code="tag_not_found")
            data = s.leaderboard_data(self.board(request.user, params, tag))
            if not personal:  # only pages that are the same for everyone are reused
                leaderboard_pages.put(self.page_key(request), data)
        return shareable(request, Response(data))

    @staticmethod
    def board(viewer, params: dict, tag: str | None) -> Page:
        period, k = params["period"], params["k"]
        if params["board"] == "friends":
            around_k = k if "around" in params else None
            return boards.friends(
                viewer, period, tag=tag, limit=params["limit"], offset=params["offset"], around_k=around_k
            )
        if "around" in params:
            return boards.around(viewer, period, tag=tag, k=k)
        return boards.top(period, tag=tag, limit=params["limit"], offset=params["offset"])


leaderboard_pages = RecentPages(seconds=lambda: settings.LEADERBOARD_CACHE_SECONDS)
