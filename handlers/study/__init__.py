"""Study: 新声 episodes, albums, catalogue and search in chat; content pages in the console."""
