"""Celery entry points of the shipping desk: ids in, one service call, safe to run twice."""

from __future__ import annotations
