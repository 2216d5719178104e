"""Features, one package each (chat router, models, logic, console pages, jobs); handlers.registry lists them."""
