"""Operational state of the running processes (not domain data)."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    """When a process last proved it is alive: "beat" (it published a task) and "worker" (it
    ran the heartbeat task beat sends every 30 s). Read by `/readyz`."""

    name = models.CharField(max_length=40, primary_key=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.at.isoformat()}"
