"""Playing together: who follows whom. The friends boards read it (progress.boards.selectors.friends)."""
