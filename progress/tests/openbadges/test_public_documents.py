"""The public Open Badges URLs (/ob/): the Assertion, BadgeClass and issuer Profile of an award, what a
secret badge shows, and every URL that must answer 404 or 405 as JSON."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC

import pytest
from django.utils import timezone

from progress.models import Badge, UserBadge
from progress.openbadges import documents
from progress.tests.openbadges.conftest import SITE

pytestmark = pytest.mark.django_db

CONTEXT = "https://w3id.org/openbadges/v2"


def _get(client, url: str):
    return client.get(url.removeprefix(SITE))


def test_assertion_is_an_open_badges_2_assertion_at_its_own_url(client, award):
    url = f"{SITE}/ob/assertions/{award.assertion_id}"
    response = _get(client, url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    salt = award.assertion_id.hex
    assert body == {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": url,
        "recipient": {
            "type": "email",
            "hashed": True,
            "salt": salt,
            # The address as the player wrote it, lower-cased, then the salt.
            "identity": "sha256$" + hashlib.sha256(f"alice@example.com{salt}".encode()).hexdigest(),
        },
        "badge": f"{SITE}/ob/badges/{award.badge_id}",
        "issuedOn": award.awarded_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "verification": {"type": "hosted"},
        "evidence": [
            {
                "id": f"{SITE}/challenges/hello-first-steps-alice/",
                "narrative": "Earned on Quest Academy by passing the challenge \u201cHello, world\u201d, "
                "meeting its condition: Earn 10 XP in total.",
            }
        ],
    }
    assert "alice@example.com" not in response.content.decode().lower()


def test_assertion_takes_one_query_with_its_attempt_another(client, award, django_assert_num_queries):
    with django_assert_num_queries(2):
        assert client.get(f"/ob/assertions/{award.assertion_id}").status_code == 200


def test_badge_class_and_issuer_are_served_at_the_urls_the_assertion_names(client, award):
    assertion = client.get(f"/ob/assertions/{award.assertion_id}").json()
    badge_class = _get(client, assertion["badge"]).json()
    assert badge_class == {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": assertion["badge"],
        "name": "First Steps",
        "description": "Your first passed challenge.",
        "image": f"{assertion['badge']}.png",
        "criteria": {"narrative": "Earn 10 XP in total."},
        "issuer": f"{SITE}/ob/issuer",
    }
    assert _get(client, badge_class["issuer"]).json() == {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": f"{SITE}/ob/issuer",
        "name": "Quest Academy",
        "url": "https://academy.example.com",
        "email": "badges@academy.example.com",
    }
    image = _get(client, badge_class["image"])
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_a_badge_without_description_describes_itself_by_its_condition(client, make_award):
    award = make_award()
    Badge.objects.filter(pk=award.badge_id).update(description="")
    assert client.get(f"/ob/badges/{award.badge_id}").json()["description"] == "Earn 10 XP in total."


def test_evidence_without_an_attempt_names_the_condition(client, award):
    UserBadge.objects.filter(pk=award.pk).update(metadata={"source": "recalculation"})
    evidence = client.get(f"/ob/assertions/{award.assertion_id}").json()["evidence"]
    assert evidence == [{"narrative": "Earned on Quest Academy, meeting its condition: Earn 10 XP in total."}]


def test_a_secret_badge_is_shared_whole_under_the_assertion_but_never_says_how_it_is_earned(
    client, make_award
):
    award = make_award(secret=True, name="Night Owl")
    assertion = client.get(f"/ob/assertions/{award.assertion_id}").json()
    badge_url = f"{SITE}/ob/assertions/{award.assertion_id}/badge"
    assert assertion["badge"] == badge_url
    assert assertion["evidence"][0]["narrative"] == (
        "Earned on Quest Academy by passing the challenge \u201cHello, world\u201d."
    )
    badge_class = _get(client, badge_url).json()
    assert badge_class["name"] == "Night Owl"
    assert badge_class["criteria"] == {"narrative": documents.SECRET_CRITERIA}
    assert badge_class["description"] == documents.SECRET_CRITERIA
    assert "XP" not in str(badge_class)
    assert _get(client, badge_class["image"])["Content-Type"] == "image/png"
    # The catalogue shows a secret badge's id to everyone: by that id, it is not found.
    for path in (f"/ob/badges/{award.badge_id}", f"/ob/badges/{award.badge_id}.png"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "badge_not_found"


def test_a_public_badge_class_is_shared_by_every_holder(client, make_award, other_user):
    first = make_award()
    other_user.email_verified_at = timezone.now()
    other_user.save()
    second = make_award(user=other_user, badge=first.badge)
    badges = {client.get(f"/ob/assertions/{award.assertion_id}").json()["badge"] for award in (first, second)}
    assert badges == {f"{SITE}/ob/badges/{first.badge_id}"}


def test_an_inactive_badge_is_served_while_someone_holds_it(client, award):
    Badge.objects.filter(pk=award.badge_id).update(is_active=False)
    assert client.get(f"/ob/badges/{award.badge_id}").status_code == 200
    UserBadge.objects.filter(pk=award.pk).update(revoked_at=timezone.now(), revocation_reason="Mistake")
    assert client.get(f"/ob/badges/{award.badge_id}").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/ob/assertions/{random}",
        "/ob/assertions/{random}.png",
        "/ob/assertions/{random}/badge",
        "/ob/assertions/not-a-uuid",
        "/ob/assertions/{upper}",  # one spelling per award: the canonical, lower-case one
        "/ob/assertions/{award_pk}",  # the award's primary key is not its assertion id
    ],
)
def test_an_unknown_or_guessed_assertion_is_404_json(client, award, path):
    path = path.format(random=uuid.uuid4(), upper=str(award.assertion_id).upper(), award_pk=award.pk)
    response = client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "No such badge assertion.", "code": "assertion_not_found"}


def test_a_player_whose_email_is_not_verified_shares_nothing(client, award, verified):
    verified.email_verified_at = None
    verified.save()
    assert client.get(f"/ob/assertions/{award.assertion_id}").status_code == 404
    assert client.get(f"/ob/assertions/{award.assertion_id}.png").status_code == 404


def test_a_deactivated_player_shares_nothing(client, award, verified):
    verified.is_active = False
    verified.save()
    assert client.get(f"/ob/assertions/{award.assertion_id}").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_documents_are_read_only(client, award, method):
    response = getattr(client, method)(f"/ob/assertions/{award.assertion_id}")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["code"] == "method_not_allowed"


def test_the_badge_image_is_the_same_bytes_each_time_and_differs_per_badge(client, make_award):
    first, second = make_award(), make_award(name="Second Wind")
    images = [client.get(f"/ob/badges/{award.badge_id}.png").content for award in (first, first, second)]
    assert images[0] == images[1] != images[2]
