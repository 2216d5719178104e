"""Quizzes: runs, points and leaderboards, the 错题本, review reminders."""
