"""The study library: content/ loaded and checked, hot-swapped in every process, searched; members' progress."""
