"""急难愁盼 tickets: the 我要反映 dialog, follow-up, workflow, deadlines, notices, media, console and reports."""
