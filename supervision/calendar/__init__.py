"""Calendar feeds: a person's deadlines as a secret, revocable ICS subscription.

`deadlines.py` decides what a feed holds (through the pages' own selectors, at every fetch),
`ics.py` writes it (zones as TZID with VTIMEZONE), `services.py` makes and revokes feeds
(audited, token stored hashed), `views.py` serves the settings page and the feed.
"""
