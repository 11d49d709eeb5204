from __future__ import annotations

from django import forms

from challenges import grading
from challenges.models import Challenge
from skillquest.errors import InvalidInput


class AttemptSubmitForm(forms.Form):
    """A score for self-reported challenges, an answer for the ones graded on the server."""

    attempt_id = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, challenge: Challenge, **kwargs):
        super().__init__(*args, **kwargs)
        if challenge.needs_solution:
            self.fields["solution"] = forms.CharField(
                label="Your answer", max_length=grading.SOLUTION_MAX_CHARS, strip=False
            )
        else:
            self.fields["score"] = forms.IntegerField(
                label="Your score (0-100)", min_value=0, max_value=100, help_text="How well did it go?"
            )

    def add_domain_error(self, error: InvalidInput) -> None:
        field = getattr(error, "field", None)
        self.add_error(field if field in self.fields else None, error.message)
