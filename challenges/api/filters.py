from __future__ import annotations

import django_filters
from django.db.models import Q

from challenges.models import Attempt, Challenge


class ChallengeFilter(django_filters.FilterSet):
    difficulty = django_filters.ChoiceFilter(choices=Challenge.Difficulty.choices)
    tag = django_filters.CharFilter(method="filter_tags", help_text="Tag slug; repeat for any of several.")
    search = django_filters.CharFilter(method="filter_search", max_length=100)
    ordering = django_filters.OrderingFilter(
        fields=(("xp", "xp"), ("created_at", "created_at"), ("difficulty_rank", "difficulty")),
    )

    class Meta:
        model = Challenge
        fields = ["difficulty", "published"]

    def filter_tags(self, queryset, name, value):
        slugs = [slug for slug in self.data.getlist("tag") if slug]
        return queryset.filter(tags__slug__in=slugs).distinct() if slugs else queryset

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(description__icontains=value))


class AttemptFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Attempt.Status.choices)
    challenge = django_filters.UUIDFilter(field_name="challenge_id")

    class Meta:
        model = Attempt
        fields = ["status", "challenge"]
