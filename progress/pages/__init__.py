"""Player pages (home, leaderboard, profile) and the staff dashboard: views that combine selectors,
and the SVG charts they draw. Template tags for other apps' pages live in `progress.templatetags`."""
