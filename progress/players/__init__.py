"""One player's progress as players see it: the progress endpoint and the profile page's figures."""
