"""What staff see of the game as a whole (the dashboard and the admin API's statistics)."""
