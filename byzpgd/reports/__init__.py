"""Report output (JSON now; Markdown and HTML come with the reports issue)."""
