"""Pure rules of the reminders service (payment reminders, *maksumuistutus*): no I/O,
no framework. ``policy.py`` and ``rates.py`` load the dated data in ``data/`` (each
figure with its legal source); ``interest.py`` computes penalty interest;
``charges.py`` fees and the business compensation; ``eligibility.py`` who gets
reminder #N and why the near ones do not; ``collection.py`` the hand-over claim."""
