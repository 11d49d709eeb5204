"""`/api/v1/admin/catalog`: challenges, badges and tags as one file (export, import, its JSON Schema).

Staff only: the export holds drafts and the grading answers."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from challenges.models import XP_MAX, XP_MIN, Challenge
from progress.catalog.schema import VERSION, catalog_schema
from progress.catalog.selectors import catalog_export
from progress.catalog.services import catalog_import


class CatalogChallengeSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    xp = serializers.IntegerField(min_value=XP_MIN, max_value=XP_MAX)
    difficulty = serializers.ChoiceField(choices=Challenge.Difficulty.choices, required=False)
    pass_score = serializers.IntegerField(min_value=0, max_value=100, required=False)
    grading = serializers.JSONField(required=False, help_text="The grading config, answers included.")
    published = serializers.BooleanField(required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False, help_text="Tag slugs.")


class CatalogBadgeSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    icon = serializers.CharField(required=False, allow_blank=True)
    condition = serializers.JSONField()
    secret = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class CatalogTagSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class CatalogSerializer(serializers.Serializer):
    """A catalog file; `GET /api/v1/admin/catalog/schema` is its exact JSON Schema."""

    version = serializers.IntegerField(min_value=VERSION, max_value=VERSION)
    challenges = CatalogChallengeSerializer(many=True, required=False)
    badges = CatalogBadgeSerializer(many=True, required=False)
    tags = CatalogTagSerializer(many=True, required=False)


# Built with inline_serializer: two of their fields are called `fields` and `errors`, names a
# Serializer class keeps for itself. Each is built once: the schema names one class per component.
_CHANGES = inline_serializer(
    "CatalogChange",
    many=True,
    fields={
        "kind": serializers.ChoiceField(choices=["challenge", "badge", "tag"]),
        "slug": serializers.CharField(),
        "action": serializers.ChoiceField(choices=["created", "updated"]),
        "fields": serializers.DictField(
            child=serializers.ListField(
                child=serializers.JSONField(allow_null=True), min_length=2, max_length=2
            ),
            help_text="Each changed field: [before, after] (before is null for a created item).",
        ),
    },
)
_ERRORS = inline_serializer(
    "CatalogError",
    many=True,
    fields={
        "path": serializers.CharField(help_text="Where in the file, e.g. challenges[3].xp ($: the file)."),
        "message": serializers.CharField(),
    },
)


def _result_fields(*, required: bool = True) -> dict[str, serializers.Field]:
    # A fresh dict each time: the serializer class inline_serializer builds takes its fields out of it.
    return {
        "dry_run": serializers.BooleanField(required=required),
        "created": serializers.IntegerField(required=required),
        "updated": serializers.IntegerField(required=required),
        "unchanged": serializers.IntegerField(required=required),
        "changes": _CHANGES,
        "errors": _ERRORS,
    }


CATALOG_IMPORT_RESULT = inline_serializer("CatalogImportResult", fields=_result_fields())
# Every 400 of the import has `detail` and `code`; a refused catalog also has the whole result.
CATALOG_IMPORT_REJECTED = inline_serializer(
    "CatalogImportRejected",
    fields={
        **_result_fields(required=False),
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
    },
)


class ImportParamsSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        default=False, help_text="true: report what would change and write nothing."
    )


class CatalogViewSet(viewsets.GenericViewSet):
    permission_classes = [permissions.IsAdminUser]
    serializer_class = CatalogSerializer
    pagination_class = None

    @extend_schema(responses={200: CatalogSerializer})
    @action(detail=False, methods=["get"])
    def export(self, request):
        """Every challenge (drafts and grading answers included), badge and tag, in slug order."""
        return Response(catalog_export())

    @extend_schema(
        parameters=[ImportParamsSerializer],
        request=CatalogSerializer,
        responses={
            200: CATALOG_IMPORT_RESULT,
            400: OpenApiResponse(
                CATALOG_IMPORT_REJECTED,
                description="Any error: nothing was written; `errors` lists all.",
            ),
        },
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_(self, request):
        """Upsert challenges, badges and tags by slug, all or nothing; what the file leaves out is kept.

        New items get the models' defaults for fields they leave out; existing ones keep theirs.
        Each change is audited as the admin's would be, and the import as `catalog.import`.
        """
        params = ImportParamsSerializer(data=request.query_params.dict())
        if not params.is_valid():
            refused = {"dry_run": False, "created": 0, "updated": 0, "unchanged": 0, "changes": []}
            errors = [
                {"path": f"?{name}", "message": str(problems[0])} for name, problems in params.errors.items()
            ]
            return self._rejected(
                {**refused, "errors": errors}, "The query parameters are invalid.", "invalid"
            )
        result = catalog_import(
            document=request.data, actor=request.user, dry_run=params.validated_data["dry_run"]
        )
        if result["errors"]:
            return self._rejected(result, "The catalog has errors; nothing was written.", "catalog_invalid")
        return Response(result)

    def _rejected(self, result: dict, detail: str, code: str) -> Response:
        return Response({"detail": detail, "code": code, **result}, status=status.HTTP_400_BAD_REQUEST)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["get"], url_path="schema", url_name="schema")
    def json_schema(self, request):
        """The JSON Schema (draft 2020-12) of a catalog file, for editors and CI checks."""
        return Response(catalog_schema())
